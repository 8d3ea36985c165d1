"""The probe meter: daily rows written by the poller, quota notices, the pages.

Poller cycles are run one by one (``Poller.cycle``): what a cycle wrote is in the
database when it returns. The demo estate's counts: sarralbe 490 probes, bitche 399.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from tests.factories import demo_member
from tests.factories import make_member
from tests.factories import make_user
from webapp.extensions import db
from webapp.live.poller import Poller
from webapp.models import Delivery
from webapp.models import Member
from webapp.models import ProbeUsageDay
from webapp.models import Subscription
from webapp.services import meter

SARRALBE_PROBES = 490
BITCHE_PROBES = 399


@pytest.fixture
def members(app):
    return [demo_member("sarralbe"), demo_member("bitche")]


def poller(app, refresh_s: float = 0.0) -> Poller:
    return Poller(app, publish=lambda *args, **kwargs: None, meter=meter.Recorder(refresh_s))


def rows_of(slug: str) -> list[ProbeUsageDay]:
    return list(
        db.session.scalars(
            select(ProbeUsageDay)
            .join(Member, Member.id == ProbeUsageDay.member_id)
            .where(Member.slug == slug)
            .order_by(ProbeUsageDay.day)
        )
    )


def set_pools(slug: str, pools: int) -> None:
    subscription = db.session.scalar(select(Subscription).join(Member).where(Member.slug == slug))
    subscription.pools = pools
    db.session.commit()


def quota_level(slug: str) -> int:
    return db.session.scalar(
        select(Subscription.quota_level).join(Member).where(Member.slug == slug)
    )


def quota_messages() -> list[Delivery]:
    return list(
        db.session.scalars(select(Delivery).where(Delivery.kind == "quota").order_by(Delivery.id))
    )


@dataclass
class FakeSnapshot:
    """What :func:`meter.record_day` reads of a snapshot."""

    probe_counts: dict[str, int]


# ---- daily rows ------------------------------------------------------------------------


def test_a_poller_cycle_stores_one_row_per_member_for_the_day(app, members):
    poller(app).cycle()
    today = meter.today()
    (sarralbe,) = rows_of("sarralbe")
    (bitche,) = rows_of("bitche")
    assert (sarralbe.day, sarralbe.used, sarralbe.subscribed) == (today, SARRALBE_PROBES, 100)
    assert (bitche.day, bitche.used, bitche.subscribed) == (today, BITCHE_PROBES, 100)


def test_quiet_cycles_cost_no_query_and_a_new_subscription_updates_the_days_row(app, members):
    recorder = meter.Recorder(refresh_s=3600)
    cycles = Poller(app, publish=lambda *a, **k: None, meter=recorder)
    cycles.cycle()
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        cycles.cycle()
        cycles.cycle()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert not [s for s in statements if "probe_usage_day" in s or "subscription" in s]
    set_pools("sarralbe", 8)
    recorder.refresh_s = 0  # the periodic re-read of the subscriptions is due
    cycles.cycle()
    (row,) = rows_of("sarralbe")  # the same row, following the latest value
    assert (row.used, row.subscribed) == (SARRALBE_PROBES, 500)
    assert db.session.scalar(select(func.count(ProbeUsageDay.id))) == 2


def test_record_day_writes_only_changes_and_one_row_per_day(app, members):
    sarralbe, bitche = members
    today = meter.today()
    written: meter.Written = {}
    snapshot = FakeSnapshot({"Membres/sarralbe": 300, "Membres/bitche": 200})
    assert meter.record_day(members, snapshot, today, written=written) == 2
    assert meter.record_day(members, snapshot, today, written=written, refresh=False) == 0
    snapshot.probe_counts["Membres/sarralbe"] = 310
    assert meter.record_day(members, snapshot, today, written=written, refresh=False) == 1
    assert [r.used for r in rows_of("sarralbe")] == [310]
    tomorrow = today + timedelta(days=1)
    assert meter.record_day(members, snapshot, tomorrow, written=written, refresh=False) == 2
    assert [(r.day, r.used) for r in rows_of("sarralbe")] == [(today, 310), (tomorrow, 310)]
    # A recorder that forgot what it wrote (a restart) updates, never duplicates.
    assert meter.record_day(members, snapshot, tomorrow) == 0
    assert len(rows_of("bitche")) == 2


def test_a_failing_meter_is_logged_and_the_cycle_goes_on(app, members, caplog):
    def broken(refs, snapshot):
        raise ConnectionError("database restarting")

    stats = Poller(app, publish=lambda *a, **k: None, meter=broken).cycle()
    assert stats.ok
    assert "Probe meter failed" in caplog.text


# ---- quota notices ---------------------------------------------------------------------


def test_crossing_90_then_100_tells_admins_once_each_and_going_under_resets(app, members):
    clerk = make_user("member_admin", member=members[0])
    mayor = make_user("viewer", member=members[0])
    chief = make_user("admin")
    clerk_id, mayor_id, chief_id = clerk.id, mayor.id, chief.id
    set_pools("sarralbe", 8)  # 490 of 500: 98 %
    set_pools("bitche", 20)  # 399 of 1,100: nothing to tell
    cycles = poller(app)
    cycles.cycle()
    told = quota_messages()
    assert {(m.user_id, m.channel) for m in told} == {
        (clerk_id, "portal"),
        (clerk_id, "email"),
        (chief_id, "portal"),
        (chief_id, "email"),
    }
    assert mayor_id not in {m.user_id for m in told}, "viewers are not told"
    assert told[0].subject == "Démo sarralbe utilise 98 % de ses sondes (490 sur 500)"
    assert told[0].data["url"].endswith("/membres/sarralbe/sondes")
    assert quota_level("sarralbe") == meter.NEAR
    cycles.cycle()
    cycles.cycle()
    assert len(quota_messages()) == 4, "once per crossing"

    set_pools("sarralbe", 7)  # 490 of 450: over
    cycles.cycle()
    over = quota_messages()[4:]
    assert len(over) == 4 and quota_level("sarralbe") == meter.OVER
    assert over[0].subject == (
        "Démo sarralbe dépasse ses sondes souscrites : 490 utilisées pour 450"
    )
    assert "1 pool de 50 sondes couvrirait le dépassement" in over[0].body

    set_pools("sarralbe", 20)  # an order: back well under
    cycles.cycle()
    assert quota_level("sarralbe") == 0 and len(quota_messages()) == 8
    set_pools("sarralbe", 8)  # a new crossing tells again
    cycles.cycle()
    assert quota_level("sarralbe") == meter.NEAR and len(quota_messages()) == 12


def test_going_from_over_to_near_tells_nothing_and_over_again_tells(app, members):
    make_user("member_admin", member=members[0])
    set_pools("bitche", 20)
    cycles = poller(app)
    cycles.cycle()  # 490 of 100: over
    assert quota_level("sarralbe") == meter.OVER and len(quota_messages()) == 2  # the admin
    set_pools("sarralbe", 8)  # 98 %: lower, nothing to tell
    cycles.cycle()
    assert quota_level("sarralbe") == meter.NEAR and len(quota_messages()) == 2
    set_pools("sarralbe", 0)
    cycles.cycle()
    assert quota_level("sarralbe") == meter.OVER and len(quota_messages()) == 4


def test_the_warning_level_comes_from_the_configuration(app, members):
    app.config["QUOTA_WARN_PERCENT"] = 99
    make_user("admin")
    set_pools("sarralbe", 8)  # 98 %: under 99
    set_pools("bitche", 20)
    poller(app).cycle()
    assert quota_level("sarralbe") == 0 and quota_messages() == []


# ---- pages -----------------------------------------------------------------------------


@pytest.fixture
def history(app, members):
    """18 months of demo history for both members (as ``make run`` has)."""
    for member in members:
        meter.backfill_demo_history(
            member, SARRALBE_PROBES if member.slug == "sarralbe" else 399, 42
        )
    return members


def test_the_member_sees_usage_trend_forecast_and_data_table(app, client, login, history):
    set_pools("sarralbe", 8)  # 490 of 500, growing
    sarralbe = db.session.scalar(select(Member).where(Member.slug == "sarralbe"))
    login(make_user("viewer", member=sarralbe))
    response = client.get("/membres/sarralbe/sondes")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "490 sondes utilisées sur 500 souscrites (98\u00a0%)" in page
    assert 'role="img"' in page and '<title id="meter-chart-title">' in page
    assert '<desc id="meter-chart-desc">' in page and "<table" in page
    assert "<polyline" in page and "meter-chart__subscribed" in page
    assert "Au rythme actuel" in page and "seront toutes utilisées vers le" in page
    assert "Vous approchez de la limite" in page
    assert "commandes/nouvelle" not in page, "a viewer cannot order"
    assert page.count("<tr>") >= 18  # a month per row, and the head


def test_over_quota_is_stated_plainly_with_the_order_button_for_admins(app, client, login, history):
    sarralbe = db.session.scalar(select(Member).where(Member.slug == "sarralbe"))
    login(make_user("member_admin", member=sarralbe))
    page = client.get("/membres/sarralbe/sondes").get_data(as_text=True)
    assert (
        "490 sondes utilisées pour 100 souscrites : 8 pools de 50 sondes couvriraient le "
        "dépassement." in page
    )
    assert "Rien n’est suspendu ni masqué" in page
    assert 'href="/membres/sarralbe/commandes/nouvelle"' in page
    home = client.get("/membres/sarralbe/").get_data(as_text=True)
    assert 'href="/membres/sarralbe/sondes"' in home
    assert "8 pools de 50 sondes couvriraient le dépassement" in home
    assert 'href="/membres/sarralbe/commandes/nouvelle"' in home


def test_a_viewer_over_quota_sees_it_but_no_order_button(app, client, login, members):
    login(make_user("viewer", member=members[0]))
    page = client.get("/membres/sarralbe/sondes").get_data(as_text=True)
    assert "8 pools de 50 sondes couvriraient le dépassement" in page
    assert "peut commander des pools" in page and "commandes/nouvelle" not in page
    assert "Pas encore d’historique" in page, "only today's live value: no chart yet"
    home = client.get("/membres/sarralbe/").get_data(as_text=True)
    assert 'href="/membres/sarralbe/sondes"' in home and "commandes/nouvelle" not in home


def test_staff_see_any_members_meter_without_the_order_button(app, client, login, members):
    login(make_user("support"))
    page = client.get("/membres/bitche/sondes").get_data(as_text=True)
    assert "399 sondes utilisées sur 100 souscrites" in page and "commandes/nouvelle" not in page


def test_another_members_user_gets_404(app, client, login, members):
    other = make_member()
    login(make_user("member_admin", member=other))
    response = client.get("/membres/sarralbe/sondes")
    assert response.status_code == 404
    assert "Sarralbe" not in response.get_data(as_text=True)
    assert client.get("/membres/n%27existe-pas/sondes").status_code == 404
    assert client.get(f"/membres/{other.slug}/sondes").status_code == 200


def test_signing_in_is_required(app, client, members):
    response = client.get("/membres/sarralbe/sondes")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_a_member_without_history_is_told_the_chart_comes_later(app, client, login):
    member = make_member()
    login(make_user("viewer", member=member))
    page = client.get(f"/membres/{member.slug}/sondes").get_data(as_text=True)
    assert "Pas encore d’historique" in page and 'role="img"' not in page
    assert "Pas encore assez de jours relevés" in page


def test_the_syndicate_lists_members_over_quota(app, client, login, members):
    set_pools("bitche", 20)  # 399 of 1,100: not over
    login(make_user("support"))
    page = client.get("/admin/depassements").get_data(as_text=True)
    assert "/membres/sarralbe/sondes" in page and "/membres/bitche/sondes" not in page
    assert "1 membre utilise plus de sondes qu’il n’en a souscrit (390 sondes en trop" in page
    index = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/depassements"' in index and "1 membre en dépassement" in index


def test_the_over_quota_list_is_for_staff_only(app, client, login, members):
    login(make_user("member_admin", member=members[0]))
    assert client.get("/admin/depassements").status_code == 403


def test_demo_load_backfills_18_months_once(app):
    from webapp.services import demo

    demo.load()
    rows = rows_of("sarralbe")
    assert len(rows) == meter.DEMO_HISTORY_DAYS
    assert rows[-1].day == meter.today() - timedelta(days=1)
    assert rows[-1].used == SARRALBE_PROBES and rows[0].used < rows[-1].used
    assert all(r.used <= r.subscribed for r in rows[:-30]), "subscribed ahead of use"
    from webapp.models.member import as_utc

    member = db.session.scalar(select(Member).where(Member.slug == "sarralbe"))
    began = as_utc(member.subscription.created_at).date()
    assert began == rows[0].day, "the demo's statements cover the years of its history"
    demo.load()
    assert len(rows_of("sarralbe")) == meter.DEMO_HISTORY_DAYS
