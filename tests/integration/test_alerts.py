"""Who is told what, and when: root causes, the alert delay, quiet hours, maintenances.

The poller runs cycle by cycle on the demo estate (``Poller.cycle`` with the alerts'
observer), the worker's decisions are run with an explicit ``now`` (the alert delay is
then a date, not a wait), and messages go through the real outbox to a channel that
records what it was handed (the channels' own protocols are tested apart, on loopback).
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests.factories import demo_member
from tests.factories import make_user
from webapp.channels.base import Outgoing
from webapp.channels.base import SendResult
from webapp.extensions import db
from webapp.live.poller import Poller
from webapp.models import AlertRule
from webapp.models import Delivery
from webapp.models import Incident
from webapp.models import Membership
from webapp.models import PushSubscription
from webapp.models.alerts import DeliveryStatus
from webapp.models.alerts import IncidentState
from webapp.services import alerts
from webapp.services import notify
from webapp.services import outbox
from webapp.sources.base import Maintenance

DELAY = timedelta(seconds=60)  # VIGIE_ALERT_DELAY's default


class Recorder:
    """A channel that keeps what it is handed (and can fail on demand)."""

    resend_if_interrupted = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Outgoing] = []
        self.answer: SendResult | None = None

    def send(self, message: Outgoing) -> SendResult:
        if self.answer is not None:
            return self.answer
        self.sent.append(message)
        return SendResult.sent(provider="recorder")


@pytest.fixture
def channels():
    return {name: Recorder(name) for name in ("email", "push", "sms", "portal")}


@pytest.fixture
def poller(app):
    return Poller(app, publish=lambda *args, **kwargs: None, observe=alerts.observe_cycle)


def later(seconds: float = 0) -> datetime:
    return datetime.now(UTC) + DELAY + timedelta(seconds=seconds + 1)


def deliver(channels, now: datetime) -> None:
    alerts.decide(now)
    alerts.release_held(now)
    while outbox.deliver_due(channels):
        pass


def everything(channels) -> list[Outgoing]:
    return [m for c in channels.values() for m in c.sent]


def subscribe(user, n: int = 1) -> None:
    for i in range(n):
        db.session.add(
            PushSubscription(
                user=user,
                endpoint=f"https://push.example/{user.id}/{i}",
                p256dh="B" * 87,
                auth="A" * 22,
            )
        )
    db.session.commit()


def confirm_phone(user, number: str = "+33612345678") -> None:
    user.phone = number
    user.phone_confirmed_at = datetime.now(UTC)
    db.session.commit()


def test_a_router_down_is_one_message_per_person_and_channel_naming_the_cause(
    app, poller, source, channels
):
    member = demo_member("college-la-salle")
    mayor = make_user("viewer", member=member)
    clerk = make_user("member_admin", member=member)
    subscribe(mayor, 2)  # two phones: one push each
    confirm_phone(mayor)
    mayor, clerk, member = mayor.id, clerk.id, member.name  # the poller ends the session
    poller.cycle()
    source.fail("college-la-salle-routeur")
    poller.cycle()
    poller.cycle()  # the state holds: nothing new
    (incident,) = db.session.scalars(select(Incident)).all()
    assert incident.state == IncidentState.PENDING and incident.dependents >= 10
    behind = incident.dependents
    deliver(channels, datetime.now(UTC))  # within the delay: nothing yet
    assert everything(channels) == []
    deliver(channels, later())
    sent = everything(channels)
    by = sorted((m.recipient.user_id, m.channel) for m in sent)
    assert by == sorted(
        [(mayor, "email"), (mayor, "portal"), (mayor, "push"), (mayor, "push")]
        + [(mayor, "sms")]
        + [(clerk, "email"), (clerk, "portal")]
    ), "one per channel (one per device for push); none per dependent device"
    mail = next(m for m in channels["email"].sent if m.recipient.user_id == mayor)
    assert "Routeur" in mail.subject and member in mail.subject
    assert f"Les {behind} équipements qui sont derrière lui ne sont plus joignables." in mail.body
    for word in ("ICMP", "Gravité", "Haute", "trigger"):
        assert word not in mail.body + mail.subject
    assert mail.data["url"].endswith("/membres/college-la-salle/equipements/" + incident.hostid)
    # Deciding again, or a second worker, sends nothing more.
    deliver(channels, later(5))
    assert len(everything(channels)) == len(sent)
    # The repair: one recovery each, threaded with the first message.
    for channel in channels.values():
        channel.sent.clear()
    source.repair("college-la-salle-routeur")
    poller.cycle()
    deliver(channels, later(10))
    recoveries = everything(channels)
    assert len(recoveries) == len(sent)
    assert all(m.kind == "recovery" for m in recoveries)
    mail = next(m for m in channels["email"].sent if m.recipient.user_id == mayor)
    assert "fonctionne de nouveau" in mail.body
    assert mail.data["thread"] == f"{incident.group_key}:open"


def test_a_problem_repaired_within_the_delay_sends_nothing(app, poller, source, channels):
    member = demo_member("college-la-salle")
    make_user("viewer", member=member)
    poller.cycle()
    source.fail("college-la-salle-routeur")
    poller.cycle()
    source.repair("college-la-salle-routeur")
    poller.cycle()
    deliver(channels, later())
    assert everything(channels) == []
    (incident,) = db.session.scalars(select(Incident)).all()
    assert incident.state == IncidentState.CANCELLED
    assert db.session.scalar(select(func.count(Delivery.id))) == 0


def test_problems_starting_within_the_delay_are_grouped_into_one_message(
    app, poller, source, channels
):
    member = demo_member("sarralbe")
    user = make_user("viewer", member=member).id
    hosts = [h.host for h in source.hosts(["Membres/sarralbe"])]
    nas = next(h for h in hosts if "nas" in h)
    camera = next(h for h in hosts if "cam" in h)
    poller.cycle()
    source.fail(nas)
    poller.cycle()
    source.fail(camera)
    poller.cycle()
    assert db.session.scalar(select(func.count(Incident.id))) == 2
    deliver(channels, later())
    mails = channels["email"].sent
    assert len(mails) == 1 and mails[0].recipient.user_id == user
    assert "2 problèmes" in mails[0].subject


def test_severity_members_and_mute_follow_each_persons_rule(app, poller, source, channels):
    member = demo_member("college-la-salle")
    other = demo_member("bitche")
    picky = make_user("viewer", member=member)
    muted = make_user("viewer", member=member)
    elsewhere = make_user("viewer", member=other)
    staff_all = make_user("support")
    staff_none = make_user("support")  # no rule: staff watch the wall
    db.session.add_all(
        [
            AlertRule(user=picky, channels=["email"], min_severity=5),  # disasters only
            AlertRule(
                user=muted, channels=["email"], muted_until=datetime.now(UTC) + timedelta(hours=4)
            ),
            AlertRule(user=staff_all, channels=["email"], member_ids=[]),
        ]
    )
    db.session.commit()
    others = {picky.id, muted.id, elsewhere.id, staff_none.id}
    staff_all = staff_all.id
    poller.cycle()
    source.fail("college-la-salle-routeur")
    poller.cycle()
    deliver(channels, later())
    told = {m.recipient.user_id for m in channels["email"].sent}
    assert told == {staff_all}
    assert not others & told


def test_quiet_hours_hold_messages_then_one_digest(app, poller, source, channels):
    member = demo_member("college-la-salle")
    sleeper = make_user("viewer", member=member)
    awake = make_user("viewer", member=member)
    now = later()
    local = now.astimezone(alerts.alert_rules.zone())
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=2)).strftime("%H:%M")
    db.session.add(AlertRule(user=sleeper, channels=["email"], quiet_start=start, quiet_end=end))
    db.session.commit()
    sleeper, awake = sleeper.id, awake.id
    poller.cycle()
    source.fail("college-la-salle-routeur")
    poller.cycle()
    deliver(channels, now)
    assert [m.recipient.user_id for m in channels["email"].sent] == [awake]
    held = db.session.scalars(select(Delivery).where(Delivery.user_id == sleeper)).all()
    assert [d.status for d in held] == [DeliveryStatus.HELD]
    # Repaired during the night: the recovery waits too.
    source.repair("college-la-salle-routeur")
    poller.cycle()
    deliver(channels, now + timedelta(minutes=30))
    assert {m.recipient.user_id for m in channels["email"].sent} == {awake}
    # The quiet hours end: one digest, what broke and was repaired.
    channels["email"].sent.clear()
    deliver(channels, now + timedelta(hours=2, minutes=1))
    (digest,) = channels["email"].sent
    assert digest.recipient.user_id == sleeper and digest.kind == "digest"
    assert "Réparé depuis" in digest.body and "période calme" in digest.subject
    statuses = sorted(
        d.status for d in db.session.scalars(select(Delivery).where(Delivery.user_id == sleeper))
    )
    assert statuses == sorted([DeliveryStatus.CANCELLED] * 2 + [DeliveryStatus.SENT])


def test_a_disaster_breaks_through_quiet_hours_when_asked(app, channels):
    member = demo_member("college-la-salle")
    user = make_user("viewer", member=member)
    now = later()
    local = now.astimezone(alerts.alert_rules.zone())
    db.session.add(
        AlertRule(
            user=user,
            channels=["email"],
            quiet_start=(local - timedelta(hours=1)).strftime("%H:%M"),
            quiet_end=(local + timedelta(hours=1)).strftime("%H:%M"),
            quiet_except_disasters=True,
        )
    )
    db.session.commit()
    cause = alerts.Cause("h1", "h1", "Lien fibre", None, 5, 12, "", True)
    alerts.observe({member.id: [cause]})
    deliver(channels, now)
    assert [m.recipient.user_id for m in channels["email"].sent] == [user.id]


def test_a_host_in_maintenance_raises_nothing_and_members_are_told_ahead(
    app, poller, source, channels
):
    member = demo_member("college-la-salle")
    user = make_user("viewer", member=member)
    hosts = source.hosts(["Membres/college-la-salle"])
    start = datetime.now(UTC) + timedelta(hours=2)
    planned = Maintenance(
        "m1", "Changement du routeur", (hosts[0].hostid,), start, start + timedelta(hours=1)
    )
    alerts.observe({}, [(member.id, planned, 1)])
    deliver(channels, datetime.now(UTC))
    (notice,) = channels["email"].sent
    assert notice.kind == "maintenance" and "prévue" in notice.subject
    deliver(channels, start + timedelta(minutes=1))
    deliver(channels, start + timedelta(hours=1, minutes=1))
    kinds = [m.subject for m in channels["email"].sent]
    assert len(kinds) == 3 and "en cours" in kinds[1] and "terminée" in kinds[2]
    assert {m.recipient.user_id for m in channels["email"].sent} == {user.id}


def test_an_incident_ending_in_maintenance_says_no_repair(app, channels):
    member = demo_member("college-la-salle")
    make_user("viewer", member=member)
    cause = alerts.Cause("h1", "h1", "Routeur", None, 4, 3, "", True)
    alerts.observe({member.id: [cause]})
    deliver(channels, later())
    assert len(channels["email"].sent) == 1
    alerts.observe({member.id: []}, paused={member.id: {"h1"}})
    deliver(channels, later(30))
    assert len(channels["email"].sent) == 1, "not « réparé »: it is being worked on"


def test_failed_sends_are_retried_with_backoff_then_given_up(app, channels):
    member = demo_member("college-la-salle")
    user = make_user("viewer", member=member)
    alerts.observe({member.id: [alerts.Cause("h1", "h1", "Routeur", None, 4, 3, "", True)]})
    channels["email"].answer = SendResult.retry("Serveur de messagerie indisponible")
    now = later()
    alerts.decide(now)
    outbox.deliver_due(channels)
    row = db.session.scalar(select(Delivery).where(Delivery.channel == "email"))
    assert row.status == DeliveryStatus.QUEUED and row.attempts == 1
    assert row.last_error == "Serveur de messagerie indisponible"
    assert outbox.deliver_due(channels) == 0, "not before its backoff"
    channels["email"].answer = None
    row.next_attempt_at = datetime.now(UTC)
    db.session.commit()
    outbox.deliver_due(channels)
    assert row.status == DeliveryStatus.SENT and row.attempts == 2
    assert [m.recipient.user_id for m in channels["email"].sent] == [user.id]
    assert [outbox.backoff_s(n) for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]


def test_a_retry_or_a_second_decision_never_duplicates(app, channels):
    member = demo_member("college-la-salle")
    user = make_user("viewer", member=member)
    first = outbox.enqueue(
        key="k1:email:user", user=user, channel="email", kind="test", subject="s", body="b"
    )
    again = outbox.enqueue(
        key="k1:email:user", user=user, channel="email", kind="test", subject="s", body="b"
    )
    db.session.commit()
    assert first is not None and again is None
    assert db.session.scalar(select(func.count(Delivery.id))) == 1


def test_an_interrupted_send_goes_again_except_sms(app, channels):
    member = demo_member("college-la-salle")
    user = make_user("viewer", member=member)
    confirm_phone(user)
    for channel in ("email", "sms"):
        outbox.enqueue(
            key=f"k:{channel}", user=user, channel=channel, kind="test", subject="s", body="b"
        )
    db.session.commit()
    claimed = outbox.claim()
    assert {r.status for r in claimed} == {DeliveryStatus.SENDING}
    # The worker dies here; its lease ends.
    for row in claimed:
        row.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    outbox.deliver_due(channels)
    assert [m.key for m in channels["email"].sent] == ["k:email"]
    assert channels["sms"].sent == []
    sms = db.session.scalar(select(Delivery).where(Delivery.channel == "sms"))
    assert sms.status == DeliveryStatus.FAILED and "doublon" in sms.last_error


def test_the_worker_round_runs_from_the_command(app, runner, channels):
    member = demo_member("college-la-salle")
    make_user("viewer", member=member)
    result = runner.invoke(args=["vigie", "notify", "--once"])
    assert result.exit_code == 0, result.output
    assert "Décidés : 0" in result.output
    alerts.observe({member.id: [alerts.Cause("h1", "h1", "Routeur", None, 4, 3, "", True)]})
    stats = notify.run_round(channels)
    assert stats.decided == 0  # the delay runs
    app.config["ALERT_DELAY"] = 0
    stats = notify.run_round(channels)
    assert stats.decided == 2 and stats.delivered == 2  # e-mail and portal


def test_a_user_who_left_the_member_is_not_told(app, channels):
    member = demo_member("college-la-salle")
    user = make_user("viewer", member=member)
    db.session.execute(Membership.__table__.delete().where(Membership.user_id == user.id))
    db.session.commit()
    alerts.observe({member.id: [alerts.Cause("h1", "h1", "Routeur", None, 4, 3, "", True)]})
    deliver(channels, later())
    assert everything(channels) == []


def test_a_wrong_channel_setting_stops_the_worker_in_one_french_line(app, runner):
    app.config.update(SMS_PROVIDER="ovh")  # without its keys
    result = runner.invoke(args=["vigie", "notify", "--once"])
    assert result.exit_code == 1
    assert "Erreur : SMS par OVH : il manque" in result.output
    assert "Traceback" not in result.output
