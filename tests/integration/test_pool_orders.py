"""Pool orders through the JSON API: idempotency, states, permissions, bad input, races."""

from __future__ import annotations

import threading
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests import factories
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.models import Delivery
from webapp.models import PoolOrder
from webapp.services import orders
from webapp.services import tokens
from webapp.services.errors import Conflict


def bearer(user) -> dict:
    clear, _row = tokens.create(user, "tests")
    return {"Authorization": f"Bearer {clear}"}


def with_agreement(member):
    factories.make_agreement(member)
    return member


@pytest.fixture
def member(app):
    return with_agreement(factories.make_member())


def order_count(member) -> int:
    return db.session.scalar(
        select(func.count()).select_from(PoolOrder).where(PoolOrder.member_id == member.id)
    )


def post_order(client, member, user, body, key="k-1"):
    headers = bearer(user)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"/api/v1/members/{member.slug}/pool-orders", json=body, headers=headers)


def test_the_same_key_twice_returns_the_same_order(client, member):
    admin = factories.make_user("member_admin", member)
    first = post_order(client, member, admin, {"pools": 2})
    assert first.status_code == 201, first.json
    again = post_order(client, member, admin, {"pools": 2})
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]
    assert first.json["state"] == "requested"
    assert first.json["probes"] == 100
    assert first.json["yearly_cents"] == 10_000
    assert order_count(member) == 1


def test_a_key_reused_with_another_body_is_a_422_and_no_second_order(client, member):
    admin = factories.make_user("member_admin", member)
    assert post_order(client, member, admin, {"pools": 2}).status_code == 201
    other = post_order(client, member, admin, {"pools": 3})
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert order_count(member) == 1


def test_two_tabs_with_two_keys_make_one_order(client, member):
    admin = factories.make_user("member_admin", member)
    assert post_order(client, member, admin, {"pools": 1}, key="tab-1").status_code == 201
    second = post_order(client, member, admin, {"pools": 1}, key="tab-2")
    assert second.status_code == 409
    assert second.json["error"]["code"] == "order_pending"
    assert order_count(member) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"pools": 0},
        {"pools": -1},
        {"pools": 10**12},
        {"pools": 1.5},
        {"pools": "2.0"},
        {"pools": "deux"},
        {"pools": True},
        {"pools": None},
        {},
        {"pools": 21},
    ],
)
def test_bad_pool_counts_are_refused_and_nothing_is_stored(client, member, body):
    admin = factories.make_user("member_admin", member)
    response = post_order(client, member, admin, body)
    assert response.status_code == 400
    assert response.json["error"]["field"] == "pools"
    assert "pools" in response.json["error"]["message"]
    assert order_count(member) == 0


def test_a_missing_key_or_body_is_a_clear_error(client, member):
    admin = factories.make_user("member_admin", member)
    missing = post_order(client, member, admin, {"pools": 1}, key=None)
    assert missing.status_code == 400
    assert missing.json["error"]["field"] == "idempotency_key"
    too_long = post_order(client, member, admin, {"pools": 1}, key="x" * 121)
    assert too_long.status_code == 400
    not_json = client.post(
        f"/api/v1/members/{member.slug}/pool-orders",
        data="pools=1",
        headers={**bearer(admin), "Idempotency-Key": "k"},
    )
    assert not_json.status_code == 400
    assert not_json.json["error"]["code"] == "bad_json"
    assert order_count(member) == 0


def test_a_note_of_100000_characters_is_refused(client, member):
    admin = factories.make_user("member_admin", member)
    response = post_order(client, member, admin, {"pools": 1, "note": "a" * 100_000})
    assert response.status_code == 400
    assert response.json["error"]["field"] == "note"
    assert order_count(member) == 0


def test_viewers_and_other_members_cannot_order_or_decide(client, member):
    viewer = factories.make_user("viewer", member)
    stranger = factories.make_user("member_admin", factories.make_member())
    assert post_order(client, member, viewer, {"pools": 1}).status_code == 403
    assert post_order(client, member, stranger, {"pools": 1}).status_code == 404
    assert order_count(member) == 0
    admin = factories.make_user("member_admin", member)
    order_id = post_order(client, member, admin, {"pools": 1}).json["id"]
    for user, status in ((viewer, 403), (stranger, 404), (admin, 403)):
        approve = client.post(f"/api/v1/pool-orders/{order_id}/approve", headers=bearer(user))
        assert approve.status_code == status, (user.email, approve.json)
    support = factories.make_user("support")
    assert (
        client.post(f"/api/v1/pool-orders/{order_id}/approve", headers=bearer(support)).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/pool-orders/{order_id}/cancel", headers=bearer(stranger)).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/pool-orders/{order_id}/cancel", headers=bearer(viewer)).status_code
        == 403
    )
    assert db.session.get(PoolOrder, order_id).state == "requested"


def test_no_current_agreement_no_order(client):
    member = factories.make_member()
    admin = factories.make_user("member_admin", member)
    response = post_order(client, member, admin, {"pools": 1})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "no_agreement"
    assert "convention" in response.json["error"]["message"]
    assert order_count(member) == 0


def test_approval_grows_the_subscription_and_tells_the_member(client, member):
    member_admin = factories.make_user("member_admin", member)
    syndicate = factories.make_user("admin")
    before = member.subscription.pools
    order_id = post_order(client, member, member_admin, {"pools": 2}).json["id"]
    told = db.session.scalars(
        select(Delivery.channel).where(Delivery.user_id == syndicate.id, Delivery.kind == "order")
    ).all()
    assert sorted(told) == ["email", "portal"], "the syndicate is told of the request"
    response = client.post(f"/api/v1/pool-orders/{order_id}/approve", headers=bearer(syndicate))
    assert response.status_code == 200, response.json
    assert response.json["state"] == "active"
    db.session.expire_all()
    assert member.subscription.pools == before + 2
    subjects = db.session.scalars(
        select(Delivery.subject).where(Delivery.user_id == member_admin.id)
    ).all()
    assert any("Commande acceptée" in s for s in subjects)
    kinds = db.session.scalars(
        select(AuditEvent.kind).where(AuditEvent.target == f"order {order_id}")
    ).all()
    assert set(kinds) == {"order_requested", "order_approved", "order_activated"}
    listed = client.get(f"/api/v1/members/{member.slug}/pool-orders", headers=bearer(member_admin))
    assert [o["id"] for o in listed.json["orders"]] == [order_id]
    detail = client.get(f"/api/v1/members/{member.slug}", headers=bearer(member_admin))
    assert detail.json["probes"]["subscribed"] == member.subscription.probes


def test_rejection_needs_a_reason_and_keeps_it_escaped(client, member):
    member_admin = factories.make_user("member_admin", member)
    syndicate = factories.make_user("admin")
    order_id = post_order(client, member, member_admin, {"pools": 1}).json["id"]
    url = f"/api/v1/pool-orders/{order_id}/reject"
    assert client.post(url, json={}, headers=bearer(syndicate)).status_code == 400
    assert (
        client.post(url, json={"reason": "x" * 100_000}, headers=bearer(syndicate)).status_code
        == 400
    )
    reason = "<script>alert(1)</script> budget"
    response = client.post(url, json={"reason": reason}, headers=bearer(syndicate))
    assert response.status_code == 200
    assert response.json["state"] == "rejected" and response.json["reason"] == reason
    again = client.post(f"/api/v1/pool-orders/{order_id}/approve", headers=bearer(syndicate))
    assert again.status_code == 409
    assert again.json["error"]["code"] == "order_decided"


def test_approving_a_cancelled_order_is_refused_clearly(client, member):
    member_admin = factories.make_user("member_admin", member)
    syndicate = factories.make_user("admin")
    order_id = post_order(client, member, member_admin, {"pools": 1}).json["id"]
    cancel = client.post(f"/api/v1/pool-orders/{order_id}/cancel", headers=bearer(member_admin))
    assert cancel.status_code == 200 and cancel.json["state"] == "cancelled"
    pools = member.subscription.pools
    response = client.post(f"/api/v1/pool-orders/{order_id}/approve", headers=bearer(syndicate))
    assert response.status_code == 409
    assert "annulée" in response.json["error"]["message"]
    db.session.expire_all()
    assert member.subscription.pools == pools


def test_a_session_write_needs_the_csrf_token(client, member, login):
    member_admin = login(factories.make_user("member_admin", member))
    response = client.post(
        f"/api/v1/members/{member.slug}/pool-orders",
        json={"pools": 1},
        headers={"Idempotency-Key": "k"},
    )
    assert response.status_code == 400
    assert order_count(member) == 0
    assert member_admin


def test_a_reduction_waits_for_1_january_and_never_goes_below_the_package(app, member):
    admin = factories.make_user("member_admin", member)
    syndicate = factories.make_user("admin")
    member.subscription.pools = 2
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        orders.place(member, admin, pools=3, key="r-1", kind="reduce")
    assert refused.value.code == "below_package"
    order, created = orders.place(member, admin, pools=1, key="r-2", kind="reduce")
    assert created and order.effective_on.month == 1 and order.effective_on.day == 1
    moment = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    orders.approve(order.id, syndicate, now=moment)
    assert order.state == "approved" and order.effective_on == date(2027, 1, 1)
    assert orders.activate_due(now=datetime(2026, 12, 31, 12, 0, tzinfo=UTC)) == 0
    assert orders.activate_due(now=datetime(2027, 1, 1, 8, 0, tzinfo=UTC)) == 1
    db.session.expire_all()
    assert member.subscription.pools == 1
    assert db.session.get(PoolOrder, order.id).state == "active"


def test_two_admins_approving_at_once_one_wins(app, member):
    """On PostgreSQL a true race; on SQLite the writers take turns: one wins either way."""
    member_admin = factories.make_user("member_admin", member)
    first, second = factories.make_user("admin"), factories.make_user("admin")
    order, _ = orders.place(member, member_admin, pools=2, key="race")
    pools = member.subscription.pools
    order_id = order.id
    first_id, second_id = first.id, second.id
    db.session.remove()
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def decide(admin_id: int) -> None:
        with app.app_context():
            from webapp.models import User

            admin = db.session.get(User, admin_id)
            barrier.wait()
            try:
                orders.approve(order_id, admin)
                results[admin_id] = "won"
            except Conflict as exc:
                results[admin_id] = exc.message
            finally:
                db.session.remove()

    threads = [threading.Thread(target=decide, args=(i,)) for i in (first_id, second_id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()).count("won") == 1, results
    loser = next(v for v in results.values() if v != "won")
    assert "déjà été acceptée" in loser
    db.session.expire_all()
    from webapp.models import Subscription

    subscription = db.session.scalar(
        select(Subscription).where(Subscription.member_id == member.id)
    )
    assert subscription.pools == pools + 2, "counted once"
