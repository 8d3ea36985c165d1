"""The login journey of a member's viewer, at phone and wall sizes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.helpers import fill_login

pytestmark = pytest.mark.browser


def test_viewer_logs_in_sees_member_home_and_logs_out(page, problems, viewport, shoot):
    member = factories.demo_member("sarralbe")
    user = factories.make_user("viewer", member)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/connexion(\?.*)?$"))
    expect(page).to_have_title("Connexion – Vigie")
    fill_login(page, user.email, factories.PASSWORD)

    expect(page).to_have_url(re.compile(r"/membres/sarralbe/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(member.name)
    headline = page.get_by_role("heading", level=2, name="Tout fonctionne normalement")
    expect(headline).to_be_visible()
    table = page.get_by_role("table", name=re.compile("État de chaque équipement"))
    expect(table).to_be_attached()
    expect(table.locator("tbody tr").first).to_be_visible()
    assert table.locator("tbody tr").count() > 1
    expect(table.get_by_role("rowheader").first).to_be_visible()
    shoot(page, "journey-member-home")

    page.get_by_role("banner").get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté.")
    expect(page.get_by_role("button", name="Se déconnecter")).to_have_count(0)

    page.goto("/membres/sarralbe/")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))
    problems.check()


def test_wrong_password_shows_french_error(page, problems, viewport, shoot):
    user = factories.make_user("viewer", factories.demo_member("sarralbe"))

    problems.expected_statuses.add(400)  # a refused login answers 400 Bad Request
    page.goto("/connexion")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        fill_login(page, user.email, "pas le bon mot de passe")
    assert posted.value.status == 400
    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.get_by_role("alert")).to_have_text(
        "Adresse électronique ou mot de passe incorrect."
    )
    expect(page.get_by_label("Adresse électronique")).to_have_value(user.email)
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_value("")
    shoot(page, "login-wrong-password")
    problems.check()
