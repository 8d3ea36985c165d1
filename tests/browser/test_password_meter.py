"""The password strength meter on the set-password page (issue 15, defect 8).

It speaks French in a live region (never colour alone), follows the server's rules (length,
context words, score), loads its dictionaries only once the field is used — and only on
this page —, runs under the strict CSP and passes axe-core.
"""

from __future__ import annotations

import gzip
import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from webapp.extensions import db
from webapp.services import accounts

pytestmark = pytest.mark.browser

DICTIONARIES = re.compile(r"/static/vendor/zxcvbn-ts/[a-z-]+(\.[0-9a-f]{12})?\.js$")
# What the meter may cost, measured on the files `make vendor` copies (zxcvbn-ts 4.2 / 4.1):
# about 1.17 MB as served by Flask, 0.55 MB gzip-compressed (the documented TLS proxy).
BUDGET_RAW = 1_300_000
BUDGET_GZIP = 600_000


def _invited(name: str = "Jean Dupont", email: str = "jean.dupont@mairie-sarralbe.fr"):
    member = factories.make_member(name="Mairie de Sarralbe")
    user = accounts.create_user(email, name, member=member)
    return user, f"/mot-de-passe/definir/{accounts.make_password_token(user)}"


def test_meter_speaks_the_servers_verdict_in_french(page, problems, viewport, shoot):
    user, path = _invited()
    loaded: list = []
    page.on(
        "response",
        lambda response: DICTIONARIES.search(response.url) and loaded.append(response),
    )
    page.goto(path)
    field = page.get_by_label("Nouveau mot de passe")
    verdict = page.locator("#password-meter-text")
    expect(verdict).to_be_attached()
    expect(verdict).to_have_attribute("role", "status")
    expect(verdict).to_have_attribute("aria-live", "polite")
    expect(field).to_have_attribute("aria-describedby", re.compile(r"\bpassword-meter-text\b"))
    assert loaded == []  # nothing heavy before the field is used

    field.fill("aaaaaaaaaaaa")
    expect(verdict).to_contain_text("Solidité du mot de passe : très faible.")
    expect(verdict).to_contain_text("Une répétition comme « aaa » se devine vite.")
    expect(verdict).to_contain_text("Ce mot de passe sera refusé.")
    assert page.locator(".password-meter meter").get_attribute("value") in ("0", "0.0")
    names = (re.sub(r"\.[0-9a-f]{12}\.js$", ".js", r.url.rsplit("/", 1)[1]) for r in loaded)
    assert sorted(names) == [
        "core.js",
        "language-common.js",
        "language-fr.js",
    ]

    field.fill("court")
    expect(verdict).to_contain_text("Trop court : 12 caractères au moins (5 pour l’instant).")

    field.fill("Jean.Dupont.2026!")
    expect(verdict).to_contain_text("votre nom, votre adresse électronique ou le nom du service")
    expect(verdict).to_contain_text("« dupont », « jean »")
    expect(verdict).to_contain_text("sera refusé")

    field.fill("V1g1e-Moselle-57")
    expect(verdict).to_contain_text("« moselle », « vigie »")

    good = "tulipe orange sous la pluie"
    field.fill(good)
    expect(verdict).to_contain_text("Ce mot de passe sera accepté.")
    expect(verdict).to_contain_text(re.compile(r"Solidité du mot de passe : (bonne|très bonne)\."))
    assert_accessible(page, f"choix du mot de passe, jauge affichée ({viewport})")
    assert_no_horizontal_overflow(page, f"choix du mot de passe ({viewport})")
    shoot(page, "password-meter")

    raw = sum(len(r.body()) for r in loaded)
    compressed = sum(len(gzip.compress(r.body(), compresslevel=6)) for r in loaded)
    assert raw <= BUDGET_RAW and compressed <= BUDGET_GZIP, (raw, compressed)

    page.get_by_label("Confirmez le mot de passe").fill(good)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page).to_have_url(re.compile(r"/connexion$"))
    db.session.expire_all()  # the live server's commit, not this test's copy
    assert accounts.authenticate(user.email, good) is not None
    problems.check()  # no CSP violation, console error or page error


def test_server_refuses_what_the_meter_refuses_even_without_it(page, problems, viewport):
    """The meter is help: with its scripts blocked, the server still refuses, in French."""
    user, path = _invited()
    page.route(DICTIONARIES, lambda route: route.abort())
    page.goto(path)
    weak = "aaaaaaaaaaaa"
    page.get_by_label("Nouveau mot de passe").fill(weak)
    expect(page.locator(".password-meter")).to_be_hidden()  # no meter that cannot work
    page.get_by_label("Confirmez le mot de passe").fill(weak)
    problems.expected_statuses.add(400)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Ce mot de passe est trop facile à deviner.")
    db.session.expire_all()
    assert accounts.authenticate(user.email, weak) is None
    problems[:] = [p for p in problems if "zxcvbn-ts" not in p]  # the blocked loads
    problems.check()


def test_other_pages_load_no_dictionary(page, problems, viewport):
    loaded: list = []
    page.on("request", lambda request: DICTIONARIES.search(request.url) and loaded.append(request))
    page.goto("/connexion")
    page.get_by_label("Mot de passe", exact=True).fill("aaaaaaaaaaaa")
    page.goto("/mot-de-passe/oubli")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert loaded == []
    problems.check()
