"""ProConnect in a real browser: the button, the round trip to a real OpenID provider
(``oidc-provider`` run by Node on loopback) and back, then the logout through the provider.

Chromium follows the redirects across both servers as an agent's browser would, under
Vigie's Content-Security-Policy (its ``form-action`` governs where the sign-in and the
logout forms may lead).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.conftest import _base_config
from tests.conftest import app_in_context
from tests.loopback.oidc_provider import running_provider

pytestmark = [pytest.mark.browser, pytest.mark.oidc]

AGENT = "agent@metz.fr"


@pytest.fixture
def server():
    """A server on a free port, its application given later (the provider needs its URL)."""
    server = make_server("127.0.0.1", 0, None, threaded=True)
    yield server
    server.server_close()


@pytest.fixture
def base_url(server) -> str:
    return f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def provider(base_url):
    with running_provider(
        f"{base_url}/connexion/proconnect/retour", f"{base_url}/connexion", default_login=AGENT
    ) as provider:
        yield provider


@pytest.fixture
def app(database_url, tmp_path, base_url, provider):
    yield from app_in_context(
        {
            **_base_config(database_url, tmp_path),
            "BASE_URL": base_url,
            "OIDC_ISSUER": provider.issuer,
            "OIDC_CLIENT_ID": provider.client_id,
            "OIDC_CLIENT_SECRET": provider.client_secret,
        }
    )


@pytest.fixture
def live_server(app, server, base_url) -> Iterator[str]:
    server.app = app
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_an_agent_signs_in_with_proconnect_and_out(page, problems, viewport, shoot, provider):
    member = factories.demo_member("sarralbe")
    factories.make_user("viewer", member, email=AGENT)

    page.goto("/connexion")
    button = page.get_by_role("button", name="S’identifier avec ProConnect")
    expect(button).to_be_visible()
    link = page.get_by_role("link", name="Qu’est-ce que ProConnect ?")
    expect(link).to_have_attribute("href", "https://www.proconnect.gouv.fr/")
    assert_accessible(page, "la page de connexion avec ProConnect")
    shoot(page, "login-proconnect")

    button.click()  # to the provider, which signs the agent in, and back
    expect(page).to_have_url(re.compile(r"/membres/sarralbe/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(member.name)

    page.get_by_role("banner").get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(re.escape(provider.issuer) + r"/session/end"))
    page.get_by_role("button", name="Oui, me déconnecter").click()
    expect(page).to_have_url(re.compile(r"/connexion\?state="))
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté.")
    page.goto("/membres/sarralbe/")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))
    problems.check()
