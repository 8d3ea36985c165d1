"""/admin/service: probes against the plan, contributions against the cost, break-even."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from tests.factories import demo_member
from tests.factories import make_member
from webapp.extensions import db
from webapp.models import PoolOrder
from webapp.models import ProbeUsageDay
from webapp.services import service_dashboard
from webapp.services.service_dashboard import balance
from webapp.services.service_dashboard import plan_targets

NBSP = "\u00a0"
NNBSP = "\u202f"
TODAY = date(2026, 12, 3)


def usage(member, day: date, used: int) -> None:
    db.session.add(ProbeUsageDay(member_id=member.id, day=day, used=used, subscribed=0))


@pytest.fixture
def estate(app):
    """Two members of the demo estate (sarralbe uses 490 probes, bitche 399) and a school.

    sarralbe: package only (100) since 15/01/2024, over quota; bitche: 6 base pools (400)
    since 15/01/2024; the school: package since 10/07/2025 (6/12 in 2025), one pool from
    15/03/2026 (10/12).
    """
    sarralbe = demo_member("sarralbe")
    bitche = make_member(name="Bitche", slug="bitche", host_groups=["Membres/bitche"], pools=6)
    school = make_member(name="Collège Jean Moulin", slug="college", kind="school")
    for member, created in (
        (sarralbe, date(2024, 1, 15)),
        (bitche, date(2024, 1, 15)),
        (school, date(2025, 7, 10)),
    ):
        member.subscription.created_at = datetime.combine(created, datetime.min.time(), UTC)
    db.session.add(
        PoolOrder(
            member_id=school.id,
            kind="add",
            pools=1,
            state="active",
            idempotency_key="a",
            request_hash="0" * 64,
            pool_size=50,
            price_per_probe_cents=100,
            prorata=True,
            effective_on=date(2026, 3, 15),
        )
    )
    school.subscription.pools = 1  # as approving the order does (webapp.services.orders)
    usage(sarralbe, date(2024, 6, 30), 200)
    usage(sarralbe, date(2024, 12, 31), 300)  # the year's last row counts
    usage(bitche, date(2024, 12, 20), 350)
    usage(sarralbe, date(2025, 12, 31), 450)
    usage(bitche, date(2025, 11, 30), 380)
    usage(school, date(2025, 12, 31), 60)
    usage(sarralbe, date(2026, 12, 2), 490)
    usage(bitche, date(2026, 12, 2), 399)
    usage(school, date(2026, 12, 1), 120)
    db.session.commit()
    return sarralbe, bitche, school


# Called: 2024 = 100 + 400 = 500,00 €; 2025 = 500 + school 100 × 6/12 = 550,00 €;
# 2026 = 500 + 100 + 50 × 10/12 (41,67) = 641,67 €.
CALLED = {2024: 50_000, 2025: 55_000, 2026: 64_167}


def test_figures_per_year(app, estate):
    data = service_dashboard.dashboard(TODAY)
    rows = {r.year: r for r in data.balance.rows}
    assert {y: rows[y].called_cents for y in CALLED} == CALLED
    assert {y: rows[y].probes for y in CALLED} == {2024: 650, 2025: 890, 2026: 1009}
    assert {y: rows[y].target for y in CALLED} == {2024: 1000, 2025: 3000, 2026: 5000}
    assert rows[2026].cumulative_cost_cents == 3 * 330_000
    assert rows[2026].cumulative_plan_cents == sum(CALLED.values())
    # 2027 on: from the plan, its last target held: 5,000 × 1 € a year.
    assert rows[2027].forecast and rows[2027].plan_cents == 500_000
    # ... at constant subscriptions: 100 + 400 + 150 probes = 650,00 € a year.
    assert rows[2027].constant_cents == 65_000
    # cumulative: 1 691,67 + 5 000 × n against 3 300 × (3 + n): n = 5, 2031.
    assert data.balance.actual_year is None
    assert data.balance.plan_year == 2031
    assert data.balance.constant_year is None
    assert data.balance.rows[-1].year == 2024 + service_dashboard.MAX_HORIZON_YEARS - 1
    # live: 490 + 399 (the school has no equipment in the demo estate: 0)
    assert data.used_now == 889 and data.subscribed_now == 100 + 400 + 150
    assert [(f.slug, f.pools_needed) for f in data.over_quota] == [("sarralbe", 8)]
    assert [f.slug for f in data.largest] == ["bitche", "college", "sarralbe"]
    assert dict((k, n) for k, n, _s, _u in data.by_kind) == {"commune": 2, "school": 1}


def test_the_page(client, login_as, estate):
    login_as("admin")
    response = client.get("/admin/service")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Tableau de bord du service" in html
    # two accessible charts, each with its title, description and data table
    assert html.count('role="img"') == 2
    assert '<title id="probes-chart-title">' in html and '<desc id="probes-chart-desc">' in html
    assert '<title id="balance-chart-title">' in html and '<desc id="balance-chart-desc">' in html
    assert "Sondes en service et objectifs, par année" in html
    assert "Coût, contributions et cumuls, par année" in html
    assert f"641,67{NBSP}€" in html  # called in 2026
    assert f"3{NNBSP}300,00{NBSP}€" in html  # the yearly cost
    assert f"5{NNBSP}000" in html  # a plan target
    assert "Équilibre prévu en 2031 (selon le plan)" in html
    assert "À abonnements constants, l’équilibre ne serait pas atteint d’ici 2035." in html
    assert "selon le plan (les sondes prévues par le comité" in html  # says which forecast
    assert "Membres par type" in html and "Établissement scolaire" in html
    assert 'href="/membres/sarralbe/"' in html and "+390" in html  # over quota
    assert "Plus gros membres" in html
    assert 'href="/admin/contributions/' in html


def test_a_plan_from_the_environment_as_json(client, login_as, app, estate):
    app.config["PLAN_TARGETS"] = '{"2024": 500, "2025": 1000, "2026": 1000}'
    data = service_dashboard.dashboard(TODAY)
    assert data.targets == {2024: 500, 2025: 1000, 2026: 1000}
    login_as("admin")
    assert client.get("/admin/service").status_code == 200


def test_an_unreadable_plan_is_said_not_a_500(client, login_as, app, estate):
    app.config["PLAN_TARGETS"] = "{not json"
    login_as("admin")
    response = client.get("/admin/service")
    assert response.status_code == 200
    assert "Les objectifs du plan (VIGIE_PLAN_TARGETS) sont illisibles" in response.get_data(
        as_text=True
    )


def test_an_empty_portal(client, login_as, app):
    login_as("admin")
    response = client.get("/admin/service")
    assert response.status_code == 200
    assert "Aucun membre ne dépasse son abonnement." in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "member_admin", "support"])
def test_syndicate_admins_only(client, login_as, role):
    login_as(role)
    assert client.get("/admin/service").status_code == 403


def test_signed_out(client):
    assert client.get("/admin/service").status_code == 302


def test_html_in_member_names_is_escaped(client, login_as, app):
    make_member(name="<img src=x onerror=alert(1)>", slug="hostile", pools=40)
    login_as("admin")
    html = client.get("/admin/service").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# ---- the pure parts --------------------------------------------------------------------


def test_plan_targets_from_a_mapping_or_json():
    assert plan_targets({"2025": 3000, "2024": "1000"}) == {2024: 1000, 2025: 3000}
    assert plan_targets('{"2026": 5000}') == {2026: 5000}
    assert plan_targets("") == {}
    for bad in ("[1, 2]", '{"x": 1}', '{"2024": -5}', '{"99999": 1}'):
        with pytest.raises(ValueError):
            plan_targets(bad)


def test_the_committee_plan_breaks_even_after_three_years():
    """1,000 / 3,000 / 5,000 probes at 1 € against 3,300 € a year: cumulative 9,000 against
    9,900 after 2026, 14,000 against 13,200 after 2027 — « l’équilibre est atteint après
    3 ans »."""
    b = balance(
        first_year=2024,
        current_year=2023,
        yearly_cost_cents=330_000,
        targets={2024: 1000, 2025: 3000, 2026: 5000},
        price_per_probe_cents=100,
        probes={},
        called={},
        constant={},
        last_year=2028,
    )
    assert [r.cumulative_plan_cents for r in b.rows] == [
        100_000,
        400_000,
        900_000,
        1_400_000,
        1_900_000,
    ]
    assert [r.cumulative_cost_cents for r in b.rows] == [
        330_000,
        660_000,
        990_000,
        1_320_000,
        1_650_000,
    ]
    assert b.plan_year == 2027 and b.actual_year is None


def test_break_even_already_reached():
    b = balance(
        first_year=2024,
        current_year=2026,
        yearly_cost_cents=100_000,
        targets={},
        price_per_probe_cents=100,
        probes={2026: 3000},
        called={2024: 50_000, 2025: 150_000, 2026: 300_000},
        constant={2027: 300_000},
        last_year=2027,
    )
    assert b.actual_year == 2025 and b.plan_year == 2025 and b.constant_year == 2025
    assert b.rows[-1].plan_cents == 0  # no plan: the plan's forecast is nothing
    assert b.rows[2].probes == 3000 and b.rows[3].probes is None
