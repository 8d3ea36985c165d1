"""Pool orders in Chromium: a member admin orders on a phone, the syndicate approves on the wall.

Both at 390×844 and 1920×1080, axe-core clean at every step. Screenshots:
``screenshots/orders-*-{phone,wall}.png``.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import func
from sqlalchemy import select

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import log_in
from webapp.extensions import db
from webapp.models import PoolOrder
from webapp.services import orders

pytestmark = pytest.mark.browser


def _member(slug: str = "sarralbe"):
    member = factories.demo_member(slug)
    factories.make_agreement(
        member, signed_on=date(2025, 1, 15), reference=f"CONV-2025-{slug[:3].upper()}"
    )
    return member


def _orders_of(member) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(PoolOrder).where(PoolOrder.member_id == member.id)
    )


def _check(page, label: str) -> None:
    assert_no_horizontal_overflow(page, label)
    assert_accessible(page, label)


@first_backend_only
def test_a_member_admin_orders_two_pools_from_the_meter(page, viewport, shoot, problems):
    sarralbe = _member()
    admin = factories.make_user("member_admin", member=sarralbe)
    log_in(page, admin.email)
    page.goto("/membres/sarralbe/sondes")
    page.get_by_role("link", name="Commander des pools de sondes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Commander des pools de sondes")
    _check(page, f"commande, formulaire ({viewport})")
    shoot(page, "orders-form")

    page.get_by_label("Nombre de pools à ajouter").fill("2")
    page.get_by_role("button", name="Voir le montant").click()
    expect(page.get_by_role("heading", name="Vérifiez avant de confirmer")).to_be_visible()
    expect(page.get_by_text("Vous commandez 2 pools, soit 100 sondes de plus.")).to_be_visible()
    yearly = re.compile(r"Contribution annuelle : \+ 100,00\s€ par an\.")
    expect(page.get_by_text(yearly)).to_be_visible()
    expect(page.get_by_text(re.compile(r"Montant pour \d{4} : \d+,\d\d\s€"))).to_be_visible()
    assert _orders_of(sarralbe) == 0  # nothing is ordered before the confirmation
    _check(page, f"commande, confirmation ({viewport})")
    shoot(page, "orders-review")

    page.get_by_role("button", name="Confirmer la commande").dblclick()  # an impatient finger
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Commande n° \d+"))
    expect(page.get_by_text("En attente de validation").first).to_be_visible()
    assert _orders_of(sarralbe) == 1
    _check(page, f"commande envoyée ({viewport})")
    shoot(page, "orders-sent")

    page.go_back()  # back to the confirmation, and confirm again: still one order
    page.reload()
    if page.get_by_role("button", name="Confirmer la commande").count():
        page.get_by_role("button", name="Confirmer la commande").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Commande n° \d+"))
    assert _orders_of(sarralbe) == 1

    page.goto("/membres/sarralbe/commandes")
    expect(page.get_by_role("table")).to_contain_text("En attente de validation")
    _check(page, f"commandes ({viewport})")
    shoot(page, "orders-list")
    problems.check()


@first_backend_only
def test_the_syndicate_approves_one_order_and_rejects_another(page, viewport, shoot, problems):
    sarralbe = _member("sarralbe")
    other = _member("bitche")
    buyer = factories.make_user("member_admin", member=sarralbe)
    first, _ = orders.place(sarralbe, buyer, pools=2, key="a", note="Nouvelles caméras")
    second, _ = orders.place(
        other, factories.make_user("member_admin", member=other), pools=1, key="b"
    )
    admin = factories.make_user("admin")
    log_in(page, admin.email)
    page.goto("/admin/")
    page.get_by_role("link", name="2 commandes de pools à valider").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Commandes de pools")
    expect(page.locator(f"#commande-{first.id}")).to_contain_text("Nouvelles caméras")
    _check(page, f"file des commandes ({viewport})")
    shoot(page, "orders-queue")

    page.get_by_role("button", name=f"Accepter la commande n° {first.id}").click()
    expect(page.get_by_text(f"Commande n° {first.id} acceptée")).to_be_visible()
    expect(page.locator(f"#commande-{first.id}")).to_have_count(0)

    problems.expected_statuses = {400}  # a rejection without its reason comes back
    card = page.locator(f"#commande-{second.id}")
    card.get_by_role("button", name=f"Refuser la commande n° {second.id}").click()
    expect(page.get_by_text("Ce champ est obligatoire.")).to_be_visible()
    _check(page, f"refus sans motif ({viewport})")
    card = page.locator(f"#commande-{second.id}")
    card.get_by_label("Motif du refus").fill("Budget <b>2027</b> non voté.")
    card.get_by_role("button", name=f"Refuser la commande n° {second.id}").click()
    expect(page.get_by_text(f"Commande n° {second.id} refusée")).to_be_visible()
    decided = page.get_by_role("table")
    expect(decided).to_contain_text("En service")
    expect(decided).to_contain_text("Refusée")
    _check(page, f"décisions ({viewport})")
    shoot(page, "orders-decided")

    db.session.expire_all()
    assert db.session.get(PoolOrder, first.id).state == "active"
    assert db.session.get(PoolOrder, second.id).reason == "Budget <b>2027</b> non voté."
    page.goto(f"/membres/bitche/commandes/{second.id}")
    expect(page.get_by_text("Motif : Budget <b>2027</b> non voté.")).to_be_visible()
    _check(page, f"commande refusée ({viewport})")
    shoot(page, "orders-rejected")
    problems.check()
