"""Contributions: what each member owes the syndicate for a year (decision CSD 2024-314).

A member's subscription is a stack of *lots*, each with the rules it was bought under:

- the package (``package_probes``) and the pools held before any portal order
  (``base_pools``), at the subscription's price, from the day the subscription began;
- each additional-pool order once in force (``add``, active — or approved with its
  ``effective_on`` set), at the price, pool size and pro rata flag copied onto the order.

A lot costs its probes × its own price per year; in its first year, when its pro rata
flag is set, only the remaining months count (the month it starts in counts in full,
:func:`webapp.services.pricing.months_remaining`). **A lot never gets a later price**:
the price copied when it was bought stays with it for every year after, so a change of
the configured price only prices what is ordered after the change, and never rewrites
a past or a running amount.

A reduction (``reduce``, approved or active, ``effective_on`` the 1 January of year R)
removes pools from year R on, taking from the newest lots first (last in, first out:
the pools bought last go first) and never from the package. It is shown on the
statement as an informational line; it has no amount of its own.

Each line is rounded half up to the cent; the total is the sum of the lines. All
amounts are integer cents. :func:`compute_statement` is pure (plain values in, a
:class:`Statement` out); the functions after it read the database and call it.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Member
from webapp.models import PoolOrder
from webapp.models.choices import OrderKind
from webapp.models.choices import OrderState
from webapp.services.pricing import MONTHS
from webapp.services.pricing import months_remaining
from webapp.services.pricing import prorated_cents

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "Line",
    "LineKind",
    "Lot",
    "Reduction",
    "ReductionLine",
    "Statement",
    "all_statements",
    "available_years",
    "compute_statement",
    "member_inputs",
    "reduction_year",
    "statement",
    "today",
    "valid_year",
]

# Years a statement may be asked for; anything else is not found (never a 500).
FIRST_YEAR = 2000
LAST_YEAR = 2100


class LineKind(enum.StrEnum):
    PACKAGE = "package"  # the minimum package
    BASE_POOLS = "base_pools"  # pools held before any portal order
    POOLS = "pools"  # an additional-pool order


@dataclass(frozen=True)
class Lot:
    """Probes bought together, under one set of rules, in force from ``start``."""

    kind: LineKind
    start: date
    probes_fixed: int  # probes that no reduction can remove (the package), else 0
    pools: int
    pool_size: int
    price_per_probe_cents: int
    prorata: bool
    order_id: int | None = None

    @property
    def key(self) -> tuple:
        return (self.start, self.kind != LineKind.PACKAGE, self.order_id or 0)


@dataclass(frozen=True)
class Reduction:
    """A reduction order: ``pools`` fewer from the 1 January of :func:`reduction_year` on."""

    order_id: int | None
    effective_on: date
    pools: int


@dataclass(frozen=True)
class Line:
    """One lot's part of a year's contribution."""

    kind: LineKind
    start: date
    order_id: int | None
    pools: int  # pools of this lot in force during the year (after reductions)
    pools_bought: int
    probes: int
    price_per_probe_cents: int
    months: int  # twelfths of the year charged
    prorated: bool  # True when ``months`` < 12 because of the pro rata
    yearly_cents: int  # the full-year amount of these probes
    amount_cents: int  # what this year's statement calls


@dataclass(frozen=True)
class ReductionLine:
    """A reduction shown on the statement (informational: no amount of its own)."""

    order_id: int | None
    year: int  # the first year without these pools
    pools: int  # asked for
    applied: int  # actually removed (never below the package)
    taken_from: tuple[tuple[LineKind, int | None, int], ...]  # (lot kind, order id, pools)
    upcoming: bool  # takes effect on the next 1 January (shown the year before)


@dataclass(frozen=True)
class Statement:
    year: int
    start: date | None  # the subscription's first day (None: no subscription)
    lines: tuple[Line, ...] = ()
    reductions: tuple[ReductionLine, ...] = ()
    total_cents: int = 0
    before_start: bool = False  # the year is before the subscription: nothing is owed

    @property
    def probes(self) -> int:
        """Probes in force at the end of the year (sum of the lines)."""
        return sum(line.probes for line in self.lines)

    @property
    def pools(self) -> int:
        return sum(line.pools for line in self.lines)

    def cents_of(self, *kinds: LineKind) -> int:
        return sum(line.amount_cents for line in self.lines if line.kind in kinds)


def reduction_year(effective_on: date) -> int:
    """First year without the reduced pools: ``effective_on``'s, if it is a 1 January.

    A reduction is made effective on a 1 January; any other date takes effect on the
    1 January after it (a year already started is never reduced).

    >>> reduction_year(date(2027, 1, 1)), reduction_year(date(2026, 6, 30))
    (2027, 2027)
    """
    if (effective_on.month, effective_on.day) == (1, 1):
        return effective_on.year
    return effective_on.year + 1


def valid_year(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def compute_statement(
    year: int, start: date | None, lots: list[Lot], reductions: list[Reduction]
) -> Statement:
    """The statement of ``year`` for a subscription begun on ``start`` (pure).

    >>> package = Lot(LineKind.PACKAGE, date(2026, 3, 2), 100, 0, 50, 100, True)
    >>> s = compute_statement(2026, date(2026, 3, 2), [package], [])
    >>> [(line.months, line.amount_cents) for line in s.lines], s.total_cents
    ([(10, 8333)], 8333)
    """
    if start is None or year < start.year:
        return Statement(year=year, start=start, before_start=start is not None)
    ordered = sorted(lots, key=lambda lot: lot.key)
    removed: dict[tuple, list[tuple[int, int]]] = defaultdict(list)  # lot key → (year, pools)
    shown: list[ReductionLine] = []
    for reduction in sorted(reductions, key=lambda r: (r.effective_on, r.order_id or 0)):
        first_year = reduction_year(reduction.effective_on)
        if first_year > year + 1:
            continue
        left, taken = reduction.pools, []
        cutoff = date(first_year, 1, 1)
        for lot in reversed(ordered):  # newest first
            if left <= 0:
                break
            if lot.start >= cutoff or lot.pools == 0:
                continue
            still = lot.pools - sum(p for _, p in removed[lot.key])
            take = min(still, left)
            if take > 0:
                removed[lot.key].append((first_year, take))
                taken.append((lot.kind, lot.order_id, take))
                left -= take
        if first_year >= year:
            shown.append(
                ReductionLine(
                    order_id=reduction.order_id,
                    year=first_year,
                    pools=reduction.pools,
                    applied=reduction.pools - left,
                    taken_from=tuple(taken),
                    upcoming=first_year == year + 1,
                )
            )
    lines = []
    for lot in ordered:
        if lot.start.year > year:
            continue
        pools = lot.pools - sum(p for y, p in removed[lot.key] if y <= year)
        probes = lot.probes_fixed + pools * lot.pool_size
        if probes <= 0:
            continue
        months = months_remaining(lot.start) if lot.start.year == year and lot.prorata else MONTHS
        lines.append(
            Line(
                kind=lot.kind,
                start=lot.start,
                order_id=lot.order_id,
                pools=pools,
                pools_bought=lot.pools,
                probes=probes,
                price_per_probe_cents=lot.price_per_probe_cents,
                months=months,
                prorated=months < MONTHS,
                yearly_cents=probes * lot.price_per_probe_cents,
                amount_cents=prorated_cents(probes, lot.price_per_probe_cents, months),
            )
        )
    return Statement(
        year=year,
        start=start,
        lines=tuple(lines),
        reductions=tuple(shown),
        total_cents=sum(line.amount_cents for line in lines),
    )


# ---- reading the database -------------------------------------------------------------


@dataclass(frozen=True)
class MemberInputs:
    """What :func:`compute_statement` needs for one member, read once."""

    member: Member
    start: date | None
    lots: list[Lot]
    reductions: list[Reduction]

    def statement(self, year: int) -> Statement:
        return compute_statement(year, self.start, self.lots, self.reductions)


def _local_date(moment: datetime) -> date:
    from webapp.presenters.clock import local  # the portal's one clock (VIGIE_TIMEZONE)

    return local(moment).date()


def today() -> date:
    """Today in the syndicate's time zone."""
    return _local_date(datetime.now(UTC))


def _order_start(order: PoolOrder) -> date | None:
    if order.effective_on is not None:
        return order.effective_on
    if order.activated_at is not None:
        return _local_date(order.activated_at)
    return None


def _inputs(member: Member, orders: list[PoolOrder], package_prorata: bool) -> MemberInputs:
    sub = member.subscription
    if sub is None:
        return MemberInputs(member=member, start=None, lots=[], reductions=[])
    start = _local_date(sub.created_at)
    price = sub.price_per_probe_eur * 100
    lots = [
        Lot(LineKind.PACKAGE, start, sub.package_probes, 0, sub.pool_size, price, package_prorata)
    ]
    if sub.base_pools:
        lots.append(
            Lot(
                LineKind.BASE_POOLS, start, 0, sub.base_pools, sub.pool_size, price, package_prorata
            )
        )
    reductions = []
    for order in orders:
        if order.kind == OrderKind.ADD:
            in_force = order.state == OrderState.ACTIVE or (
                order.state == OrderState.APPROVED and order.effective_on is not None
            )
            begins = _order_start(order) if in_force else None
            if begins is not None:
                lots.append(
                    Lot(
                        kind=LineKind.POOLS,
                        start=max(begins, start),
                        probes_fixed=0,
                        pools=order.pools,
                        pool_size=order.pool_size,
                        price_per_probe_cents=order.price_per_probe_cents,
                        prorata=order.prorata,
                        order_id=order.id,
                    )
                )
        elif order.state in (OrderState.APPROVED, OrderState.ACTIVE) and order.effective_on:
            reductions.append(Reduction(order.id, order.effective_on, order.pools))
    return MemberInputs(member=member, start=start, lots=lots, reductions=reductions)


def _package_prorata() -> bool:
    from webapp.services.pricing import current_rules

    return current_rules().prorata


def _orders_by_member(member_ids: list[int] | None) -> dict[int, list[PoolOrder]]:
    query = select(PoolOrder).where(PoolOrder.state.in_([OrderState.APPROVED, OrderState.ACTIVE]))
    if member_ids is not None:
        query = query.where(PoolOrder.member_id.in_(member_ids))
    grouped: dict[int, list[PoolOrder]] = defaultdict(list)
    for order in db.session.execute(query.order_by(PoolOrder.id)).scalars():
        grouped[order.member_id].append(order)
    return grouped


def member_inputs(member: Member) -> MemberInputs:
    """One member's lots and reductions (two queries)."""
    orders = _orders_by_member([member.id]).get(member.id, [])
    return _inputs(member, orders, _package_prorata())


def statement(member: Member, year: int) -> Statement:
    """``member``'s statement for ``year`` (``year`` checked by :func:`valid_year` first)."""
    return member_inputs(member).statement(year)


def all_inputs() -> list[MemberInputs]:
    """Every member's lots and reductions, by member name (a few queries in all)."""
    from sqlalchemy.orm import selectinload

    members = db.session.execute(
        select(Member).options(selectinload(Member.subscription)).order_by(Member.name)
    ).scalars()
    orders = _orders_by_member(None)
    prorata = _package_prorata()
    return [_inputs(m, orders.get(m.id, []), prorata) for m in members]


def all_statements(year: int) -> list[tuple[Member, Statement]]:
    """Every member's statement for ``year``, by member name (the finance export)."""
    return [(inputs.member, inputs.statement(year)) for inputs in all_inputs()]


def available_years(start: date | None, today: date) -> list[int]:
    """Years a member may pick: from its subscription's first year to next year.

    >>> available_years(date(2025, 5, 1), date(2026, 2, 1))
    [2025, 2026, 2027]
    """
    first = start.year if start else today.year
    return list(range(max(first, FIRST_YEAR), min(today.year + 1, LAST_YEAR) + 1))
