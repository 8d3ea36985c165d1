"""Two-factor sign-in on a phone: enrolment from the profile, then a sign-in with a code."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import fill_login
from tests.browser.helpers import log_in
from webapp.services import two_factor

pytestmark = pytest.mark.browser


class Clock:
    """The second step's clock, moved by the test (no waiting for the next 30 s step)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("viewport", ["phone"], indirect=True)
def test_enrol_then_sign_in_with_a_code(page, problems, viewport, shoot, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(two_factor, "_now", clock)
    user = factories.make_user("viewer", factories.demo_member("sarralbe"))
    log_in(page, user.email)

    page.goto("/profil/")
    page.get_by_role("link", name="Gérer la double authentification").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    page.get_by_role("button", name="Commencer l’activation").click()
    qr = page.get_by_role("img", name=re.compile("QR code à scanner"))
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    secret = page.locator("#secret-key").inner_text().replace(" ", "")
    code_field = page.get_by_label("Code à 6 chiffres")
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    assert_accessible(page, "l’activation de la double authentification")
    assert_no_horizontal_overflow(page, "l’activation de la double authentification")
    shoot(page, "two-factor-enrol")

    code_field.fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Confirmer et activer").click()
    expect(page.get_by_role("heading", name="Vos codes de secours")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    expect(page.get_by_role("status").first).to_contain_text(
        "La double authentification est activée."
    )
    assert_accessible(page, "les codes de secours")
    assert_no_horizontal_overflow(page, "les codes de secours")
    shoot(page, "two-factor-recovery-codes")

    page.get_by_role("banner").get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/connexion$"))
    clock.now += timedelta(seconds=30)  # the next code: the confirming one is spent
    fill_login(page, user.email, factories.PASSWORD)
    expect(page).to_have_url(re.compile(r"/connexion/verification$"))
    field = page.get_by_label("Code de vérification")
    expect(field).to_have_attribute("inputmode", "numeric")
    expect(field).to_have_attribute("autocomplete", "one-time-code")
    assert_accessible(page, "la vérification en deux étapes")
    assert_no_horizontal_overflow(page, "la vérification en deux étapes")
    shoot(page, "two-factor-verify")
    field.fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Vérifier", exact=True).click()
    expect(page).to_have_url(re.compile(r"/membres/sarralbe/$"))
    problems.check()
