"""The probe meter: one stored row per member per day, quota notices, trend and forecast.

The poller hands each cycle's snapshot to a :class:`Recorder` (see
:mod:`webapp.live.poller`), which calls :func:`record_day`: a member's row of the day
follows its latest value, written only when the day or the value changes (the recorder
keeps in memory what it wrote, so a quiet cycle costs no query at all). When a member
crosses ``QUOTA_WARN_PERCENT`` or goes over its subscription, its administrators and the
syndicate's are told once (portal + e-mail, through the outbox);
``Subscription.quota_level`` remembers what they were told, and going back under resets
it so that a new crossing tells again.

:func:`fill_forecast` is the pure arithmetic of the forecast (a least-squares line
through the last days); :func:`forecast` feeds it the stored rows.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import Member
from webapp.models import ProbeUsageDay
from webapp.models import Subscription
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.services import notices

__all__ = [
    "FORECAST_DAYS",
    "NEAR",
    "OVER",
    "Forecast",
    "OverQuota",
    "Recorder",
    "fill_forecast",
    "forecast",
    "level_of",
    "over_quota",
    "probes_used",
    "record_day",
    "today",
    "trend",
]

logger = logging.getLogger(__name__)

NEAR = 90  # Subscription.quota_level: told "near" (the level is QUOTA_WARN_PERCENT)
OVER = 100  # told "over"
FORECAST_DAYS = 90  # the forecast's line goes through this many last days
MIN_FORECAST_SPAN_DAYS = 14  # fewer days than this: no forecast
HORIZON_DAYS = 10 * 366  # a date further away than this is not a forecast
SUBSCRIPTIONS_REFRESH_S = 60.0  # the recorder re-reads every subscription this often

# ---- pure arithmetic -----------------------------------------------------------------


def level_of(used: int, subscribed: int, warn_percent: int) -> int:
    """The quota level of ``used`` probes out of ``subscribed``: 0, :data:`NEAR` or :data:`OVER`.

    Over means more probes used than subscribed; near, at least ``warn_percent``.

    >>> level_of(400, 500, 90), level_of(450, 500, 90), level_of(500, 500, 90)
    (0, 90, 90)
    >>> level_of(501, 500, 90), level_of(10, 0, 90)
    (100, 0)
    """
    if subscribed <= 0:
        return 0
    if used > subscribed:
        return OVER
    if used * 100 >= warn_percent * subscribed:
        return NEAR
    return 0


def level_to_tell(told: int, level: int) -> int | None:
    """The level to tell when the level goes from ``told`` to ``level``: only going up.

    >>> level_to_tell(0, 90), level_to_tell(90, 100), level_to_tell(0, 100)
    (90, 100, 100)
    >>> level_to_tell(90, 90) is None, level_to_tell(100, 90) is None, level_to_tell(90, 0) is None
    (True, True, True)
    """
    return level if level > told else None


@dataclass(frozen=True)
class Forecast:
    """When the subscription will be full, from the trend.

    ``state``: ``full`` (already full or over), ``growing`` (``full_on`` is the day the
    fitted line reaches the subscription), ``steady`` (flat, decreasing, or too slow to
    reach it within ten years) or ``unknown`` (too few days recorded).
    ``per_month``: the fitted growth, in probes per month.
    """

    state: str
    full_on: date | None = None
    per_month: float = 0.0


def fill_forecast(
    points: Sequence[tuple[date, int]], capacity: int, horizon_days: int = HORIZON_DAYS
) -> Forecast:
    """The day a least-squares line through ``points`` (day, probes used) reaches ``capacity``.

    The last point tells whether it is already full; the line needs at least two
    points spanning :data:`MIN_FORECAST_SPAN_DAYS` days.

    >>> start = date(2026, 1, 1)
    >>> rising = [(start + timedelta(days=i), 400 + i) for i in range(30)]  # +1 a day
    >>> fill_forecast(rising, 500)
    Forecast(state='growing', full_on=datetime.date(2026, 4, 11), per_month=30.44)
    >>> fill_forecast([(start + timedelta(days=i), 400) for i in range(30)], 500).state
    'steady'
    >>> fill_forecast([(start + timedelta(days=i), 450 - i) for i in range(30)], 500).state
    'steady'
    >>> fill_forecast(rising, 420)
    Forecast(state='full', full_on=None, per_month=30.44)
    >>> fill_forecast(rising[:3], 500).state
    'unknown'
    """
    if not points:
        return Forecast("unknown")
    points = sorted(points)
    first, last = points[0][0], points[-1][0]
    xs = [(day - first).days for day, _value in points]
    ys = [float(value) for _day, value in points]
    slope = intercept = 0.0
    span = xs[-1]
    if span >= MIN_FORECAST_SPAN_DAYS:
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
        intercept = mean_y - slope * mean_x
    per_month = round(slope * 365.25 / 12, 2)
    if ys[-1] >= capacity:
        return Forecast("full", per_month=per_month)
    if span < MIN_FORECAST_SPAN_DAYS:
        return Forecast("unknown")
    if slope <= 0:
        return Forecast("steady", per_month=per_month)
    reached = math.ceil((capacity - intercept) / slope)  # days after ``first``
    full_on = max(first + timedelta(days=reached), last + timedelta(days=1))
    if (full_on - last).days > horizon_days:
        return Forecast("steady", per_month=per_month)
    return Forecast("growing", full_on=full_on, per_month=per_month)


# ---- recording (the poller) ----------------------------------------------------------


class MemberLike(Protocol):
    id: int

    @property
    def group_names(self) -> list[str]: ...


def probes_used(member: MemberLike, snapshot) -> int:
    """Probes used by ``member`` in ``snapshot`` (enabled items of its host groups)."""
    return sum(snapshot.probe_counts.get(group, 0) for group in member.group_names)


def today() -> date:
    """Today in the portal's time zone (a day's row is the local day)."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


Written = dict[int, tuple[date, int, int]]  # member id -> (day, used, subscribed) stored


def record_day(
    members: Iterable[MemberLike],
    snapshot,
    day: date,
    *,
    written: Written | None = None,
    refresh: bool = True,
) -> int:
    """Store each member's probes used and subscribed on ``day``; tell quota crossings.

    ``written`` (kept by the caller between calls) holds what was stored: a member
    whose day and value are unchanged costs nothing. ``refresh=False`` also trusts it
    for the subscription (a quiet cycle then runs no query). Commits; returns how many
    rows were written.
    """
    written = {} if written is None else written
    used_of = {member.id: probes_used(member, snapshot) for member in members}
    todo = [
        member_id
        for member_id, used in used_of.items()
        if refresh or written.get(member_id, (None, None))[:2] != (day, used)
    ]
    if not todo:
        return 0
    subscriptions = {
        s.member_id: s
        for s in db.session.scalars(select(Subscription).where(Subscription.member_id.in_(todo)))
    }
    todo = [m for m in todo if (day, used_of[m], _probes(subscriptions.get(m))) != written.get(m)]
    if not todo:
        return 0
    rows = {
        r.member_id: r
        for r in db.session.scalars(
            select(ProbeUsageDay).where(ProbeUsageDay.day == day, ProbeUsageDay.member_id.in_(todo))
        )
    }
    warn = int(current_app.config["QUOTA_WARN_PERCENT"])
    stored: Written = {}
    count = 0
    for member_id in todo:
        used, subscription = used_of[member_id], subscriptions.get(member_id)
        subscribed = _probes(subscription)
        row = rows.get(member_id)
        if row is None:
            db.session.add(
                ProbeUsageDay(member_id=member_id, day=day, used=used, subscribed=subscribed)
            )
            count += 1
        elif (row.used, row.subscribed) != (used, subscribed):
            row.used, row.subscribed = used, subscribed
            count += 1
        if subscription is not None:
            _follow_quota(subscription, used, warn)
        stored[member_id] = (day, used, subscribed)
    db.session.commit()
    written.update(stored)  # only once it is stored: a failure is tried again
    return count


def _probes(subscription: Subscription | None) -> int:
    return subscription.probes if subscription is not None else 0


def _follow_quota(subscription: Subscription, used: int, warn: int) -> None:
    """Move ``quota_level`` to the member's level; tell when it went up (caller commits)."""
    level = level_of(used, subscription.probes, warn)
    if level == subscription.quota_level:
        return
    told = level_to_tell(subscription.quota_level, level)
    subscription.quota_level = level
    if told is None:
        logger.info("Member %s back to quota level %d", subscription.member_id, level)
        return
    member = subscription.member
    subject, body = quota_message(member, used, subscription.probes, subscription.pool_size)
    notices.tell(
        [*notices.member_admins(member), *notices.syndicate_admins()],
        # One key per crossing (the moment it is seen): quota_level, changed in the same
        # transaction, is what makes a level told once until the member goes back under.
        key=f"quota-{member.id}-{told}-{utcnow():%Y%m%dT%H%M%S%f}",
        kind="quota",
        subject=subject,
        body=body,
        path=f"/membres/{member.slug}/sondes",
        link_label=_("Voir les sondes"),
    )
    logger.info(
        "Member %s told of quota level %d (%d of %d)", member.slug, told, used, subscription.probes
    )


def quota_message(member: Member, used: int, subscribed: int, pool_size: int) -> tuple[str, str]:
    """Subject and body of a quota notice, in plain French."""
    percent = round(100 * used / subscribed) if subscribed else 0
    if used > subscribed:
        pools = math.ceil((used - subscribed) / pool_size) if pool_size else 0
        subject = _(
            "%(name)s dépasse ses sondes souscrites : %(used)d utilisées pour %(subscribed)d",
            name=member.name,
            used=used,
            subscribed=subscribed,
        )
        cover = ngettext(
            "%(num)d pool de %(size)d sondes couvrirait le dépassement.",
            "%(num)d pools de %(size)d sondes couvriraient le dépassement.",
            pools,
            size=pool_size,
        )
        body = " ".join(
            [
                _(
                    "%(used)d sondes utilisées pour %(subscribed)d souscrites :",
                    used=used,
                    subscribed=subscribed,
                ),
                cover,
                _("Rien n’est suspendu ni masqué : la supervision continue normalement."),
            ]
        )
        return subject, body
    subject = _(
        "%(name)s utilise %(percent)d %% de ses sondes (%(used)d sur %(subscribed)d)",
        name=member.name,
        percent=percent,
        used=used,
        subscribed=subscribed,
    )
    body = " ".join(
        [
            _(
                "%(name)s utilise %(used)d des %(subscribed)d sondes souscrites (%(percent)d %%).",
                name=member.name,
                used=used,
                subscribed=subscribed,
                percent=percent,
            ),
            _(
                "Un pool de %(size)d sondes supplémentaires peut être commandé depuis le portail.",
                size=pool_size,
            ),
        ]
    )
    return subject, body


class Recorder:
    """The poller's meter: :func:`record_day` with the memory of what it wrote.

    Called after each successful cycle with the cycle's members and snapshot. Re-reads
    the subscriptions every :data:`SUBSCRIPTIONS_REFRESH_S` seconds (an order made
    meanwhile), else only touches the database for members whose value changed.
    """

    def __init__(self, refresh_s: float = SUBSCRIPTIONS_REFRESH_S) -> None:
        self.written: Written = {}
        self.refresh_s = refresh_s
        self._refreshed_at: float | None = None

    def __call__(self, members: Iterable[MemberLike], snapshot) -> int:
        now = time.monotonic()
        refresh = self._refreshed_at is None or now - self._refreshed_at >= self.refresh_s
        members = list(members)
        try:
            count = record_day(members, snapshot, today(), written=self.written, refresh=refresh)
        except Exception:
            self.written.clear()  # what is stored is no longer known
            raise
        if refresh:
            self._refreshed_at = now
        return count


# ---- demo history --------------------------------------------------------------------

DEMO_HISTORY_DAYS = 548  # 18 months


def plausible_history(
    used: int, subscribed: int, days: int, seed: str, *, package: int, pool_size: int
) -> list[tuple[int, int]]:
    """(used, subscribed) of ``days`` days ending at ``used``: growth with noise, deterministic.

    Equipment arrives in batches on top of a steady drift, and a probe is sometimes
    switched off; the subscription grows by pools a little ahead of the use, never
    beyond today's ``subscribed``.

    >>> history = plausible_history(490, 500, 548, "42:sarralbe", package=100, pool_size=50)
    >>> len(history), history[-1][0], all(s <= 500 for _u, s in history)
    (548, 490, True)
    >>> history == plausible_history(490, 500, 548, "42:sarralbe", package=100, pool_size=50)
    True
    >>> history[0][0] < 400
    True
    """
    rng = random.Random(seed)
    start = used * rng.uniform(0.5, 0.7)
    steps = []
    for _day in range(days - 1):
        step = rng.gauss(1.0, 1.5)  # a probe added, another removed
        if rng.random() < 0.03:
            step += rng.uniform(8, 30)  # a new site, a new rack
        steps.append(step)
    total = sum(steps) or 1.0
    scale = (used - start) / total
    values, level = [start], start
    for step in steps:
        level += step * scale
        values.append(level)
    out, highest = [], 0
    for i, value in enumerate(values):
        probes = used if i == days - 1 else max(0, round(value))
        highest = max(highest, probes)
        pools = max(0, math.ceil((highest + pool_size // 2 - package) / pool_size))
        out.append((probes, min(subscribed, package + pools * pool_size)))
    return out


def backfill_demo_history(member: Member, used: int, seed: int, until: date | None = None) -> int:
    """Give a demo member :data:`DEMO_HISTORY_DAYS` days of history, if it has none; commits."""
    if db.session.scalar(select(ProbeUsageDay.id).where(ProbeUsageDay.member_id == member.id)):
        return 0
    subscription = member.subscription
    if subscription is None:
        return 0
    until = until or today()
    history = plausible_history(
        used,
        subscription.probes,
        DEMO_HISTORY_DAYS,
        f"{seed}:{member.slug}",
        package=subscription.package_probes,
        pool_size=subscription.pool_size,
    )
    first = until - timedelta(days=DEMO_HISTORY_DAYS)  # the last stored day: yesterday
    rows = [
        {"member_id": member.id, "day": first + timedelta(days=i), "used": u, "subscribed": s}
        for i, (u, s) in enumerate(history)
    ]
    db.session.execute(insert(ProbeUsageDay), rows)
    # The demo's subscription began with its history: its statements cover those years.
    began = datetime.combine(first, datetime.min.time(), UTC)
    if as_utc(subscription.created_at) > began:
        subscription.created_at = began
    db.session.commit()
    return len(rows)


# ---- reading (pages) -----------------------------------------------------------------


def trend(member: Member, days: int, until: date | None = None) -> list[ProbeUsageDay]:
    """The member's stored days, oldest first, from ``days`` days before ``until`` (today)."""
    until = until or today()
    return list(
        db.session.scalars(
            select(ProbeUsageDay)
            .where(
                ProbeUsageDay.member_id == member.id,
                ProbeUsageDay.day > until - timedelta(days=days),
                ProbeUsageDay.day <= until,
            )
            .order_by(ProbeUsageDay.day)
        )
    )


def forecast(member: Member, used: int | None = None, until: date | None = None) -> Forecast:
    """When ``member``'s subscription will be full, from its last :data:`FORECAST_DAYS` days.

    ``used``: today's live value, when known (it replaces today's stored row).
    """
    until = until or today()
    points = [(row.day, row.used) for row in trend(member, FORECAST_DAYS, until)]
    if used is not None:
        points = [p for p in points if p[0] != until] + [(until, used)]
    subscribed = member.subscription.probes if member.subscription else 0
    if not subscribed:
        return Forecast("unknown")
    return fill_forecast(points, subscribed)


@dataclass(frozen=True)
class OverQuota:
    member: Member
    used: int
    subscribed: int
    pool_size: int

    @property
    def excess(self) -> int:
        return self.used - self.subscribed

    @property
    def pools_needed(self) -> int:
        return math.ceil(self.excess / self.pool_size) if self.pool_size else 0

    @property
    def percent(self) -> int:
        return round(100 * self.used / self.subscribed) if self.subscribed else 0


def over_quota(snapshot) -> list[OverQuota]:
    """Members using more probes than they subscribed in ``snapshot``, largest excess first."""
    if snapshot is None:
        return []
    members = db.session.scalars(
        select(Member)
        .options(selectinload(Member.subscription), selectinload(Member.host_groups))
        .order_by(Member.name)
    )
    out = []
    for member in members:
        subscription = member.subscription
        used = probes_used(member, snapshot)
        if subscription is not None and used > subscription.probes:
            out.append(OverQuota(member, used, subscription.probes, subscription.pool_size))
    return sorted(out, key=lambda row: (-row.excess, row.member.name))
