"""Support response times, month by month and member by member (issue 13, part 5).

For a period of :data:`PERIODS` months ending with the current one (months in the
syndicate's time zone, ``VIGIE_TIMEZONE``: a request opened on 31 January at 23 h 30
in Metz is January's even though it is 22 h 30 UTC), and for all members or one:

``opened``
    requests created in the month.
``resolved``
    requests resolved in the month (a reopened request counts when it is resolved
    again; one closed without being resolved — withdrawn, a duplicate — never does).
time to first response
    ``first_response_at − created_at``: until the first thing support did that the
    member saw (a comment or a change of status), counted in the month of that response.
time to resolution
    ``resolved_at − created_at − waiting_seconds``: time spent « en attente du membre »
    never counts against support; counted in the month of the resolution.
median and p90
    :func:`statistics.median` and ``statistics.quantiles(n=10, method="inclusive")[8]``
    (the standard library; numpy is not a dependency): half of the times are at most
    the median, nine in ten at most the p90. One time: it is both. None: no time.
share within target
    the target is the one of the request's urgency in :func:`support.targets`
    (``SUPPORT_TARGETS``). Each request counts **once**, in the month its outcome
    became known: the month of its response (resolution) when it came within the
    target; otherwise the month the target ran out — so a request still open past its
    target is already a miss in that month, and a late answer does not move the miss
    to a later month, so a month's share never changes once the month is over. For a
    resolution that ran out, that moment is ``created_at + waiting_seconds + target``
    (the waiting known at that time; exact when the waiting came before). A request
    closed unanswered (unresolved) before its target ran out is not counted.
satisfaction
    satisfied / rated, in the month of the rating (:func:`support.rate`).

Every count and share is ``None`` (the page says « — ») when there is nothing to
count. Staff get a second table, one row per member over the whole period.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Member
from webapp.models import SupportRequest
from webapp.models import User
from webapp.models.choices import SUPPORT_OPEN_STATUSES
from webapp.models.choices import SupportStatus
from webapp.models.choices import SupportUrgency
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.services import support
from webapp.services.errors import PermissionDenied

__all__ = [
    "DEFAULT_PERIOD",
    "PERIODS",
    "Figures",
    "MemberFigures",
    "MonthFigures",
    "Report",
    "Row",
    "compute",
    "member_report",
    "month_bounds",
    "percentiles",
    "staff_report",
]

PERIODS = (3, 6, 12)
DEFAULT_PERIOD = 6


# -- results --------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What one month (or one member over the period) adds up to; times in seconds."""

    opened: int = 0
    resolved: int = 0
    responded: int = 0  # first responses given (the times behind the median)
    response_median: float | None = None
    response_p90: float | None = None
    resolution_median: float | None = None
    resolution_p90: float | None = None
    response_within: int = 0
    response_judged: int = 0
    resolution_within: int = 0
    resolution_judged: int = 0
    satisfied: int = 0
    rated: int = 0

    @property
    def response_share(self) -> float | None:
        return self.response_within / self.response_judged if self.response_judged else None

    @property
    def resolution_share(self) -> float | None:
        return self.resolution_within / self.resolution_judged if self.resolution_judged else None

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    @property
    def empty(self) -> bool:
        """Nothing happened: no request opened, answered, judged or rated."""
        return not (
            self.opened
            or self.resolved
            or self.responded
            or self.response_judged
            or self.resolution_judged
            or self.rated
        )


@dataclass(frozen=True)
class MonthFigures:
    month: date  # the first day of the month, in the syndicate's time zone
    current: bool  # the month in progress (its figures are still moving)
    figures: Figures


@dataclass(frozen=True)
class MemberFigures:
    member_id: int
    slug: str
    name: str
    figures: Figures


@dataclass(frozen=True)
class Report:
    """A period's statistics: months newest first, the whole period, per member (staff)."""

    months: list[MonthFigures]
    total: Figures
    members: list[MemberFigures]
    period: int  # months
    start: datetime  # UTC: midnight of the first month's first day, local time
    end: datetime  # UTC: the moment the report was made
    targets: dict[str, tuple[int, int]]  # urgency -> (response, resolution) seconds
    member: Member | None = None

    @property
    def empty(self) -> bool:
        return self.total.empty


@dataclass(frozen=True)
class Row:
    """The columns of a request the statistics read (aware UTC datetimes)."""

    member_id: int
    urgency: str
    status: str
    created_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    waiting_since: datetime | None = None
    waiting_seconds: int = 0
    rating: str | None = None
    rated_at: datetime | None = None


# -- arithmetic -----------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(median, p90) of ``values``; ``(None, None)`` when there is none.

    >>> percentiles([600, 1200, 3600])
    (1200, 3120.0)
    >>> percentiles([60])
    (60, 60)
    """
    if not values:
        return None, None
    data = sorted(values)
    if len(data) == 1:  # quantiles() wants two points before Python 3.13
        return data[0], data[0]
    return statistics.median(data), statistics.quantiles(data, n=10, method="inclusive")[8]


def month_bounds(period: int, now: datetime, zone: ZoneInfo) -> list[tuple[date, datetime]]:
    """The ``period`` months ending with ``now``'s: (first day, its local midnight in UTC).

    >>> [d.isoformat() for d, _ in month_bounds(3, datetime(2025, 3, 31, 22, 30, tzinfo=UTC),
    ...                                          ZoneInfo("Europe/Paris"))]
    ['2025-02-01', '2025-03-01', '2025-04-01']
    """
    today = now.astimezone(zone).date()
    year, month = today.year, today.month
    firsts = []
    for _i in range(period):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return [(day, datetime.combine(day, time(), zone).astimezone(UTC)) for day in reversed(firsts)]


@dataclass
class _Tally:
    opened: int = 0
    resolved: int = 0
    response: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    response_within: int = 0
    response_judged: int = 0
    resolution_within: int = 0
    resolution_judged: int = 0
    satisfied: int = 0
    rated: int = 0

    def figures(self) -> Figures:
        response_median, response_p90 = percentiles(self.response)
        resolution_median, resolution_p90 = percentiles(self.resolution)
        return Figures(
            opened=self.opened,
            resolved=self.resolved,
            responded=len(self.response),
            response_median=response_median,
            response_p90=response_p90,
            resolution_median=resolution_median,
            resolution_p90=resolution_p90,
            response_within=self.response_within,
            response_judged=self.response_judged,
            resolution_within=self.resolution_within,
            resolution_judged=self.resolution_judged,
            satisfied=self.satisfied,
            rated=self.rated,
        )


def _seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())


def _events(row: Row, targets: dict[str, tuple[int, int]], now: datetime):
    """(moment, what, value) of everything ``row`` adds to the statistics."""
    response_target, resolution_target = targets.get(row.urgency, targets[SupportUrgency.NORMAL])
    created = row.created_at
    closed = row.status == SupportStatus.CLOSED
    end = (row.closed_at or now) if closed else now  # when the clocks stopped
    yield created, "opened", None

    if row.first_response_at is not None:
        spent = _seconds(row.first_response_at - created)
        yield row.first_response_at, "response", spent
        if spent <= response_target:
            yield row.first_response_at, "response_within", None
        else:
            yield created + timedelta(seconds=response_target), "response_missed", None
    elif _seconds(end - created) > response_target:
        yield created + timedelta(seconds=response_target), "response_missed", None

    waited = row.waiting_seconds or 0
    ran_out = created + timedelta(seconds=waited + resolution_target)
    if row.resolved_at is not None:
        spent = max(0.0, _seconds(row.resolved_at - created) - waited)
        yield row.resolved_at, "resolution", spent
        if spent <= resolution_target:
            yield row.resolved_at, "resolution_within", None
        else:
            yield ran_out, "resolution_missed", None
    else:
        waiting_now = _seconds(end - row.waiting_since) if row.waiting_since and not closed else 0
        if _seconds(end - created) - waited - waiting_now > resolution_target:
            yield ran_out, "resolution_missed", None

    if row.rating in (support.SATISFIED, support.UNSATISFIED):
        yield row.rated_at or row.resolved_at or end, row.rating, None


def _add(tally: _Tally, what: str, value: float | None) -> None:
    if what == "opened":
        tally.opened += 1
    elif what == "response":
        tally.response.append(value)
    elif what == "resolution":
        tally.resolved += 1
        tally.resolution.append(value)
    elif what.startswith("response_"):
        tally.response_judged += 1
        tally.response_within += what == "response_within"
    elif what.startswith("resolution_"):
        tally.resolution_judged += 1
        tally.resolution_within += what == "resolution_within"
    else:  # a rating
        tally.rated += 1
        tally.satisfied += what == support.SATISFIED


def compute(
    rows: Iterable[Row],
    *,
    targets: dict[str, tuple[int, int]],
    period: int,
    now: datetime,
    zone: ZoneInfo,
) -> tuple[list[MonthFigures], Figures, dict[int, Figures]]:
    """Months (newest first), the whole period, and each member's period, from ``rows``.

    No database and no Flask: the arithmetic the pages show, for the tests to check.
    """
    bounds = month_bounds(period, now, zone)
    start = bounds[0][1]
    months = {day: _Tally() for day, _at in bounds}
    total = _Tally()
    members: dict[int, _Tally] = {}
    for row in rows:
        for moment, what, value in _events(row, targets, now):
            if moment < start or moment > now:
                continue
            local = moment.astimezone(zone)
            for tally in (
                months[date(local.year, local.month, 1)],
                total,
                members.setdefault(row.member_id, _Tally()),
            ):
                _add(tally, what, value)
    current = bounds[-1][0]
    month_list = [
        MonthFigures(day, day == current, months[day].figures()) for day, _at in reversed(bounds)
    ]
    return month_list, total.figures(), {mid: t.figures() for mid, t in members.items()}


# -- reading --------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _rows(start: datetime, member: Member | None) -> list[Row]:
    """Requests that may have something in the period (opened, answered, judged, rated).

    Every moment a request adds is at most its end (closed, or now) except its rating,
    so a request closed before ``start`` and rated before it has nothing to add.
    """
    r = SupportRequest
    query = select(
        r.member_id,
        r.urgency,
        r.status,
        r.created_at,
        r.first_response_at,
        r.resolved_at,
        r.closed_at,
        r.waiting_since,
        r.waiting_seconds,
        r.rating,
        r.rated_at,
    ).where(
        or_(
            r.created_at >= start,
            r.status.in_(SUPPORT_OPEN_STATUSES),
            r.first_response_at >= start,
            r.resolved_at >= start,
            r.closed_at >= start,
            r.rated_at >= start,
        )
    )
    if member is not None:
        query = query.where(r.member_id == member.id)

    def aware(moment: datetime | None) -> datetime | None:
        return as_utc(moment) if moment is not None else None

    return [
        Row(
            member_id=m.member_id,
            urgency=m.urgency,
            status=m.status,
            created_at=as_utc(m.created_at),
            first_response_at=aware(m.first_response_at),
            resolved_at=aware(m.resolved_at),
            closed_at=aware(m.closed_at),
            waiting_since=aware(m.waiting_since),
            waiting_seconds=m.waiting_seconds or 0,
            rating=m.rating,
            rated_at=aware(m.rated_at),
        )
        for m in db.session.execute(query)
    ]


def _report(period: int, member: Member | None, now: datetime | None, *, by_member: bool) -> Report:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    now = now or utcnow()
    zone = _zone()
    targets = support.targets()
    start = month_bounds(period, now, zone)[0][1]
    months, total, per_member = compute(
        _rows(start, member), targets=targets, period=period, now=now, zone=zone
    )
    members: list[MemberFigures] = []
    if by_member and per_member:
        known = db.session.execute(
            select(Member.id, Member.slug, Member.name).where(Member.id.in_(per_member))
        ).all()
        members = sorted(
            (MemberFigures(m.id, m.slug, m.name, per_member[m.id]) for m in known),
            key=lambda m: (m.name.casefold(), m.slug),
        )
    return Report(
        months=months,
        total=total,
        members=members,
        period=period,
        start=start,
        end=now,
        targets=targets,
        member=member,
    )


def staff_report(
    user: User,
    period: int = DEFAULT_PERIOD,
    member: Member | None = None,
    now: datetime | None = None,
) -> Report:
    """The syndicate's statistics (staff only): months, and a row per member."""
    if not user.is_staff:
        raise PermissionDenied("support statistics for all members are the staff's")
    return _report(period, member, now, by_member=True)


def member_report(
    member: Member, period: int = DEFAULT_PERIOD, now: datetime | None = None
) -> Report:
    """One member's statistics (the caller has checked the user may see ``member``)."""
    return _report(period, member, now, by_member=False)
