"""The service's own dashboard: probes against the committee's plan, contributions against
the service's yearly cost, and the year the two break even — actual and forecast.

Definitions (the page says them too):

- *probes in service now*: the sum of the probes each member uses in the live snapshot;
- *probes of a year*: for each member, its last daily usage row of that year
  (:class:`webapp.models.ProbeUsageDay`), summed — the year-end level for a closed
  year, the latest level for the year in progress;
- *contributions called*: the sum of every member's statement for the year
  (:mod:`webapp.services.contributions`), for the years up to the current one;
- *cost*: ``SERVICE_YEARLY_COST_EUR`` for each year from ``SERVICE_START_YEAR``;
- *forecast*, for the years after the current one, two ways: **from the plan** (the
  plan's probes for the year × today's price per probe; after the plan's last year
  its last target is held) and **at constant subscriptions** (every member's statement
  of that year as subscribed today, approved reductions included);
- *break-even*: the first year whose cumulative contributions reach the cumulative cost.

Amounts are integer cents. :func:`plan_targets` and :func:`balance` are pure.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ProbeUsageDay
from webapp.services import billing
from webapp.services import contributions
from webapp.services import overview
from webapp.services.pricing import current_rules
from webapp.services.pricing import euros_to_cents

__all__ = [
    "Balance",
    "Dashboard",
    "MemberFigure",
    "YearRow",
    "balance",
    "dashboard",
    "plan_targets",
]

logger = logging.getLogger(__name__)

MAX_HORIZON_YEARS = 12  # from the service's first year: the forecast never runs further
LARGEST = 10


def plan_targets(value: object) -> dict[int, int]:
    """The committee's yearly targets, from a mapping or its JSON text.

    >>> plan_targets('{"2024": 1000, "2025": 3000}')
    {2024: 1000, 2025: 3000}
    >>> plan_targets({"2026": "5000"})
    {2026: 5000}
    """
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, dict):
        raise ValueError(f"PLAN_TARGETS is not a mapping of years to probes: {value!r}")
    targets = {}
    for year, probes in value.items():
        year, probes = int(year), int(probes)
        if probes < 0 or not contributions.valid_year(year):
            raise ValueError(f"PLAN_TARGETS: bad entry {year!r}: {probes!r}")
        targets[year] = probes
    return dict(sorted(targets.items()))


@dataclass(frozen=True)
class YearRow:
    year: int
    forecast: bool  # after the current year
    target: int | None  # the plan's probes (None: no target that year)
    probes: int | None  # actual: members' last daily rows of the year, summed
    called_cents: int | None  # actual: the statements' total (None for future years)
    plan_cents: int | None  # forecast from the plan (future years)
    constant_cents: int | None  # forecast at constant subscriptions (future years)
    cost_cents: int
    cumulative_cost_cents: int
    cumulative_plan_cents: int  # actual, then the plan's forecast
    cumulative_constant_cents: int  # actual, then constant subscriptions


@dataclass(frozen=True)
class Balance:
    rows: tuple[YearRow, ...]
    actual_year: int | None  # break-even reached by what was called (up to this year)
    plan_year: int | None  # … forecast from the plan
    constant_year: int | None  # … forecast at constant subscriptions


def balance(
    *,
    first_year: int,
    current_year: int,
    yearly_cost_cents: int,
    targets: dict[int, int],
    price_per_probe_cents: int,
    probes: dict[int, int],
    called: dict[int, int],
    constant: dict[int, int],
    last_year: int,
) -> Balance:
    """Year rows from ``first_year`` to ``last_year`` and the break-even years (pure).

    ``called``: the statements' totals up to ``current_year``; ``constant``: the
    statements of later years at today's subscriptions.

    >>> b = balance(first_year=2024, current_year=2024, yearly_cost_cents=330_000,
    ...             targets={2024: 1000, 2025: 3000, 2026: 5000}, price_per_probe_cents=100,
    ...             probes={}, called={2024: 100_000}, constant={}, last_year=2028)
    >>> b.plan_year, b.actual_year, b.constant_year
    (2027, None, None)
    """
    last_target = None
    rows = []
    cost = plan = steady = 0
    actual_year = plan_year = constant_year = None
    for year in range(first_year, last_year + 1):
        if year in targets:
            last_target = targets[year]
        target = targets.get(year, last_target if year > max(targets, default=year) else None)
        future = year > current_year
        cost += yearly_cost_cents
        if future:
            plan_cents = target * price_per_probe_cents if target is not None else 0
            constant_cents = constant.get(year, 0)
            plan += plan_cents
            steady += constant_cents
            called_cents = None
        else:
            plan_cents = constant_cents = None
            called_cents = called.get(year, 0)
            plan += called_cents
            steady += called_cents
            if actual_year is None and plan >= cost:
                actual_year = year
        if plan_year is None and plan >= cost:
            plan_year = year
        if constant_year is None and steady >= cost:
            constant_year = year
        rows.append(
            YearRow(
                year=year,
                forecast=future,
                target=target,
                probes=None if future else probes.get(year),
                called_cents=called_cents,
                plan_cents=plan_cents,
                constant_cents=constant_cents,
                cost_cents=yearly_cost_cents,
                cumulative_cost_cents=cost,
                cumulative_plan_cents=plan,
                cumulative_constant_cents=steady,
            )
        )
    return Balance(
        rows=tuple(rows),
        actual_year=actual_year,
        plan_year=plan_year,
        constant_year=constant_year,
    )


# ---- reading the database and the live snapshot ---------------------------------------


@dataclass(frozen=True)
class MemberFigure:
    slug: str
    name: str
    kind: str
    used: int | None
    subscribed: int
    pools_needed: int


@dataclass(frozen=True)
class Dashboard:
    today: date
    balance: Balance
    targets: dict[int, int]
    plan_error: str | None  # the configured plan could not be read
    price_per_probe_cents: int
    yearly_cost_cents: int
    used_now: int  # live snapshot, members with data
    members_without_data: int
    subscribed_now: int
    members: int
    by_kind: tuple[tuple[str, int, int, int], ...]  # (kind, members, subscribed, used)
    over_quota: tuple[MemberFigure, ...]
    largest: tuple[MemberFigure, ...]


def probes_by_year(years: list[int]) -> dict[int, int]:
    """For each year: every member's last daily row of that year, summed (one query a year)."""
    totals = {}
    for year in years:
        last = (
            select(ProbeUsageDay.member_id, func.max(ProbeUsageDay.day).label("day"))
            .where(ProbeUsageDay.day.between(date(year, 1, 1), date(year, 12, 31)))
            .group_by(ProbeUsageDay.member_id)
            .subquery()
        )
        total, rows = db.session.execute(
            select(func.sum(ProbeUsageDay.used), func.count()).join(
                last,
                (ProbeUsageDay.member_id == last.c.member_id) & (ProbeUsageDay.day == last.c.day),
            )
        ).one()
        if rows:
            totals[year] = int(total or 0)
    return totals


def _configured_plan() -> tuple[dict[int, int], str | None]:
    try:
        return plan_targets(current_app.config["PLAN_TARGETS"]), None
    except (ValueError, TypeError) as exc:
        logger.warning("PLAN_TARGETS unreadable: %s", exc)
        return {}, str(exc)


def dashboard(today: date | None = None) -> Dashboard:
    """Everything ``/admin/service`` shows."""
    today = today or contributions.today()
    config = current_app.config
    targets, plan_error = _configured_plan()
    first_year = int(config["SERVICE_START_YEAR"])
    yearly_cost = euros_to_cents(config["SERVICE_YEARLY_COST_EUR"])
    price = current_rules().price_per_probe_cents

    inputs = contributions.all_inputs()
    figures = []
    for item in inputs:
        status = overview.status_of(item.member)
        usage = billing.usage(item.member, status.probes_used if status else None)
        figures.append(
            MemberFigure(
                slug=item.member.slug,
                name=item.member.name,
                kind=item.member.kind,
                used=usage.used,
                subscribed=usage.subscribed,
                pools_needed=usage.pools_needed,
            )
        )

    current = max(today.year, first_year - 1)
    horizon = first_year + MAX_HORIZON_YEARS - 1
    actual_years = list(range(first_year, current + 1))

    def totals(years: list[int]) -> dict[int, int]:
        return {y: sum(item.statement(y).total_cents for item in inputs) for y in years}

    arguments = {
        "first_year": first_year,
        "current_year": current,
        "yearly_cost_cents": yearly_cost,
        "targets": targets,
        "price_per_probe_cents": price,
        "probes": probes_by_year(actual_years),
        "called": totals(actual_years),
        "constant": totals(list(range(current + 1, horizon + 1))),
    }
    full = balance(**arguments, last_year=horizon)
    # Shown: the plan's years, next year, and on until both forecasts break even (or the
    # horizon, when one never does).
    last_year = max(current + 1, first_year + 2, *targets)
    for year in (full.plan_year, full.constant_year):
        last_year = max(last_year, year if year is not None else horizon)
    result = balance(**arguments, last_year=min(last_year, horizon))

    members_by_kind = Counter(f.kind for f in figures)
    by_kind = tuple(
        (
            kind,
            count,
            sum(f.subscribed for f in figures if f.kind == kind),
            sum(f.used or 0 for f in figures if f.kind == kind),
        )
        for kind, count in sorted(members_by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    over = sorted(
        (f for f in figures if f.used is not None and f.used > f.subscribed),
        key=lambda f: (f.subscribed - f.used, f.name),
    )
    largest = sorted(figures, key=lambda f: (-f.subscribed, -(f.used or 0), f.name))[:LARGEST]
    with_data = [f for f in figures if f.used is not None]
    return Dashboard(
        today=today,
        balance=result,
        targets=targets,
        plan_error=plan_error,
        price_per_probe_cents=price,
        yearly_cost_cents=yearly_cost,
        used_now=sum(f.used for f in with_data),
        members_without_data=len(figures) - len(with_data),
        subscribed_now=sum(f.subscribed for f in figures),
        members=len(figures),
        by_kind=by_kind,
        over_quota=tuple(over),
        largest=tuple(largest),
    )
