"""Each device's history and the member's last 7 days, kept from the incidents Vigie read.

The poller runs cycle by cycle on the demo estate with the alerts' observer (the one that
keeps incidents); the pages read what it kept. Times are moved by editing the rows'
instants (the history is dates, not waits).
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_user
from webapp.extensions import db
from webapp.live.poller import Poller
from webapp.models import Incident
from webapp.models import Member
from webapp.models.alerts import IncidentState
from webapp.services import alerts
from webapp.services import history
from webapp.services import notify


@pytest.fixture
def poller(app):
    return Poller(app, publish=lambda *args, **kwargs: None, observe=alerts.observe_cycle)


def sarralbe() -> Member:
    """The demo member of these tests, made once per test."""
    found = db.session.scalars(select(Member).where(Member.slug == "sarralbe")).first()
    return found or demo_member("sarralbe")


def fail_and_repair(poller, source, name: str, *, told: bool = True) -> Incident:
    """A failure seen by the poller, then its repair: one ended incident."""
    sarralbe()
    poller.cycle()
    source.fail(name)
    poller.cycle()
    if told:  # past the alert delay: a real outage (not a brief cut)
        for row in db.session.scalars(select(Incident).where(Incident.state == "pending")):
            row.state = IncidentState.OPEN
        db.session.commit()
    source.repair(name)
    poller.cycle()
    return db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()


def shift(incident_id: int, days: float, minutes: float = 42) -> None:
    """Move an ended incident ``days`` back in time, lasting ``minutes``."""
    row = db.session.get(Incident, incident_id)
    row.resolved_at = datetime.now(UTC) - timedelta(days=days)
    row.opened_at = row.resolved_at - timedelta(minutes=minutes)
    db.session.commit()


def panel(client, source, name: str) -> str:
    host = source.host_by_name(name)
    return client.get(f"/membres/sarralbe/equipements/{host.hostid}").get_data(as_text=True)


def test_a_device_panel_tells_its_failures_and_those_that_cut_it_off(
    app, client, login, poller, source
):
    incident = fail_and_repair(poller, source, "sarralbe-routeur")
    assert incident.state == IncidentState.RESOLVED and incident.resolved_at is not None
    shift(incident.id, days=2, minutes=95)
    login(make_user("viewer", member=sarralbe()))
    router = panel(client, source, "sarralbe-routeur")
    assert "Ces 30 derniers jours" in router
    assert "Panne : « Routeur mairie » ne répondait plus" in router
    assert "durée : 1\u00a0h\u00a035\u00a0min" in router
    assert "<time datetime=" in router
    camera = panel(client, source, "sarralbe-sw-0-1-camera-3")  # behind the router
    assert "Injoignable : panne de « Routeur mairie » en amont" in camera
    elsewhere = panel(client, source, "sarralbe-sw-0-1")
    assert "Injoignable : panne de « Routeur mairie » en amont" in elsewhere


def test_members_read_plain_french_and_support_also_the_technical_detail(
    app, client, login, poller, source
):
    fail_and_repair(poller, source, "sarralbe-routeur")
    login(make_user("viewer", member=sarralbe()))
    router = panel(client, source, "sarralbe-routeur")
    assert "Panne : « Routeur mairie »" in router and "Détail technique" not in router
    staff = app.test_client()
    token = csrf_from(staff, "/connexion")
    user = make_user("support")
    staff.post("/connexion", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    router = panel(staff, source, "sarralbe-routeur")
    assert "Détail technique" in router


def test_a_repair_within_the_alert_delay_is_a_brief_cut(app, client, login, poller, source):
    incident = fail_and_repair(poller, source, "sarralbe-routeur", told=False)
    assert incident.state == IncidentState.CANCELLED
    login(make_user("viewer", member=sarralbe()))
    assert "coupure brève, réparée avant toute alerte" in panel(client, source, "sarralbe-routeur")


def test_the_device_panel_keeps_30_days_and_an_other_device_is_not_in_it(
    app, client, login, poller, source
):
    old = fail_and_repair(poller, source, "sarralbe-routeur")
    shift(old.id, days=31)
    nas = fail_and_repair(poller, source, "sarralbe-sw-0-1-nas-2")
    login(make_user("viewer", member=sarralbe()))
    router = panel(client, source, "sarralbe-routeur")
    assert "Aucun incident terminé ces 30 derniers jours." in router
    assert "Routeur mairie » ne répondait plus" not in router
    assert nas.cause in panel(client, source, "sarralbe-sw-0-1-nas-2")
    # the NAS is below the switch: the switch's panel does not take its failure
    assert nas.cause not in panel(client, source, "sarralbe-sw-0-1")


def test_the_member_home_tells_the_last_7_days(app, client, login, poller, source):
    week = fail_and_repair(poller, source, "sarralbe-routeur")
    shift(week.id, days=3)
    older = fail_and_repair(poller, source, "sarralbe-sw-0-1")
    shift(older.id, days=8)
    login(make_user("viewer", member=sarralbe()))
    home = client.get("/membres/sarralbe/").get_data(as_text=True)
    section = home[home.index('id="week-title"') :]
    assert "Ces 7 derniers jours" in home
    assert "Panne : « Routeur mairie » ne répondait plus" in section
    assert "équipements injoignables derrière" in section
    assert "Commutateur mairie 1" not in section.split("</section>")[0]
    # the same part comes back with the live texts (refetched after each update)
    fragment = client.get("/membres/sarralbe/resume").get_data(as_text=True)
    assert 'data-live-part="week"' in fragment and "Routeur mairie" in fragment


def test_an_ongoing_failure_is_the_summary_s_not_the_history_s(app, client, login, poller, source):
    member = sarralbe()
    poller.cycle()
    source.fail("sarralbe-routeur")
    poller.cycle()
    login(make_user("viewer", member=member))
    home = client.get("/membres/sarralbe/").get_data(as_text=True)
    assert "1 panne en cours" in home
    assert "Aucun incident terminé ces 7 derniers jours." in home


def test_an_other_member_s_history_is_never_shown(app, client, login, poller, source):
    fail_and_repair(poller, source, "sarralbe-routeur")
    other = "bitche"
    login(make_user("viewer", member=demo_member(other)))
    home = client.get(f"/membres/{other}/").get_data(as_text=True)
    assert "Routeur mairie » ne répondait plus" not in home
    assert client.get("/membres/sarralbe/").status_code == 404


def test_the_worker_purges_what_ended_beyond_the_history_days(app, poller, source):
    kept = fail_and_repair(poller, source, "sarralbe-routeur")
    shift(kept.id, days=399)
    gone = fail_and_repair(poller, source, "sarralbe-sw-0-1")
    shift(gone.id, days=401)
    poller.cycle()
    source.fail("sarralbe-sw-0-1-nas-2")
    poller.cycle()  # still going on: never purged, however old
    ongoing = db.session.scalars(select(Incident).where(Incident.resolved_at.is_(None))).one()
    ongoing.opened_at = datetime.now(UTC) - timedelta(days=500)
    db.session.commit()
    ids = (kept.id, gone.id, ongoing.id)
    worker = notify.Worker(app, channels={})
    assert worker.purge_history_daily() == 1
    assert worker.purge_history_daily() is None  # once a day
    left = set(db.session.scalars(select(Incident.id).where(Incident.id.in_(ids))))
    assert left == {ids[0], ids[2]}


def test_history_purges_after_the_days_it_is_given(app, poller, source):
    row = fail_and_repair(poller, source, "sarralbe-routeur")
    shift(row.id, days=11)
    assert history.purge(10) == 1


def test_the_demo_tells_a_history_and_sends_nothing_for_it(app, client, login):
    from webapp.models import Delivery
    from webapp.services import demo as demo_data

    demo_data.load()
    assert db.session.scalars(select(Incident)).first() is not None
    deliveries = db.session.scalar(select(func.count(Delivery.id)))
    alerts.decide(datetime.now(UTC) + timedelta(days=1))
    assert db.session.scalar(select(func.count(Delivery.id))) == deliveries
    member = db.session.scalars(select(Member).where(Member.slug == "sarralbe")).one()
    login(make_user("viewer", member=member))
    home = client.get("/membres/sarralbe/").get_data(as_text=True)
    week = home[home.index('id="week-title"') :].split("</section>")[0]
    assert "Panne : « " in week and "durée : " in week
    kept = db.session.scalar(select(func.count(Incident.id)))
    demo_data.load()  # loading again adds no history
    assert db.session.scalar(select(func.count(Incident.id))) == kept
