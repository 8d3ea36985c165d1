"""One clock for every time Vigie shows: the syndicate's time zone, the French way.

Pages, fragments, live updates and messages all show times through this module
(``VIGIE_TIMEZONE``, default Europe/Paris), never through the reader's device:
a phone set to New York reads « 20 h 09 » like the wall in Metz. Live scripts
receive :func:`client_rules` and apply the same patterns with the same zone
(``static/js/clock.js``), so a time patched in the browser reads exactly like
the one the server rendered.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

__all__ = ["client_rules", "local", "moment", "since", "time_of_day", "zone_name"]


def zone_name() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def local(when: datetime) -> datetime:
    """``when`` in the syndicate's time zone (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(ZoneInfo(zone_name()))


def _time_pattern() -> str:
    return _("%(h)s h %(m)s", h="{h}", m="{m}")


def _day_pattern() -> str:
    return _("%(day)s/%(month)s", day="{day}", month="{month}")


def _fill(pattern: str, **values: str) -> str:
    for key, value in values.items():
        pattern = pattern.replace("{" + key + "}", value)
    return pattern


def time_of_day(when: datetime) -> str:
    """« 20 h 09 » (« 20:09 » in English)."""
    at = local(when)
    return _fill(_time_pattern(), h=str(at.hour), m=f"{at.minute:02d}")


def _day(at: datetime) -> str:
    return _fill(_day_pattern(), day=f"{at.day:02d}", month=f"{at.month:02d}")


def since(when: datetime, now: datetime | None = None) -> str:
    """« depuis 20 h 09 », or « depuis le 30/11 à 20 h 09 » when it is not today."""
    at = local(when)
    today = local(now or datetime.now(UTC)).date()
    if at.date() == today:
        return _("depuis %(time)s", time=time_of_day(when))
    return _("depuis le %(date)s à %(time)s", date=_day(at), time=time_of_day(when))


def moment(when: datetime | None) -> str:
    """« 30/11/2026 à 20 h 09 » (a date and time in tables and details)."""
    if when is None:
        return "—"
    at = local(when)
    return _("%(date)s à %(time)s", date=f"{_day(at)}/{at.year}", time=time_of_day(when))


def client_rules() -> dict[str, str]:
    """What ``static/js/clock.js`` needs to write times exactly like this module."""
    return {
        "zone": zone_name(),
        "time": _time_pattern(),
        "day": _day_pattern(),
        "since_today": _("depuis %(time)s", time="{time}"),
        "since_day": _("depuis le %(date)s à %(time)s", date="{date}", time="{time}"),
    }
