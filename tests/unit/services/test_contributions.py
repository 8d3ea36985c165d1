"""Contribution rules against amounts computed by hand (integer cents, no app)."""

from datetime import date

import pytest

from webapp.services.contributions import LineKind
from webapp.services.contributions import Lot
from webapp.services.contributions import Reduction
from webapp.services.contributions import available_years
from webapp.services.contributions import compute_statement
from webapp.services.contributions import reduction_year
from webapp.services.contributions import valid_year

EURO = 100  # cents per probe and per year: decision CSD 2024-314


def package(start: date, probes: int = 100, price: int = EURO, prorata: bool = True) -> Lot:
    return Lot(LineKind.PACKAGE, start, probes, 0, 50, price, prorata)


def base_pools(start: date, pools: int, price: int = EURO) -> Lot:
    return Lot(LineKind.BASE_POOLS, start, 0, pools, 50, price, True)


def order(order_id: int, start: date, pools: int = 1, price: int = EURO, prorata=True) -> Lot:
    return Lot(LineKind.POOLS, start, 0, pools, 50, price, prorata, order_id=order_id)


JAN_2024 = date(2024, 1, 15)


def amounts(statement) -> list[tuple[LineKind, int | None, int, int]]:
    return [(ln.kind, ln.order_id, ln.probes, ln.amount_cents) for ln in statement.lines]


def test_a_package_begun_in_january_is_a_full_year():
    s = compute_statement(2024, JAN_2024, [package(JAN_2024)], [])
    assert amounts(s) == [(LineKind.PACKAGE, None, 100, 10_000)]
    assert s.lines[0].months == 12 and not s.lines[0].prorated
    assert s.total_cents == 10_000  # 100 probes × 1,00 €


def test_a_package_begun_in_march_is_ten_twelfths_then_full_years():
    start = date(2024, 3, 2)
    first = compute_statement(2024, start, [package(start)], [])
    # 100 × 1 € × 10/12 = 83,333… → 83,33 €
    assert first.total_cents == 8_333
    assert first.lines[0].months == 10 and first.lines[0].prorated
    assert compute_statement(2025, start, [package(start)], []).total_cents == 10_000


def test_a_package_without_pro_rata_is_charged_a_full_first_year():
    start = date(2024, 9, 1)
    s = compute_statement(2024, start, [package(start, prorata=False)], [])
    assert s.total_cents == 10_000 and s.lines[0].months == 12


def test_an_order_in_march_is_charged_ten_months():
    lots = [package(JAN_2024), order(7, date(2026, 3, 15))]
    s = compute_statement(2026, JAN_2024, lots, [])
    # 50 probes × 1 € × 10/12 = 41,666… → 41,67 € (half up); the package is a full year.
    assert amounts(s) == [(LineKind.PACKAGE, None, 100, 10_000), (LineKind.POOLS, 7, 50, 4_167)]
    assert s.lines[1].months == 10 and s.lines[1].yearly_cents == 5_000
    assert s.total_cents == 14_167
    # The next year, the pool is a full year.
    assert compute_statement(2027, JAN_2024, lots, []).total_cents == 15_000


def test_an_order_in_december_is_charged_one_month():
    lots = [package(JAN_2024), order(8, date(2026, 12, 31))]
    s = compute_statement(2026, JAN_2024, lots, [])
    # 50 × 1 € × 1/12 = 4,1666… → 4,17 €
    assert s.lines[1].months == 1 and s.lines[1].amount_cents == 417
    assert s.total_cents == 10_417


def test_an_order_copied_without_pro_rata_is_a_full_year_from_its_first_year():
    lots = [package(JAN_2024), order(9, date(2026, 10, 1), pools=2, prorata=False)]
    s = compute_statement(2026, JAN_2024, lots, [])
    assert s.lines[1].probes == 100 and s.lines[1].amount_cents == 10_000


def test_a_price_change_between_two_orders_keeps_the_old_price_on_the_old_order():
    lots = [
        package(JAN_2024),
        order(1, date(2026, 2, 10), price=100),  # ordered at 1,00 € per probe
        order(2, date(2026, 9, 5), price=150),  # after the price went up to 1,50 €
    ]
    s = compute_statement(2026, JAN_2024, lots, [])
    # Order 1: 50 × 1,00 € × 11/12 = 45,833… → 45,83 €; order 2: 50 × 1,50 € × 4/12 = 25,00 €.
    assert [ln.amount_cents for ln in s.lines] == [10_000, 4_583, 2_500]
    assert s.total_cents == 17_083
    following = compute_statement(2027, JAN_2024, lots, [])
    # Full years: the package and order 1 still at 1,00 €, order 2 at 1,50 €.
    assert [ln.amount_cents for ln in following.lines] == [10_000, 5_000, 7_500]
    assert [ln.price_per_probe_cents for ln in following.lines] == [100, 100, 150]


def test_a_reduction_takes_the_newest_pools_first_from_its_first_of_january():
    lots = [package(JAN_2024), base_pools(JAN_2024, 2), order(3, date(2025, 6, 1), pools=2)]
    cut = [Reduction(order_id=4, effective_on=date(2027, 1, 1), pools=3)]
    # 2026: everything a full year: 100 + 100 + 100 probes = 300,00 €; the reduction is
    # announced for next year.
    before = compute_statement(2026, JAN_2024, lots, cut)
    assert before.total_cents == 30_000
    (announced,) = before.reductions
    assert announced.upcoming and announced.year == 2027 and announced.applied == 3
    # 2027: order 3 (the newest, 2 pools) goes whole, then 1 of the 2 base pools:
    # 100 (package) + 50 (one base pool) = 150 probes = 150,00 €.
    after = compute_statement(2027, JAN_2024, lots, cut)
    assert amounts(after) == [
        (LineKind.PACKAGE, None, 100, 10_000),
        (LineKind.BASE_POOLS, None, 50, 5_000),
    ]
    assert after.total_cents == 15_000
    (applied,) = after.reductions
    assert not applied.upcoming
    assert applied.taken_from == ((LineKind.POOLS, 3, 2), (LineKind.BASE_POOLS, None, 1))
    assert after.lines[1].pools == 1 and after.lines[1].pools_bought == 2
    # Later years keep the reduction but no longer show it.
    later = compute_statement(2028, JAN_2024, lots, cut)
    assert later.total_cents == 15_000 and later.reductions == ()


def test_a_reduction_never_goes_below_the_package():
    lots = [package(JAN_2024), order(1, date(2025, 3, 1))]
    cut = [Reduction(order_id=2, effective_on=date(2026, 1, 1), pools=5)]
    s = compute_statement(2026, JAN_2024, lots, cut)
    assert amounts(s) == [(LineKind.PACKAGE, None, 100, 10_000)]
    assert s.reductions[0].pools == 5 and s.reductions[0].applied == 1


def test_a_reduction_spares_pools_ordered_after_its_first_of_january():
    lots = [package(JAN_2024), order(1, date(2025, 3, 1)), order(3, date(2026, 4, 1))]
    cut = [Reduction(order_id=2, effective_on=date(2026, 1, 1), pools=1)]
    s = compute_statement(2026, JAN_2024, lots, cut)
    # Order 1 removed from 2026; order 3 (April 2026): 50 × 1 € × 9/12 = 37,50 €.
    assert amounts(s) == [(LineKind.PACKAGE, None, 100, 10_000), (LineKind.POOLS, 3, 50, 3_750)]


def test_a_reduction_dated_in_the_year_takes_effect_the_next_first_of_january():
    assert reduction_year(date(2026, 1, 1)) == 2026
    assert reduction_year(date(2026, 7, 14)) == 2027
    lots = [package(JAN_2024), order(1, date(2025, 3, 1))]
    cut = [Reduction(order_id=2, effective_on=date(2026, 7, 14), pools=1)]
    assert compute_statement(2026, JAN_2024, lots, cut).total_cents == 15_000
    assert compute_statement(2027, JAN_2024, lots, cut).total_cents == 10_000


def test_years_before_the_subscription_are_empty():
    start = date(2025, 5, 1)
    s = compute_statement(2024, start, [package(start)], [])
    assert s.before_start and s.lines == () and s.total_cents == 0
    no_subscription = compute_statement(2024, None, [], [])
    assert not no_subscription.before_start and no_subscription.total_cents == 0


def test_orders_starting_after_the_year_are_not_counted():
    lots = [package(JAN_2024), order(1, date(2027, 2, 1))]
    assert compute_statement(2026, JAN_2024, lots, []).total_cents == 10_000


def test_each_line_is_rounded_then_added():
    # Two December orders: 4,1666… twice. Rounded per line: 4,17 + 4,17 = 8,34 €
    # (not 8,33 €: the statement's lines add up to its total).
    lots = [package(JAN_2024), order(1, date(2026, 12, 1)), order(2, date(2026, 12, 20))]
    s = compute_statement(2026, JAN_2024, lots, [])
    assert s.total_cents == 10_000 + 417 + 417
    assert s.total_cents == sum(line.amount_cents for line in s.lines)
    assert s.probes == 200 and s.pools == 2


@pytest.mark.parametrize(
    ("year", "ok"),
    [(0, False), (1999, False), (2000, True), (2100, True), (2101, False), (99999, False)],
)
def test_valid_years(year, ok):
    assert valid_year(year) is ok


def test_available_years_run_from_the_first_year_to_next_year():
    assert available_years(date(2024, 3, 1), date(2026, 6, 1)) == [2024, 2025, 2026, 2027]
    assert available_years(None, date(2026, 6, 1)) == [2026, 2027]
