"""What each person wants to be told: their own rule, else their member's defaults.

Defaults (no rule saved): every member user gets e-mail (and the portal's notification
centre) for severity Haute and above, with recoveries; push and SMS as soon as they
are set up (a subscribed device, a confirmed number). A member admin's defaults for
the member's users are a rule with ``member_id``; syndicate staff rules may cover every
member (empty ``member_ids``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from topology.model import Severity
from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.models import AlertRule
from webapp.models import Member
from webapp.models import User
from webapp.models.member import as_utc

ALL_CHANNELS = (ChannelName.EMAIL, ChannelName.PUSH, ChannelName.SMS, ChannelName.PORTAL)


@dataclass(frozen=True)
class Rule:
    channels: frozenset[str]
    min_severity: int = int(Severity.HIGH)
    member_ids: frozenset[int] = frozenset()  # empty: all the user's members
    sites: frozenset[str] = frozenset()  # empty: every site
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_except_disasters: bool = True
    recoveries: bool = True
    muted_until: datetime | None = None

    def covers(self, member_id: int, site: str | None, severity: int) -> bool:
        if severity < self.min_severity:
            return False
        if self.member_ids and member_id not in self.member_ids:
            return False
        return not (self.sites and (site or "") not in self.sites)

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and as_utc(self.muted_until) > now

    def quiet_until(self, now: datetime, zone: ZoneInfo) -> datetime | None:
        """When the quiet hours around ``now`` end, or ``None`` outside them."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return None
        local = now.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        start, end = self.quiet_start, self.quiet_end
        inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
        if not inside:
            return None
        ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if ends <= local:
            ends += timedelta(days=1)
        return ends.astimezone(now.tzinfo)


DEFAULT_RULE = Rule(channels=frozenset(ALL_CHANNELS))


def parse_clock(value: str | None) -> time | None:
    """« 22:00 » → 22:00; blank → None; :class:`ValueError` otherwise."""
    if value is None or not str(value).strip():
        return None
    hours, _, minutes = str(value).strip().partition(":")
    return time(int(hours), int(minutes or 0))


def from_row(row: AlertRule) -> Rule:
    return Rule(
        channels=frozenset(row.channels or ()),
        min_severity=row.min_severity,
        member_ids=frozenset(row.member_ids or ()),
        sites=frozenset(row.sites or ()),
        quiet_start=parse_clock(row.quiet_start),
        quiet_end=parse_clock(row.quiet_end),
        quiet_except_disasters=row.quiet_except_disasters,
        recoveries=row.recoveries,
        muted_until=row.muted_until,
    )


def rule_row(user: User) -> AlertRule | None:
    return db.session.scalar(select(AlertRule).where(AlertRule.user_id == user.id))


def member_defaults_row(member: Member) -> AlertRule | None:
    return db.session.scalar(select(AlertRule).where(AlertRule.member_id == member.id))


def effective(user: User, member: Member | None = None) -> Rule:
    """The rule that applies to ``user`` (for an alert of ``member``)."""
    row = rule_row(user)
    if row is None and member is not None:
        defaults = member_defaults_row(member)
        if defaults is not None:
            # A member's defaults never narrow the members: they are the member's own.
            return from_row(defaults)
    return from_row(row) if row is not None else DEFAULT_RULE


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])
