"""The meter's arithmetic: quota levels and crossings, the forecast's line, demo history."""

from __future__ import annotations

import doctest
from datetime import date
from datetime import timedelta

import pytest

from webapp.presenters import meter as meter_view
from webapp.services import meter
from webapp.services.meter import NEAR
from webapp.services.meter import OVER
from webapp.services.meter import fill_forecast
from webapp.services.meter import level_of
from webapp.services.meter import level_to_tell

START = date(2026, 1, 1)


def days(values: list[int], start: date = START) -> list[tuple[date, int]]:
    return [(start + timedelta(days=i), v) for i, v in enumerate(values)]


@pytest.mark.parametrize("module", [meter, meter_view])
def test_the_doctests_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("used", "subscribed", "level"),
    [
        (0, 500, 0),
        (449, 500, 0),  # 89.8 %
        (450, 500, NEAR),  # exactly 90 %
        (500, 500, NEAR),  # full is not over
        (501, 500, OVER),
        (90, 100, NEAR),
        (5, 0, 0),  # no subscription: nothing to compare with
    ],
)
def test_levels(used, subscribed, level):
    assert level_of(used, subscribed, 90) == level


def test_crossings_tell_only_going_up_so_going_under_resets():
    told, said = 0, []
    for used in [400, 460, 470, 520, 530, 480, 400, 460, 520]:  # of 500
        level = level_of(used, 500, 90)
        tell = level_to_tell(told, level)
        if tell is not None:
            said.append((used, tell))
        told = level
    # 460: near; 520: over; 480: back to near (silent); 400: under (reset); then again.
    assert said == [(460, NEAR), (520, OVER), (460, NEAR), (520, OVER)]


def test_a_steady_rise_reaches_the_subscription_on_the_computed_day():
    # +2 a day from 300: 500 is reached 100 days after the first day.
    forecast = fill_forecast(days([300 + 2 * i for i in range(90)]), 500)
    assert forecast.state == "growing"
    assert forecast.full_on == START + timedelta(days=100)
    assert forecast.per_month == pytest.approx(60.88, abs=0.01)


def test_noise_around_a_rise_still_gives_a_date_near_the_true_one():
    noise = [0, 3, -2, 4, -3, 1, -1, 2, -4, 3]
    values = [300 + i + noise[i % len(noise)] for i in range(90)]  # +1 a day
    forecast = fill_forecast(days(values), 500)
    assert forecast.state == "growing"
    assert abs((forecast.full_on - (START + timedelta(days=200))).days) <= 3


def test_flat_or_decreasing_usage_has_no_date():
    assert fill_forecast(days([400] * 90), 500) == meter.Forecast("steady", None, 0.0)
    falling = fill_forecast(days([450 - i for i in range(90)]), 500)
    assert falling.state == "steady" and falling.full_on is None and falling.per_month < 0


def test_a_rise_too_slow_to_matter_within_ten_years_is_steady():
    values = [400 + (1 if i >= 60 else 0) for i in range(90)]  # one probe in three months
    assert fill_forecast(days(values), 5000).state == "steady"


def test_already_full_or_over_says_so_whatever_the_slope():
    assert fill_forecast(days([520] * 30), 500).state == "full"
    assert fill_forecast(days([500 - i for i in range(30)] + [500]), 500).state == "full"
    assert fill_forecast([(START, 600)], 500).state == "full"


def test_a_fit_already_past_the_subscription_gives_tomorrow():
    # Fast growth whose fitted line is above 500 on the last day while the last value is not.
    values = [300 + 10 * i for i in range(20)] + [495]
    forecast = fill_forecast(days(values), 500)
    assert forecast.full_on == START + timedelta(days=len(values))


def test_too_few_days_give_no_forecast():
    assert fill_forecast([], 500).state == "unknown"
    assert fill_forecast(days([400, 410, 420]), 500).state == "unknown"
    assert fill_forecast(days(list(range(400, 413))), 500).state == "unknown"  # 12 days apart
    assert fill_forecast(days(list(range(400, 415))), 500).state == "growing"  # 14 days apart


def test_points_in_any_order_give_the_same_forecast():
    points = days([300 + 2 * i for i in range(40)])
    assert fill_forecast(points[::-1], 500) == fill_forecast(points, 500)


def test_demo_history_grows_with_noise_ends_at_today_and_keeps_the_subscription_ahead():
    history = meter.plausible_history(537, 550, 548, "42:cc-saulnois", package=100, pool_size=50)
    used = [u for u, _s in history]
    subscribed = [s for _u, s in history]
    assert used[-1] == 537 and 250 <= used[0] <= 380
    assert subscribed == sorted(subscribed), "a subscription only grows in the demo"
    assert all(s <= 550 and (s - 100) % 50 == 0 for s in subscribed)
    assert sum(1 for a, b in zip(used, used[1:], strict=False) if b < a) > 10, "noise"
    other = meter.plausible_history(537, 550, 548, "43:cc-saulnois", package=100, pool_size=50)
    assert other != history, "another seed, another history"


def test_nice_steps_for_the_axis():
    assert [meter_view.nice_step(v) for v in (10, 100, 520, 1200, 5400)] == [5, 50, 200, 500, 2000]
