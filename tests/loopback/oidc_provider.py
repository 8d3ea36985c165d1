"""A real OpenID Connect provider on the loopback interface: panva's certified
``oidc-provider`` (npm, pinned in package-lock.json) run by Node with
``tests/oidc/provider.mjs``, configured like ProConnect.

The ``oidc_provider`` fixture starts it once per session on a free port of 127.0.0.1, waits
until its discovery document answers, and stops it after (:func:`running_provider` does
the same for other addresses of Vigie: a live server's). A missing ``node`` or package is
a failure (``make vendor`` installs it), never a skip.

:class:`ProviderBrowser` plays the agent's browser on the provider's side: it follows the
provider's redirects (keeping its cookies) until the provider sends the browser back to
Vigie, and answers the logout confirmation page.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import pytest
import requests
from tenacity import retry
from tenacity import retry_if_exception_type
from tenacity import stop_after_delay
from tenacity import wait_fixed

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
CLIENT_ID = "vigie-test"
CLIENT_SECRET = "test-secret-for-the-loopback-provider-only-0123456789"
#: Where the test app is (Flask's test client): ``BASE_URL`` of ``TestConfig``.
VIGIE = "http://localhost"
REDIRECT_URI = f"{VIGIE}/connexion/proconnect/retour"
POST_LOGOUT_URI = f"{VIGIE}/connexion"


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET

    def metadata(self) -> dict:
        response = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5)
        response.raise_for_status()
        return response.json()

    def exchange(self, code: str) -> requests.Response:
        """Redeem ``code`` at the token endpoint as Vigie would (client_secret_post)."""
        return requests.post(
            self.metadata()["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
            timeout=5,
        )


class ProviderBrowser:
    """The agent's browser at the provider (its cookies kept across requests)."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def authorize(self, url: str, login_hint: str) -> str:
        """Open the authorization ``url`` as ``login_hint`` and follow the provider until
        it sends the browser back to Vigie: that path and query (for the test client)."""
        return self._follow(_with_params(url, login_hint=login_hint))

    def _follow(self, url: str) -> str:
        for _ in range(10):
            if url.startswith(VIGIE + "/"):
                return url[len(VIGIE) :]
            response = self.http.get(url, allow_redirects=False, timeout=5)
            assert response.status_code in (302, 303), (response.status_code, response.text)
            url = urljoin(url, response.headers["Location"])
        raise AssertionError(f"the provider never sent the browser back to Vigie ({url})")

    def end_session(self, url: str) -> str:
        """Open the end-session ``url``, confirm the logout, follow back to Vigie."""
        page = self.http.get(url, allow_redirects=False, timeout=5)
        assert page.status_code == 200, (page.status_code, page.text)
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        answer = self.http.post(
            urljoin(url, action),
            data={**fields, "logout": "yes"},
            allow_redirects=False,
            timeout=5,
        )
        assert answer.status_code in (302, 303), (answer.status_code, answer.text)
        return self._follow(urljoin(url, answer.headers["Location"]))


def _with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query.update({k: [v] for k, v in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def query_of(path: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


@retry(
    retry=retry_if_exception_type(requests.RequestException),
    stop=stop_after_delay(20),
    wait=wait_fixed(0.1),
    reraise=True,
)
def _wait_for_discovery(provider: OidcProvider) -> None:
    assert provider.metadata()["issuer"] == provider.issuer


@contextmanager
def running_provider(
    redirect_uri: str = REDIRECT_URI,
    post_logout_uri: str = POST_LOGOUT_URI,
    default_login: str | None = None,
) -> Iterator[OidcProvider]:
    """Run ``tests/oidc/provider.mjs`` for one client with these addresses, until the end of
    the ``with``; ``default_login`` signs in that account when a request has no login_hint."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the ProConnect tests (the OpenID provider)")
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: run `make vendor` (npm ci)")
    env = {k: v for k, v in os.environ.items() if k != "NODE_ENV"}  # development mode
    if default_login:
        env["OIDC_TEST_LOGIN"] = default_login
    process = subprocess.Popen(
        [node, str(SCRIPT), "0", CLIENT_ID, CLIENT_SECRET, redirect_uri, post_logout_uri],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = process.stdout.readline()  # blocks until the provider listens (or dies)
        if not line.startswith("ready "):
            process.kill()
            pytest.fail(f"the OpenID provider did not start: {line}{process.stderr.read()}")
        provider = OidcProvider(issuer=line.split()[1], process=process)
        _wait_for_discovery(provider)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


@pytest.fixture(scope="session")
def oidc_provider():
    """The provider for Flask's test client (Vigie at ``http://localhost``), one a session."""
    with running_provider() as provider:
        yield provider
