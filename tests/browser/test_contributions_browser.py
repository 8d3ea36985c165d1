"""The contribution statement and the service dashboard in Chromium, at 390×844 and 1920×1080.

axe-core finds nothing, nothing overflows the viewport, the year picker and the PDF link
work, the charts are there with their tables; screenshots of each.
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import log_in
from webapp.extensions import db
from webapp.models import PoolOrder
from webapp.models import ProbeUsageDay

pytestmark = pytest.mark.browser


def _order(member, effective_on: date, *, kind="add", state="active", price=100) -> None:
    db.session.add(
        PoolOrder(
            member_id=member.id,
            kind=kind,
            pools=1,
            state=state,
            idempotency_key=f"{kind}-{effective_on}",
            request_hash="0" * 64,
            pool_size=50,
            price_per_probe_cents=price,
            prorata=True,
            effective_on=effective_on,
        )
    )


@pytest.fixture
def sarralbe(app):
    """A demo member since 15/01/2024 with 8 base pools, a pool in March, a dearer one in
    December and a reduction from next 1 January; a second member with usage history."""
    member = factories.demo_member("sarralbe")
    member.subscription.base_pools = member.subscription.pools = 8
    member.subscription.created_at = datetime(2024, 1, 15, tzinfo=UTC)
    _order(member, date(2026, 3, 15))
    _order(member, date(2026, 12, 2), price=150)
    _order(member, date(2027, 1, 1), kind="reduce", state="approved")
    bitche = factories.demo_member("bitche")
    bitche.subscription.created_at = datetime(2025, 4, 2, tzinfo=UTC)
    for who, day, used in (
        (member, date(2024, 12, 31), 320),
        (member, date(2025, 12, 31), 450),
        (bitche, date(2025, 12, 31), 250),
        (member, date(2026, 12, 2), 490),
        (bitche, date(2026, 12, 2), 399),
    ):
        db.session.add(ProbeUsageDay(member_id=who.id, day=day, used=used, subscribed=0))
    db.session.commit()
    return member


@first_backend_only
def test_member_admin_reads_the_statement(page, problems, viewport, shoot, sarralbe):
    admin = factories.make_user("member_admin", member=sarralbe)
    log_in(page, admin.email)
    assert page.goto("/membres/sarralbe/contributions/2026").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Contribution 2026")
    expect(page.get_by_role("table")).to_contain_text("41,67")
    expect(page.locator(".statement-summary__total strong")).to_have_text("547,92\u00a0€")
    label = f"relevé de contribution ({viewport})"
    assert_accessible(page, label)
    assert_no_horizontal_overflow(page, label)
    shoot(page, "contribution-statement")

    # The year picker: 2027 is a forecast, after the reduction (the December pool goes).
    page.get_by_role("navigation", name="Choisir l’année du relevé").get_by_role(
        "link", name="2027 (prévisionnel)"
    ).click()
    expect(page).to_have_url(re.compile(r"/membres/sarralbe/contributions/2027$"))
    expect(page.locator(".statement-summary__total strong")).to_have_text("550,00\u00a0€")
    assert_accessible(page, f"relevé 2027 ({viewport})")
    assert_no_horizontal_overflow(page, f"relevé 2027 ({viewport})")

    # A year before the subscription: said plainly, nothing to download.
    page.goto("/membres/sarralbe/contributions/2023")
    expect(page.get_by_text("Aucune contribution pour 2023")).to_be_visible()
    assert_accessible(page, f"relevé 2023 ({viewport})")

    # The PDF link answers a PDF.
    page.goto("/membres/sarralbe/contributions/2026")
    href = page.get_by_role("link", name="Télécharger le relevé (PDF)").get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
    problems.check()


@first_backend_only
def test_syndicate_admin_watches_the_service(page, problems, viewport, shoot, sarralbe):
    admin = factories.make_user("admin")
    log_in(page, admin.email)
    assert page.goto("/admin/service").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord du service")
    charts = page.get_by_role("img", name="Sondes en service et objectifs du plan, par année")
    expect(charts).to_be_visible()
    expect(
        page.get_by_role("img", name="Coût cumulé du service et contributions cumulées, par année")
    ).to_be_visible()
    expect(
        page.get_by_role("table", name="Coût, contributions et cumuls, par année")
    ).to_be_visible()
    expect(
        page.get_by_role("table", name="Sondes en service et objectifs, par année")
    ).to_contain_text("5\u202f000")
    label = f"tableau de bord du service ({viewport})"
    assert_accessible(page, label)
    assert_no_horizontal_overflow(page, label)
    shoot(page, "admin-service")
    # The chart fits its box: as wide as the page allows, never wider.
    box = charts.bounding_box()
    width = page.viewport_size["width"]
    assert 0 < box["width"] <= width
    problems.check()
