"""``/api/v1/me/alert-rules``, ``/me/deliveries`` and ``/me/notifications``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_from
from webapp.extensions import db
from webapp.models import AlertRule
from webapp.models import Membership
from webapp.models.member import utcnow
from webapp.services import alert_rules
from webapp.services import outbox
from webapp.services import tokens

URL = "/api/v1/me/alert-rules"
RULE = {
    "channels": ["email", "sms"],
    "min_severity": 3,
    "members": [],
    "sites": [],
    "quiet_hours": {"start": "22:30", "end": "06:45", "except_disasters": False},
    "recoveries": False,
}


def bearer(user) -> dict[str, str]:
    clear, _token = tokens.create(user, "script")
    return {"Authorization": f"Bearer {clear}"}


def rules_count() -> int:
    return db.session.scalar(select(func.count(AlertRule.id)))


def test_get_put_round_trip_with_a_token(app, client):
    member = factories.demo_member("sarralbe")
    other = factories.make_member(slug="bitche")
    user = factories.make_user("viewer", member)
    db.session.add(Membership(user_id=user.id, member_id=other.id, role="viewer"))
    db.session.commit()
    headers = bearer(user)

    first = client.get(URL, headers=headers)
    assert first.status_code == 200
    assert first.json["source"] == "default" and first.json["min_severity"] == 4
    assert first.json["quiet_hours"] is None and first.json["muted_until"] is None

    payload = {**RULE, "members": ["bitche"], "sites": []}
    saved = client.put(URL, json=payload, headers=headers)
    assert saved.status_code == 200, saved.get_data(as_text=True)
    again = client.get(URL, headers=headers).json
    assert again == saved.json
    assert again["source"] == "own"
    for key, value in payload.items():
        assert again[key] == value, key

    # A site of the member, as the source tags it.
    sited = client.put(URL, json={**payload, "sites": ["Mairie"]}, headers=headers)
    assert sited.status_code == 200 and sited.json["sites"] == ["Mairie"]

    # muted_until: set, kept when absent, cleared by null.
    until = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    muted = client.put(URL, json={**payload, "muted_until": until.isoformat()}, headers=headers)
    assert muted.json["muted_until"] == until.isoformat()
    kept = client.put(URL, json=payload, headers=headers)
    assert kept.json["muted_until"] == until.isoformat()
    cleared = client.put(URL, json={**payload, "muted_until": None}, headers=headers)
    assert cleared.json["muted_until"] is None

    reset = client.delete(URL, headers=headers)
    assert reset.status_code == 200 and reset.json["source"] == "default"
    assert alert_rules.rule_row(user) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channels": ["email", "pigeon"]}, "channels"),
        ({"min_severity": 9}, "min_severity"),
        ({"min_severity": "haute"}, "min_severity"),
        ({"quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00", "end": "7 h"}}, "quiet_hours.end"),
        ({"recoveries": 1}, "recoveries"),
        ({"muted_until": "bientôt"}, "muted_until"),
        ({"sites": ["Gare du Nord"]}, "sites"),  # not a site of the member
        ({"members": ["nowhere"]}, "members"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_put_refuses_each_bad_field_by_name(app, client, change, field):
    member = factories.demo_member("sarralbe")
    user = factories.make_user("viewer", member)
    before = rules_count()
    response = client.put(URL, json={**RULE, **change}, headers=bearer(user))
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "invalid" and error["field"] == field
    assert field in error["errors"] and error["message"] == error["errors"][field]
    assert rules_count() == before


def test_another_members_slug_is_unknown_like_a_missing_one(app, client):
    mine = factories.make_member(slug="la-mienne")
    factories.make_member(slug="la-voisine")
    user = factories.make_user("viewer", mine)
    headers = bearer(user)
    foreign = client.put(URL, json={**RULE, "members": ["la-voisine"]}, headers=headers)
    missing = client.put(URL, json={**RULE, "members": ["n-existe-pas"]}, headers=headers)
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json["error"]["field"] == "members"
    # The same words: the answer does not tell that « la-voisine » exists.
    assert foreign.json["error"]["message"].replace("la-voisine", "X") == missing.json["error"][
        "message"
    ].replace("n-existe-pas", "X")
    assert rules_count() == 0


def test_staff_may_name_every_member(app, client):
    factories.make_member(slug="un")
    factories.make_member(slug="deux")
    staff = factories.make_user("support")
    response = client.put(URL, json={**RULE, "members": ["deux", "un"]}, headers=bearer(staff))
    assert response.status_code == 200 and response.json["members"] == ["deux", "un"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("not json", "application/json"), ("{}", "text/plain"), ("[1,", "application/json")],
)
def test_put_without_a_json_body(app, client, body, content_type):
    user = factories.make_user()
    response = client.put(URL, data=body, content_type=content_type, headers=bearer(user))
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_json"


def test_put_array_body_names_the_body(app, client):
    user = factories.make_user()
    response = client.put(URL, json=["email"], headers=bearer(user))
    assert response.status_code == 400 and response.json["error"]["field"] == "body"


def test_session_writes_need_the_csrf_token(app, client, login):
    user = login(factories.make_user())
    refused = client.put(URL, json=RULE)
    assert refused.status_code == 400 and rules_count() == 0
    token = csrf_from(client, "/profil/alertes")
    accepted = client.put(URL, json=RULE, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200 and alert_rules.rule_row(user) is not None


def test_anonymous_callers_get_401(app, client):
    for method in ("get", "put", "delete"):
        assert getattr(client, method)(URL).status_code == 401
    assert client.get("/api/v1/me/deliveries").status_code == 401
    assert client.get("/api/v1/me/notifications").status_code == 401


def _send(user, n, channel="email", status="sent", error=None):
    row = outbox.enqueue(
        key=f"api-{user.id}-{channel}-{n}",
        user=user,
        channel=channel,
        kind="problem",
        subject=f"Alerte {n}",
        body="Texte",
        data={"url": "http://localhost/membres/x/", "severity": 4},
    )
    row.status, row.last_error = status, error
    row.created_at = utcnow() - timedelta(minutes=60 - n)
    row.sent_at = row.created_at if status == "sent" else None
    db.session.commit()
    return row


def test_deliveries_paginated_newest_first_with_errors(app, client):
    user, other = factories.make_user(), factories.make_user()
    for n in range(5):
        _send(user, n)
    _send(user, 5, "sms", "failed", "Numéro invalide.")
    _send(other, 1)
    headers = bearer(user)
    first = client.get("/api/v1/me/deliveries?per_page=4", headers=headers).json
    assert (first["total"], first["pages"], first["page"]) == (6, 2, 1)
    assert [d["subject"] for d in first["deliveries"]] == [
        "Alerte 5",
        "Alerte 4",
        "Alerte 3",
        "Alerte 2",
    ]
    failed = first["deliveries"][0]
    assert failed["status"] == "failed" and failed["channel"] == "sms"
    assert failed["error"] == "Numéro invalide." and failed["status_text"] == "Échec"
    second = client.get("/api/v1/me/deliveries?per_page=4&page=2", headers=headers).json
    assert [d["subject"] for d in second["deliveries"]] == ["Alerte 1", "Alerte 0"]
    only_sms = client.get("/api/v1/me/deliveries?channel=sms", headers=headers).json
    assert only_sms["total"] == 1


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "page=abc", "per_page=0", "per_page=101", "per_page=1e3", "channel=fax"],
)
def test_deliveries_bad_parameters(app, client, query):
    user = factories.make_user()
    response = client.get(f"/api/v1/me/deliveries?{query}", headers=bearer(user))
    assert response.status_code == 400
    assert response.json["error"]["message"]


def test_notifications_json(app, client):
    user = factories.make_user()
    _send(user, 1, "portal")
    _send(user, 2, "portal", status="queued")
    body = client.get("/api/v1/me/notifications", headers=bearer(user)).json
    assert body["unread"] == 1 and body["total"] == 1
    (item,) = body["notifications"]
    assert item["url"] == "/membres/x/" and item["read"] is False and item["severity"] == 4


def test_openapi_describes_the_alert_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    for path, methods in {
        "/api/v1/me/alert-rules": {"get", "put", "delete"},
        "/api/v1/me/deliveries": {"get"},
        "/api/v1/me/notifications": {"get"},
    }.items():
        assert methods <= set(spec["paths"][path]), path
    schema = spec["components"]["schemas"]["AlertRule"]
    assert {"channels", "min_severity", "members", "sites", "quiet_hours"} <= set(
        schema["properties"]
    )
