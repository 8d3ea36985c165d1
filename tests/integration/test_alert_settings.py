"""Alert rules as people and member admins set them: checking, precedence, mute, reset;
the delivery log, the notification centre and the delivery health they read."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests import factories
from webapp.extensions import db
from webapp.models import AlertRule
from webapp.models import Delivery
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.presenters import alerts as alerts_view
from webapp.services import alert_rules
from webapp.services import deliveries
from webapp.services import outbox
from webapp.services.errors import NotFound
from webapp.services.errors import ValidationError

VALID = {
    "channels": ["email", "portal"],
    "min_severity": 3,
    "members": [],
    "sites": [],
    "quiet_hours": {"start": "22:00", "end": "07:00", "except_disasters": True},
    "recoveries": False,
}


def refused(payload, **kwargs) -> dict[str, str]:
    member = kwargs.pop("member", None) or factories.make_member()
    with pytest.raises(ValidationError) as caught:
        alert_rules.check(payload, members=[member], sites=kwargs.pop("sites", None), **kwargs)
    return caught.value.errors


# ---- checking ---------------------------------------------------------------------------


def test_a_valid_rule_becomes_columns(app):
    member = factories.make_member(slug="sarreguemines")
    values = alert_rules.check(
        {**VALID, "members": ["sarreguemines"], "channels": ["portal", "email", "email"]},
        members=[member],
        sites=None,
    )
    assert values == {
        "channels": ["email", "portal"],  # in a fixed order, once each
        "min_severity": 3,
        "member_ids": [member.id],
        "sites": [],
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "quiet_except_disasters": True,
        "recoveries": False,
    }
    assert "muted_until" not in values  # absent: kept as it is


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"channels": ["email", "fax"]}, "channels", "Canal inconnu : « fax »"),
        ({"channels": "email"}, "channels", "Liste de canaux"),
        ({"channels": [1]}, "channels", "Liste de canaux"),
        ({"min_severity": 6}, "min_severity", "entre 0 (non classé) et 5"),
        ({"min_severity": -1}, "min_severity", "entre 0"),
        ({"min_severity": "4"}, "min_severity", "entre 0"),
        ({"min_severity": True}, "min_severity", "entre 0"),
        ({"min_severity": 4.5}, "min_severity", "entre 0"),
        ({"members": ["nulle-part"]}, "members", "Membre inconnu : « nulle-part »"),
        ({"members": "tous"}, "members", "Liste d’identifiants"),
        ({"members": ""}, "members", "Liste d’identifiants"),
        ({"members": False}, "members", "Liste d’identifiants"),
        ({"sites": ["<b>Mairie</b>"]}, "sites", "Nom de site invalide"),
        ({"sites": ["x" * 121]}, "sites", "Nom de site invalide"),
        ({"sites": "Mairie"}, "sites", "Liste de noms de sites"),
        ({"sites": 0}, "sites", "Liste de noms de sites"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start", "Heure"),
        ({"quiet_hours": {"start": "22:00", "end": "7h"}}, "quiet_hours.end", "Heure"),
        ({"quiet_hours": {"start": "22:00", "end": "22:60"}}, "quiet_hours.end", "Heure"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end", "Heure"),
        ({"quiet_hours": {"start": 22, "end": "07:00"}}, "quiet_hours.start", "Heure"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours.end", "différer"),
        (
            {"quiet_hours": {"start": "22:00", "end": "07:00", "except_disasters": "oui"}},
            "quiet_hours.except_disasters",
            "Vrai ou faux",
        ),
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "x": 1}}, "quiet_hours.x", "inconnu"),
        ({"quiet_hours": "22:00-07:00"}, "quiet_hours", "Objet attendu"),
        ({"recoveries": "yes"}, "recoveries", "Vrai ou faux"),
        ({"muted_until": "demain"}, "muted_until", "ISO 8601"),
        ({"muted_until": "2999-01-01T00:00:00+00:00"}, "muted_until", "30 jours au plus"),
        ({"colour": "red"}, "colour", "Champ inconnu"),
    ],
)
def test_each_bad_value_is_refused_by_name_in_french(app, change, field, words):
    errors = refused({**VALID, **change})
    assert field in errors, errors
    assert words in errors[field]


def test_required_fields_and_a_body_that_is_not_an_object(app):
    errors = refused({})
    assert set(errors) == {"channels", "min_severity"}
    assert refused(["email"]) == {"body": "Un objet JSON est attendu."}


def test_sites_must_exist_once_the_source_has_answered(app):
    member = factories.make_member()
    values = alert_rules.check(
        {**VALID, "sites": [" Mairie ", "Mairie"]}, members=[member], sites={"Mairie"}
    )
    assert values["sites"] == ["Mairie"]
    assert "Site inconnu" in refused({**VALID, "sites": ["Gare"]}, sites={"Mairie"})["sites"]
    # Before the source answers, any well-formed name is kept.
    assert alert_rules.check({**VALID, "sites": ["Gare"]}, members=[member], sites=None)


def test_member_defaults_cover_their_member_only_and_mute_nobody(app):
    errors = refused({**VALID, "members": ["x"]}, for_member=True)
    assert "ne portent que sur ce membre" in errors["members"]
    later = (utcnow() + timedelta(hours=1)).isoformat()
    assert (
        "ne coupent personne"
        in refused({**VALID, "muted_until": later}, for_member=True)["muted_until"]
    )


def test_muted_until_in_the_past_or_naive(app):
    member = factories.make_member()
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    past = alert_rules.check(
        {**VALID, "muted_until": "2026-01-15T11:00:00+00:00"}, members=[member], sites=None, now=now
    )
    assert past["muted_until"] is None  # over already: not muted
    # Without an offset, the syndicate's time zone (Paris, UTC+1 in January).
    naive = alert_rules.check(
        {**VALID, "muted_until": "2026-01-15T14:00:00"}, members=[member], sites=None, now=now
    )
    assert naive["muted_until"] == datetime(2026, 1, 15, 13, 0, tzinfo=UTC)


# ---- precedence: own rule > member defaults > Vigie's -------------------------------------


def test_effective_rule_precedence(app):
    member = factories.make_member()
    user = factories.make_user("viewer", member)
    assert alert_rules.effective(user, member) == alert_rules.DEFAULT_RULE
    assert alert_rules.applied(user).source == "default"

    alert_rules.save_member_defaults(member, {**VALID, "channels": ["sms"], "min_severity": 5})
    rule = alert_rules.effective(user, member)
    assert rule.channels == {"sms"} and rule.min_severity == 5
    found = alert_rules.applied(user)
    assert found.source == "member" and found.defaults_of == (member,)

    alert_rules.save_user_rule(user, {**VALID, "channels": ["email"], "min_severity": 0})
    rule = alert_rules.effective(user, member)
    assert rule.channels == {"email"} and rule.min_severity == 0
    assert alert_rules.applied(user).source == "own"

    assert alert_rules.reset(user) is True
    assert alert_rules.effective(user, member).channels == {"sms"}
    assert alert_rules.reset(user) is False


def test_defaults_of_one_member_do_not_reach_another(app):
    first, second = factories.make_member(), factories.make_member()
    user = factories.make_user("viewer", first)
    alert_rules.save_member_defaults(first, {**VALID, "channels": ["sms"]})
    assert alert_rules.effective(user, second) == alert_rules.DEFAULT_RULE


def test_a_user_may_name_only_their_members_staff_any(app):
    mine, other = factories.make_member(slug="la-mienne"), factories.make_member(slug="autre")
    user = factories.make_user("viewer", mine)
    with pytest.raises(ValidationError) as caught:
        alert_rules.save_user_rule(user, {**VALID, "members": ["autre"]})
    assert caught.value.errors == {"members": "Membre inconnu : « autre »."}
    assert alert_rules.rule_row(user) is None  # nothing stored

    staff = factories.make_user("support")
    row = alert_rules.save_user_rule(staff, {**VALID, "members": ["autre", "la-mienne"]})
    assert sorted(row.member_ids) == sorted([mine.id, other.id])
    # Empty: every member.
    row = alert_rules.save_user_rule(staff, {**VALID, "members": []})
    assert row.member_ids == []
    assert alert_rules.effective(staff, other).covers(other.id, None, 4)


def test_staff_hear_nothing_until_they_save(app):
    staff = factories.make_user("admin")
    found = alert_rules.applied(staff)
    assert found.source == "default"
    assert not alerts_view.rule_view(found, staff=True).summary
    with pytest.raises(ValidationError) as caught:
        alert_rules.mute(staff, 1)
    assert "rien à couper" in caught.value.errors["hours"]


def test_saving_twice_edits_one_row(app):
    user = factories.make_user()
    alert_rules.save_user_rule(user, VALID)
    alert_rules.save_user_rule(user, {**VALID, "recoveries": True})
    rows = db.session.scalars(select(AlertRule).where(AlertRule.user_id == user.id)).all()
    assert len(rows) == 1 and rows[0].recoveries is True


# ---- mute ---------------------------------------------------------------------------------


def test_mute_copies_the_followed_rule_and_unmute_follows_it_again(app):
    member = factories.make_member()
    user = factories.make_user("viewer", member)
    alert_rules.save_member_defaults(member, {**VALID, "channels": ["sms"]})
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    until = alert_rules.mute(user, 4, now=now)
    assert until == now + timedelta(hours=4)
    rule = alert_rules.effective(user, member)
    assert rule.muted(now + timedelta(hours=3)) and not rule.muted(now + timedelta(hours=4))
    assert rule.channels == {"sms"}  # the defaults, copied
    alert_rules.unmute(user)
    assert alert_rules.rule_row(user) is None  # follows the defaults again
    assert alert_rules.applied(user).source == "member"


def test_unmute_keeps_a_rule_of_ones_own(app):
    user = factories.make_user()
    alert_rules.save_user_rule(user, VALID)
    alert_rules.mute(user, 8)
    assert alert_rules.applied(user).rule.muted(utcnow())
    alert_rules.unmute(user)
    row = alert_rules.rule_row(user)
    assert row is not None and row.muted_until is None and row.min_severity == 3


@pytest.mark.parametrize("hours", [0, 2, 24, "1", True, None, -1])
def test_mute_only_for_1_4_or_8_hours(app, hours):
    user = factories.make_user()
    with pytest.raises(ValidationError) as caught:
        alert_rules.mute(user, hours)
    assert "1, 4 ou 8 heures" in caught.value.errors["hours"]
    assert alert_rules.rule_row(user) is None


def test_saving_the_form_keeps_the_mute(app):
    user = factories.make_user()
    until = alert_rules.mute(user, 1)
    alert_rules.save_user_rule(user, VALID)  # no muted_until: unchanged
    assert as_utc(alert_rules.applied(user).rule.muted_until) == until


def test_followers_of_a_members_defaults(app):
    member = factories.make_member()
    users = [factories.make_user("viewer", member) for _ in range(3)]
    alert_rules.save_user_rule(users[0], VALID)
    counted = alert_rules.followers(member)
    assert (counted.following, counted.own) == (2, 1)


# ---- the outbox as people read it ---------------------------------------------------------


def deliver(user, n, channel="portal", status="sent", **extra) -> Delivery:
    row = outbox.enqueue(
        key=f"test-{user.id}-{channel}-{n}",
        user=user,
        channel=channel,
        kind="problem",
        subject=f"Panne {n}",
        body=f"Le routeur {n} ne répond plus.",
        data={"url": f"http://localhost/membres/x/carte?n={n}", "severity": 4},
        hold_until=extra.pop("hold_until", None),
    )
    row.status = status
    row.created_at = extra.pop("created_at", utcnow() - timedelta(minutes=100 - n))
    if status == "sent":
        row.sent_at = row.created_at
    for name, value in extra.items():
        setattr(row, name, value)
    db.session.commit()
    return row


def test_log_is_newest_first_paginated_and_per_channel(app):
    user, other = factories.make_user(), factories.make_user()
    for n in range(7):
        deliver(user, n, channel="email")
    deliver(user, 7, channel="sms", status="failed", last_error="Numéro refusé par l’opérateur.")
    deliver(other, 1)
    page = deliveries.log_page(user, 1, 5)
    assert page.total == 8 and page.pages == 2 and page.has_next
    assert [r.subject for r in page.items] == [
        "Panne 7",
        "Panne 6",
        "Panne 5",
        "Panne 4",
        "Panne 3",
    ]
    assert [r.subject for r in deliveries.log_page(user, 2, 5).items] == [
        "Panne 2",
        "Panne 1",
        "Panne 0",
    ]
    assert deliveries.log_page(user, 1, 5, channel="sms").total == 1
    groups = deliveries.recent_by_channel(user, per_channel=3)
    assert set(groups) == {"email", "sms"} and len(groups["email"]) == 3
    with pytest.raises(ValueError):
        deliveries.log_page(user, 0, 5)


def test_statuses_in_plain_french(app):
    user = factories.make_user()
    now = utcnow()
    held = deliver(
        user, 1, channel="email", status="held", hold_until=datetime(2026, 1, 16, 6, 0, tzinfo=UTC)
    )
    failed = deliver(user, 2, channel="sms", status="failed", last_error="Crédit SMS épuisé.")
    retry = deliver(
        user, 3, channel="email", status="queued", attempts=2, last_error="Serveur injoignable."
    )
    sent = deliver(user, 4, channel="portal")
    view = alerts_view.delivery_view(held, now)
    assert view.status_label == "Retenu jusqu’à 16/01/2026 à 7 h 00"  # Paris time, not UTC
    assert alerts_view.delivery_view(failed, now).detail == "Crédit SMS épuisé."
    assert "Nouvel essai à" in alerts_view.delivery_view(retry, now).detail
    assert "Serveur injoignable." in alerts_view.delivery_view(retry, now).detail
    assert alerts_view.delivery_view(sent, now).detail.endswith("Pas encore lu.")


def test_notification_centre_counts_marks_and_opens(app):
    user, other = factories.make_user(), factories.make_user()
    rows = [deliver(user, n) for n in range(3)]
    deliver(user, 9, status="queued")  # not delivered yet: not in the centre
    deliver(user, 10, channel="email")  # another channel
    deliver(other, 1)
    assert deliveries.unread_count(user.id) == 3
    assert deliveries.notifications(user).total == 3

    opened = deliveries.open_notification(user, rows[0].id)
    assert opened.read_at is not None and deliveries.unread_count(user.id) == 2
    assert alerts_view.notification_target(opened) == "/membres/x/carte?n=0"
    with pytest.raises(NotFound):
        deliveries.open_notification(other, rows[1].id)  # somebody else's

    assert deliveries.mark_all_read(user) == 2
    assert deliveries.unread_count(user.id) == 0 and deliveries.unread_count(other.id) == 1
    assert deliveries.mark_all_read(user) == 0


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://localhost/membres/a/carte#n-1", "/membres/a/carte#n-1"),
        ("/notifications", "/notifications"),
        ("https://evil.example/phish", None),
        ("//evil.example/phish", None),
        ("http://localhost.evil.example/", None),
        ("javascript:alert(1)", None),
        ("membres/a", None),
        ("/\\evil.example", None),
        (None, None),
        (42, None),
    ],
)
def test_a_notification_leads_only_inside_the_portal(app, url, target):
    row = Delivery(data={"url": url})
    assert alerts_view.notification_target(row) == target


def test_unread_count_is_one_query(app):
    from sqlalchemy import event

    user = factories.make_user()
    deliver(user, 1)
    user_id = user.id
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert deliveries.unread_count(user_id) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and "count" in statements[0].lower()


def test_delivery_health_by_channel_and_provider(app):
    user = factories.make_user()
    now = utcnow()
    deliver(user, 1, channel="email", provider="smtp", created_at=now - timedelta(hours=1))
    deliver(user, 2, channel="email", provider="smtp", created_at=now - timedelta(days=3))
    deliver(
        user,
        3,
        channel="sms",
        status="failed",
        provider="ovh",
        last_error="Crédit SMS épuisé.",
        created_at=now - timedelta(hours=2),
    )
    deliver(user, 4, channel="push", status="queued", created_at=now - timedelta(minutes=90))
    deliver(user, 5, channel="email", status="held", created_at=now - timedelta(minutes=5))
    deliver(user, 6, channel="email", provider="smtp", created_at=now - timedelta(days=10))
    health = deliveries.health(now)
    day = {(r.channel, r.provider): r.counts for r in health.rows["day"]}
    week = {(r.channel, r.provider): r.counts for r in health.rows["week"]}
    assert day[("email", "smtp")]["sent"] == 1 and week[("email", "smtp")]["sent"] == 2
    assert day[("sms", "ovh")]["failed"] == 1
    assert day[("push", None)]["queued"] == 1 and day[("email", None)]["held"] == 1
    assert [f.last_error for f in health.failures] == ["Crédit SMS épuisé."]
    assert health.queued_total == 1
    assert 89 * 60 <= health.oldest_queued_age_s <= 91 * 60
    view = alerts_view.health_view(health, now)
    assert "1 message en attente ; il attend depuis 1 h 30 min" in view.oldest_text
    assert view.tables[0].caption == "Dernières 24 heures"
    assert db.session.scalar(select(func.count(Delivery.id))) == 6  # read only
