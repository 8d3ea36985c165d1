"""Rule: quiet hours in Europe/Paris across midnight and both DST changes; mute; cover."""

from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from webapp.services.alert_rules import DEFAULT_RULE
from webapp.services.alert_rules import Rule
from webapp.services.alert_rules import parse_clock

PARIS = ZoneInfo("Europe/Paris")
NIGHT = Rule(channels=frozenset({"email"}), quiet_start=time(22, 0), quiet_end=time(7, 0))


def paris(*args) -> datetime:
    """A wall-clock time in Paris, as the UTC moment the code receives."""
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        # An ordinary winter night: 23:30 and 03:00 both end at 07:00 the next morning.
        (paris(2026, 1, 14, 23, 30), paris(2026, 1, 15, 7, 0)),
        (paris(2026, 1, 15, 3, 0), paris(2026, 1, 15, 7, 0)),
        # Exactly at the start: quiet.
        (paris(2026, 1, 14, 22, 0), paris(2026, 1, 15, 7, 0)),
        # Spring forward (29/03/2026, 02:00 -> 03:00): the night is an hour shorter, the
        # end is still 07:00 on the wall, i.e. 05:00 UTC (CEST), not 06:00.
        (paris(2026, 3, 28, 23, 0), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
        (paris(2026, 3, 29, 4, 0), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
        # Fall back (25/10/2026, 03:00 -> 02:00): 07:00 on the wall is 06:00 UTC (CET).
        (paris(2026, 10, 24, 23, 0), datetime(2026, 10, 25, 6, 0, tzinfo=UTC)),
        # Inside the repeated hour, second time round (fold=1): still quiet until 07:00.
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 25, 6, 0, tzinfo=UTC)),
    ],
)
def test_overnight_quiet_hours_end_at_the_local_wall_clock(now, ends):
    assert NIGHT.quiet_until(now, PARIS) == ends


@pytest.mark.parametrize(
    "now",
    [
        paris(2026, 1, 15, 7, 0),  # the end itself is not quiet any more
        paris(2026, 1, 15, 12, 0),
        paris(2026, 1, 14, 21, 59),
        paris(2026, 3, 29, 7, 30),
        paris(2026, 10, 25, 8, 0),
    ],
)
def test_outside_quiet_hours_nothing_is_held(now):
    assert NIGHT.quiet_until(now, PARIS) is None


def test_the_zone_decides_not_utc():
    """22:30 UTC in summer is 00:30 in Paris: quiet there, whatever the server's clock."""
    now = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    assert NIGHT.quiet_until(now, PARIS) == datetime(2026, 7, 2, 5, 0, tzinfo=UTC)
    assert NIGHT.quiet_until(now, ZoneInfo("America/New_York")) is None  # 18:30 there


def test_daytime_quiet_hours_and_equal_bounds():
    lunch = Rule(channels=frozenset(), quiet_start=time(12, 0), quiet_end=time(14, 0))
    assert lunch.quiet_until(paris(2026, 5, 4, 13, 0), PARIS) == paris(2026, 5, 4, 14, 0)
    assert lunch.quiet_until(paris(2026, 5, 4, 14, 0), PARIS) is None
    assert lunch.quiet_until(paris(2026, 5, 4, 11, 59), PARIS) is None
    same = Rule(channels=frozenset(), quiet_start=time(8, 0), quiet_end=time(8, 0))
    assert same.quiet_until(paris(2026, 5, 4, 8, 0), PARIS) is None
    assert DEFAULT_RULE.quiet_until(paris(2026, 5, 4, 3, 0), PARIS) is None


def test_mute_ends_at_its_moment_naive_values_are_utc():
    now = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    muted = Rule(channels=frozenset({"email"}), muted_until=now + timedelta(hours=1))
    assert muted.muted(now)
    assert muted.muted(now + timedelta(minutes=59))
    assert not muted.muted(now + timedelta(hours=1))
    # SQLite hands back naive UTC datetimes.
    naive = Rule(channels=frozenset(), muted_until=datetime(2026, 5, 4, 11, 0))
    assert naive.muted(now) and not naive.muted(now + timedelta(hours=2))
    assert not DEFAULT_RULE.muted(now)


def test_covers_severity_members_and_sites():
    rule = Rule(
        channels=frozenset({"email"}),
        min_severity=3,
        member_ids=frozenset({1}),
        sites=frozenset({"Mairie"}),
    )
    assert rule.covers(1, "Mairie", 3)
    assert not rule.covers(1, "Mairie", 2)
    assert not rule.covers(2, "Mairie", 5)
    assert not rule.covers(1, "École", 5)
    assert not rule.covers(1, None, 5)
    assert DEFAULT_RULE.covers(99, None, 4) and not DEFAULT_RULE.covers(99, None, 3)


def test_parse_clock():
    assert parse_clock("22:00") == time(22, 0)
    assert parse_clock(" 7:05 ") == time(7, 5)
    assert parse_clock("") is None and parse_clock(None) is None
    with pytest.raises(ValueError):
        parse_clock("25:00")
