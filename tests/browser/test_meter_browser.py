"""The probe meter in Chromium at 390×844 and 1920×1080: readable chart, axe-core clean.

A member with the demo's 18 months of history, near its quota (a member admin sees
the order button) and over it; the syndicate's list of members over quota.
Screenshots: ``screenshots/meter-*-{phone,wall}.png``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import log_in
from webapp.extensions import db
from webapp.models import Subscription
from webapp.services import meter

pytestmark = pytest.mark.browser

# The chart's texts are at least this many CSS pixels high wherever it is shown.
_CHART_TEXT = """() => {
  const texts = [...document.querySelectorAll('.meter-chart__svg text')]
    .filter(t => t.getBoundingClientRect().width > 0);
  const svg = document.querySelector('.meter-chart__svg').getBoundingClientRect();
  return {
    count: texts.length,
    smallest: Math.min(...texts.map(t => t.getBoundingClientRect().height)),
    outside: texts.filter(t => {
      const b = t.getBoundingClientRect();
      return b.left < svg.left - 1 || b.right > svg.right + 1;
    }).length,
    overlapping: texts.some((t, i) => texts.slice(i + 1).some(u => {
      const a = t.getBoundingClientRect(), b = u.getBoundingClientRect();
      return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    })),
    width: svg.width,
  };
}"""


def _member(pools: int):
    """Sarralbe (490 probes) with ``pools`` pools and 18 months of history under them."""
    member = factories.demo_member("sarralbe")
    subscription = db.session.scalar(select(Subscription).where(Subscription.member == member))
    subscription.pools = pools
    db.session.commit()
    meter.backfill_demo_history(member, 490, 42)
    return member


def _check_chart(page) -> None:
    chart = page.evaluate(_CHART_TEXT)
    assert chart["count"] >= 6, chart  # amounts and months
    assert chart["smallest"] >= 12, f"chart text too small to read: {chart}"
    assert chart["outside"] == 0 and not chart["overlapping"], chart


@first_backend_only
def test_a_member_admin_near_quota_reads_the_trend_and_can_order(
    page, viewport, shoot, database_url
):
    sarralbe = _member(8)  # 490 of 500
    admin = factories.make_user("member_admin", member=sarralbe)
    log_in(page, admin.email)
    page.goto("/membres/sarralbe/sondes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sondes")
    expect(page.get_by_text("490 sondes utilisées sur 500 souscrites (98")).to_be_visible()
    expect(page.get_by_text("seront toutes utilisées vers le")).to_be_visible()
    expect(page.get_by_role("img", name="Sondes utilisées et souscrites")).to_be_visible()
    order = page.get_by_role("link", name="Commander des pools de sondes")
    expect(order).to_have_attribute("href", "/membres/sarralbe/commandes/nouvelle")
    _check_chart(page)
    assert_no_horizontal_overflow(page, f"sondes ({viewport})")
    assert_accessible(page, f"sondes ({viewport})")
    shoot(page, "meter-near")
    page.get_by_text("Données du graphique, mois par mois").click()
    table = page.get_by_role("table", name="Sondes utilisées et souscrites au dernier jour")
    expect(table).to_be_visible()
    assert table.get_by_role("row").count() >= 19  # the head and 18 months or more
    assert_accessible(page, f"sondes, tableau ouvert ({viewport})")
    shoot(page, "meter-table")


@first_backend_only
def test_a_viewer_over_quota_sees_it_plainly(page, viewport, shoot, database_url):
    viewer = factories.make_user("viewer", member=_member(0))  # 490 of 100
    log_in(page, viewer.email)
    page.goto("/membres/sarralbe/sondes")
    expect(
        page.get_by_text("8 pools de 50 sondes couvriraient le dépassement", exact=False)
    ).to_be_visible()
    expect(page.get_by_role("link", name="Commander des pools de sondes")).to_have_count(0)
    _check_chart(page)
    assert_no_horizontal_overflow(page, f"sondes en dépassement ({viewport})")
    assert_accessible(page, f"sondes en dépassement ({viewport})")
    shoot(page, "meter-over")
    page.goto("/membres/sarralbe/")
    page.get_by_role("link", name="Évolution et prévision des sondes").click()
    page.wait_for_url("**/membres/sarralbe/sondes")


@first_backend_only
def test_the_syndicate_list_of_members_over_quota(page, viewport, shoot, database_url):
    _member(0)
    factories.demo_member("bitche")
    staff = factories.make_user("admin")
    log_in(page, staff.email)
    page.goto("/admin/")
    page.get_by_role("link", name="2 membres en dépassement de sondes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Membres en dépassement de sondes")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("Démo sarralbe")  # the largest excess first
    assert_no_horizontal_overflow(page, f"dépassements ({viewport})")
    assert_accessible(page, f"dépassements ({viewport})")
    shoot(page, "meter-over-quota-list")
