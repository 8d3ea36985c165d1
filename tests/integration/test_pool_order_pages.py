"""Pool orders through the pages: the two-step form, the order page, the syndicate's queue."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_from
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.models import PoolOrder
from webapp.models.choices import AuditKind
from webapp.services import orders


def with_agreement(member, *, renewal_on=date(2030, 12, 31)):
    factories.make_agreement(member, renewal_on=renewal_on)
    return member


@pytest.fixture
def member(app):
    return with_agreement(factories.make_member())


def order_count(member) -> int:
    return db.session.scalar(
        select(func.count()).select_from(PoolOrder).where(PoolOrder.member_id == member.id)
    )


def form_key(html: str) -> str:
    match = re.search(r'name="key" value="([^"]+)"', html)
    assert match, "no idempotency key in the form"
    return match.group(1)


def open_form(client, member, path="nouvelle"):
    response = client.get(f"/membres/{member.slug}/commandes/{path}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    html = response.get_data(as_text=True)
    return form_key(html), csrf_from(client, f"/membres/{member.slug}/commandes/{path}")


def submit(client, member, key, token, step, pools="2", note="", path="nouvelle"):
    return client.post(
        f"/membres/{member.slug}/commandes/{path}",
        data={"csrf_token": token, "key": key, "pools": pools, "note": note, "step": step},
    )


def test_a_member_admin_reviews_then_confirms_once_even_when_submitting_twice(
    client, login_as, member
):
    login_as("member_admin", member)
    key, token = open_form(client, member)
    review = submit(client, member, key, token, "review")
    html = review.get_data(as_text=True)
    assert review.status_code == 200
    assert "Vérifiez avant de confirmer" in html
    assert "soit 100 sondes de plus" in html
    assert "100,00\xa0€" in html  # 2 pools × 50 probes × 1 €, a year
    assert order_count(member) == 0  # the review stores nothing
    first = submit(client, member, key, token, "confirm")
    assert first.status_code == 303
    again = submit(client, member, key, token, "confirm")  # double click, or a refresh
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert order_count(member) == 1
    page = client.get(first.headers["Location"])
    text = page.get_data(as_text=True)
    assert "En attente de validation" in text
    assert "Annuler cette commande" in text


def test_the_same_form_confirmed_again_with_another_count_is_refused_and_given_a_new_key(
    client, login_as, member
):
    login_as("member_admin", member)
    key, token = open_form(client, member)
    assert submit(client, member, key, token, "confirm", pools="1").status_code == 303
    changed = submit(client, member, key, token, "confirm", pools="3")
    assert changed.status_code == 409
    html = changed.get_data(as_text=True)
    assert "a déjà servi" in html
    assert form_key(html) != key
    assert order_count(member) == 1


def test_a_second_tab_is_told_an_order_waits(client, login_as, member):
    login_as("member_admin", member)
    key_1, token = open_form(client, member)
    key_2, _token = open_form(client, member)
    assert submit(client, member, key_1, token, "confirm", pools="1").status_code == 303
    second = submit(client, member, key_2, token, "confirm", pools="1")
    assert second.status_code == 409
    assert "attend déjà la validation" in second.get_data(as_text=True)
    assert order_count(member) == 1


@pytest.mark.parametrize("pools", ["0", "-1", "999999999", "1,5", "1.5", "deux", "", "21"])
def test_bad_counts_get_a_french_error_on_the_field(client, login_as, member, pools):
    login_as("member_admin", member)
    key, token = open_form(client, member)
    for step in ("review", "confirm"):
        response = submit(client, member, key, token, step, pools=pools)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "Indiquez un nombre entier de pools, de 1 à 20." in html
        assert 'aria-invalid="true"' in html
    assert order_count(member) == 0


def test_a_huge_note_is_refused_and_markup_is_kept_as_text(client, login_as, member):
    login_as("member_admin", member)
    key, token = open_form(client, member)
    long = submit(client, member, key, token, "confirm", note="x" * 100_000)
    assert long.status_code == 400
    assert "2000 caractères au plus" in long.get_data(as_text=True)
    assert order_count(member) == 0
    script = "<script>alert(1)</script> & « merci »"
    review = submit(client, member, key, token, "review", note=script)
    assert review.status_code == 200
    assert "<script>alert(1)</script>" not in review.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; « merci »" in review.get_data(as_text=True)
    done = submit(client, member, key, token, "confirm", note=script)
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert db.session.scalar(select(PoolOrder.note).where(PoolOrder.member_id == member.id)) == (
        script
    )


def test_a_missing_csrf_token_stores_nothing(client, login_as, member):
    login_as("member_admin", member)
    key, _token = open_form(client, member)
    response = submit(client, member, key, "forged", "confirm")
    assert response.status_code == 400
    assert order_count(member) == 0


def test_without_a_current_agreement_the_member_is_told_why_and_cannot_order(client, login_as):
    member = with_agreement(factories.make_member(), renewal_on=date(2025, 1, 31))
    login_as("member_admin", member)
    listing = client.get(f"/membres/{member.slug}/commandes").get_data(as_text=True)
    assert "Pas de convention de supervision signée et en cours" in listing
    assert f"/membres/{member.slug}/commandes/nouvelle" not in listing
    page = client.get(f"/membres/{member.slug}/commandes/nouvelle")
    assert "Pas de convention de supervision signée et en cours" in page.get_data(as_text=True)
    key = (
        form_key(page.get_data(as_text=True))
        if 'name="key"' in page.get_data(as_text=True)
        else "k"
    )
    token = csrf_from(client, f"/membres/{member.slug}/commandes")
    refused = submit(client, member, key, token, "confirm", pools="1")
    assert refused.status_code == 409
    assert order_count(member) == 0


def test_a_viewer_gets_403_and_another_member_404_on_every_order_url(client, login_as, member):
    order, _ = orders.place(member, factories.make_user("member_admin", member), pools=1, key="k")
    urls = [
        f"/membres/{member.slug}/commandes",
        f"/membres/{member.slug}/commandes/nouvelle",
        f"/membres/{member.slug}/commandes/reduction",
        f"/membres/{member.slug}/commandes/{order.id}",
    ]
    login_as("viewer", member)
    for url in urls:
        assert client.get(url).status_code == 403, url
    token = csrf_from(client, "/profil/")
    cancel = client.post(
        f"/membres/{member.slug}/commandes/{order.id}/annuler", data={"csrf_token": token}
    )
    assert cancel.status_code == 403
    client.post("/deconnexion", data={"csrf_token": token})
    login_as("member_admin", factories.make_member())
    for url in urls:
        assert client.get(url).status_code == 404, url
    db.session.refresh(order)
    assert order.state == "requested"


def test_an_order_of_one_member_is_not_found_under_another_slug(client, login_as, member):
    order, _ = orders.place(member, factories.make_user("member_admin", member), pools=1, key="k")
    other = with_agreement(factories.make_member())
    login_as("admin")
    assert client.get(f"/membres/{other.slug}/commandes/{order.id}").status_code == 404


def test_the_member_cancels_while_requested_and_the_syndicate_is_told(client, login_as, member):
    login_as("member_admin", member)
    key, token = open_form(client, member)
    location = submit(client, member, key, token, "confirm", pools="1").headers["Location"]
    order_id = int(location.rsplit("/", 1)[1])
    cancelled = client.post(f"{location}/annuler", data={"csrf_token": token})
    assert cancelled.status_code == 303
    page = client.get(location).get_data(as_text=True)
    assert "Annulée" in page
    assert "Annuler cette commande" not in page
    assert db.session.get(PoolOrder, order_id).state == "cancelled"
    again = client.post(f"{location}/annuler", data={"csrf_token": token}, follow_redirects=True)
    assert "a été annulée" in again.get_data(as_text=True)


def test_a_reduction_from_next_january_never_below_the_package(client, login_as, app):
    member = with_agreement(factories.make_member(pools=2))
    login_as("member_admin", member)
    key, token = open_form(client, member, "reduction")
    too_many = submit(client, member, key, token, "review", pools="3", path="reduction")
    assert too_many.status_code == 409
    assert "2 pools au plus peuvent être retirés" in too_many.get_data(as_text=True)
    review = submit(client, member, key, token, "review", pools="1", path="reduction")
    html = review.get_data(as_text=True)
    assert "passera de 200 à 150 sondes" in html
    assert f"1er janvier {date.today().year + 1}" in html or "janvier" in html
    done = submit(client, member, key, token, "confirm", pools="1", path="reduction")
    assert done.status_code == 303
    row = db.session.scalar(select(PoolOrder).where(PoolOrder.member_id == member.id))
    assert row.kind == "reduce"
    assert row.effective_on == date(orders.today_local().year + 1, 1, 1)


def test_at_the_minimum_package_there_is_nothing_to_reduce(client, login_as):
    member = with_agreement(factories.make_member(pools=0))
    login_as("member_admin", member)
    page = client.get(f"/membres/{member.slug}/commandes/reduction").get_data(as_text=True)
    assert "Aucun pool à retirer" in page


def test_the_syndicate_approves_from_the_queue_and_the_member_sees_it(client, login_as, member):
    order, _ = orders.place(
        member, factories.make_user("member_admin", member), pools=2, key="k", note="<b>vite</b>"
    )
    login_as("admin")
    queue = client.get("/admin/commandes")
    html = queue.get_data(as_text=True)
    assert queue.status_code == 200
    assert f'id="commande-{order.id}"' in html
    assert "&lt;b&gt;vite&lt;/b&gt;" in html and "<b>vite</b>" not in html
    token = csrf_from(client, "/admin/commandes")
    approved = client.post(f"/admin/commandes/{order.id}/accepter", data={"csrf_token": token})
    assert approved.status_code == 303
    db.session.refresh(order)
    assert order.state == "active"
    assert member.subscription.pools == 2 + 0 or member.subscription.pools >= 2
    late = client.post(
        f"/admin/commandes/{order.id}/accepter", data={"csrf_token": token}, follow_redirects=True
    )
    assert "déjà été acceptée" in late.get_data(as_text=True)
    kinds = set(
        db.session.scalars(select(AuditEvent.kind).where(AuditEvent.member_id == member.id))
    )
    assert {AuditKind.ORDER_APPROVED, AuditKind.ORDER_ACTIVATED} <= kinds


def test_a_rejection_needs_a_reason_kept_when_too_long_and_rendered_escaped(
    client, login_as, member
):
    order, _ = orders.place(member, factories.make_user("member_admin", member), pools=1, key="k")
    login_as("admin")
    token = csrf_from(client, "/admin/commandes")
    url = f"/admin/commandes/{order.id}/refuser"
    empty = client.post(url, data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 400
    assert "Ce champ est obligatoire." in empty.get_data(as_text=True)
    long = client.post(url, data={"csrf_token": token, "reason": "y" * 100_000})
    assert long.status_code == 400
    assert "2000 caractères au plus" in long.get_data(as_text=True)
    db.session.refresh(order)
    assert order.state == "requested"
    done = client.post(url, data={"csrf_token": token, "reason": "Budget 2027 non voté."})
    assert done.status_code == 303
    db.session.refresh(order)
    assert order.state == "rejected"
    page = client.get(f"/membres/{member.slug}/commandes/{order.id}").get_data(as_text=True)
    assert "Budget 2027 non voté." in page


def test_support_staff_see_the_queue_but_cannot_decide(client, login_as, member):
    order, _ = orders.place(member, factories.make_user("member_admin", member), pools=1, key="k")
    login_as("support")
    html = client.get("/admin/commandes").get_data(as_text=True)
    assert f'id="commande-{order.id}"' in html
    assert "Accepter la commande" not in html
    token = csrf_from(client, "/admin/commandes")
    assert (
        client.post(f"/admin/commandes/{order.id}/accepter", data={"csrf_token": token}).status_code
        == 403
    )
    db.session.refresh(order)
    assert order.state == "requested"


def test_members_cannot_reach_the_queue(client, login_as, member):
    login_as("member_admin", member)
    assert client.get("/admin/commandes").status_code in (403, 404)


def test_an_approved_reduction_is_put_in_force_on_1_january_once_by_the_workers(app):
    from datetime import UTC
    from datetime import datetime

    from webapp.services import notify

    member = with_agreement(factories.make_member(pools=3))
    buyer = factories.make_user("member_admin", member)
    order, _ = orders.place(member, buyer, pools=1, key="r", kind="reduce")
    orders.approve(order.id, factories.make_user("admin"))
    db.session.refresh(order)
    assert order.state == "approved"
    assert member.subscription.pools == 3  # this year is unchanged
    first, second = notify.Worker(app, channels={}), notify.Worker(app, channels={})
    before = datetime(order.effective_on.year - 1, 12, 31, 12, 0, tzinfo=UTC)
    assert first.activate_orders_hourly(before) == 0
    assert first.activate_orders_hourly(before) is None  # checked this hour already
    new_year = datetime(order.effective_on.year, 1, 1, 0, 5, tzinfo=UTC)
    assert first.activate_orders_hourly(new_year) == 1
    assert second.activate_orders_hourly(new_year) == 0  # another worker: never twice
    db.session.expire_all()
    assert db.session.get(PoolOrder, order.id).state == "active"
    assert member.subscription.pools == 2
    kinds = list(
        db.session.scalars(
            select(AuditEvent.kind).where(AuditEvent.kind == AuditKind.ORDER_ACTIVATED)
        )
    )
    assert kinds == [AuditKind.ORDER_ACTIVATED]
