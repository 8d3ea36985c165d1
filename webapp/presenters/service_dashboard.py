"""``/admin/service``: figures worded and formatted, and the geometry of its two SVG charts.

The charts are drawn by the template from the coordinates computed here (no chart
library, no script); each has a title, a description and the data table beside it,
and tells its series apart by shape and line style as well as colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import format_currency
from flask_babel import format_decimal
from flask_babel import format_percent
from flask_babel import gettext as _

from webapp.models.choices import MEMBER_KIND_LABELS
from webapp.services.service_dashboard import Dashboard

__all__ = ["page_context", "nice_ceiling"]

# Chart frame, in viewBox units: small enough that its 13-unit text stays legible once
# scaled down to a phone, and scaled up on a wall.
WIDTH, HEIGHT = 400, 250
LEFT, RIGHT, TOP, BOTTOM = 72, 10, 16, 30
TICKS = 4


def euros(cents: int | None) -> str:
    if cents is None:
        return "—"
    return format_currency(Decimal(cents) / 100, "EUR")


def whole_euros(cents: int) -> str:
    """« 13 200 € »: axis labels, without cents."""
    return format_currency(
        Decimal(cents // 100), "EUR", format="#,##0\u00a0¤", currency_digits=False
    )


def number(value: int | None) -> str:
    return "—" if value is None else format_decimal(value)


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (an axis's top).

    >>> nice_ceiling(0), nice_ceiling(3300), nice_ceiling(5000), nice_ceiling(12_001)
    (1, 5000, 5000, 20000)
    """
    if value <= 1:
        return 1
    magnitude = 1
    while magnitude * 10 < value:
        magnitude *= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return int(step * magnitude)
    return 10 * magnitude  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Series:
    css: str  # chart__line--cost, --called, --plan, --constant
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        return " ".join(
            ("M" if i == 0 else "L") + f"{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points)
        )


def _frame(top_value: int, fmt) -> tuple[list[Tick], callable]:
    plot_h = HEIGHT - TOP - BOTTOM

    def y_of(value: int) -> float:
        return TOP + plot_h - plot_h * value / top_value

    ticks = [
        Tick(y_of(top_value * i // TICKS), fmt(top_value * i // TICKS)) for i in range(TICKS + 1)
    ]
    return ticks, y_of


def _x_labels(years: list[int], slot: float) -> list[tuple[float, str]]:
    """A label under each year, or every other year when they would not fit."""
    every = 1 if len(years) <= 8 else 2
    return [(LEFT + slot * (i + 0.5), str(year)) for i, year in enumerate(years) if i % every == 0]


def probes_chart(rows) -> dict:
    """Grouped bars: the plan's target (outlined, dashed) and the actual probes (solid)."""
    rows = [r for r in rows if r.target is not None or r.probes is not None]
    if not rows:
        return {}
    top = nice_ceiling(max(max(r.target or 0, r.probes or 0) for r in rows))
    ticks, y_of = _frame(top, format_decimal)
    slot = (WIDTH - LEFT - RIGHT) / len(rows)
    bar_w = min(slot * 0.36, 40)
    bars_target, bars_actual = [], []
    for i, row in enumerate(rows):
        middle = LEFT + slot * (i + 0.5)
        if row.target is not None:
            y = y_of(row.target)
            bars_target.append(
                Bar(
                    middle - bar_w - 1,
                    y,
                    bar_w,
                    TOP + (HEIGHT - TOP - BOTTOM) - y,
                    number(row.target),
                )
            )
        if row.probes is not None:
            y = y_of(row.probes)
            bars_actual.append(
                Bar(middle + 1, y, bar_w, TOP + (HEIGHT - TOP - BOTTOM) - y, number(row.probes))
            )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "base": HEIGHT - BOTTOM,
        "ticks": ticks,
        "years": _x_labels([r.year for r in rows], slot),
        "targets": bars_target,
        "actual": bars_actual,
    }


def balance_chart(balance) -> dict:
    """Lines: cumulative cost, cumulative contributions called, and the two forecasts."""
    rows = list(balance.rows)
    if not rows:
        return {}
    top = nice_ceiling(
        max(
            max(r.cumulative_cost_cents, r.cumulative_plan_cents, r.cumulative_constant_cents)
            for r in rows
        )
    )
    ticks, y_of = _frame(top, whole_euros)
    slot = (WIDTH - LEFT - RIGHT) / len(rows)

    def x_of(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    actual = [(i, r) for i, r in enumerate(rows) if not r.forecast]
    future = [(i, r) for i, r in enumerate(rows) if r.forecast]
    # The forecasts start from the last actual point, so that the lines join.
    joined = actual[-1:] + future
    series = [
        Series(
            "cost", tuple(Point(x_of(i), y_of(r.cumulative_cost_cents)) for i, r in enumerate(rows))
        ),
        Series("called", tuple(Point(x_of(i), y_of(r.cumulative_plan_cents)) for i, r in actual)),
    ]
    if future:
        series += [
            Series("plan", tuple(Point(x_of(i), y_of(r.cumulative_plan_cents)) for i, r in joined)),
            Series(
                "constant",
                tuple(Point(x_of(i), y_of(r.cumulative_constant_cents)) for i, r in joined),
            ),
        ]
    marks = []
    plan_year = balance.plan_year if balance.plan_year != balance.actual_year else None
    for year, css, label in (
        (balance.actual_year, "actual", _("Équilibre : %(year)d", year=balance.actual_year or 0)),
        (plan_year, "plan", _("Équilibre (plan) : %(year)d", year=plan_year or 0)),
    ):
        if year is None:
            continue
        x = x_of(year - rows[0].year)
        # Left of the line when the text fits there (about 7.5 units a character), else right.
        fits_left = x - 6 - len(label) * 7.5 >= LEFT
        marks.append(
            {
                "x": x,
                "css": css,
                "label": label,
                "anchor": "end" if fits_left else "start",
                "text_x": x - 6 if fits_left else x + 6,
                "text_y": TOP + 34 + 18 * len(marks),  # under the top grid line
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "base": HEIGHT - BOTTOM,
        "ticks": ticks,
        "years": _x_labels([r.year for r in rows], slot),
        "series": series,
        "marks": marks,
    }


def _break_even_sentence(balance, last_year: int) -> dict:
    if balance.actual_year is not None:
        headline = _("Équilibre atteint en %(year)d", year=balance.actual_year)
    elif balance.plan_year is not None:
        headline = _("Équilibre prévu en %(year)d (selon le plan)", year=balance.plan_year)
    else:
        headline = _("Équilibre non atteint d’ici %(year)d selon le plan", year=last_year)
    if balance.constant_year is not None:
        constant = _(
            "À abonnements constants, l’équilibre serait atteint en %(year)d.",
            year=balance.constant_year,
        )
    else:
        constant = _(
            "À abonnements constants, l’équilibre ne serait pas atteint d’ici %(year)d.",
            year=last_year,
        )
    return {"headline": headline, "constant": constant}


def page_context(data: Dashboard) -> dict:
    """Everything ``admin/service.html`` shows, formatted."""
    rows = data.balance.rows
    current = next((r for r in rows if r.year == data.today.year), None)
    # The plan's chart and table: its own years and those already lived, not the years
    # after the plan where its last target is only held for the forecast.
    plan_end = max([data.today.year, *data.targets])
    plan_years = [r for r in rows if r.year <= plan_end]
    target_now = current.target if current else None
    last_year = rows[-1].year if rows else data.today.year
    plan_rows = [
        {
            "year": r.year,
            "target": number(r.target),
            "probes": number(r.probes) if not r.forecast else _("à venir"),
            "share": format_percent(r.probes / r.target)
            if r.probes is not None and r.target
            else "—",
        }
        for r in plan_years
        if r.target is not None or r.probes is not None
    ]
    money_rows = [
        {
            "year": r.year,
            "forecast": r.forecast,
            "cost": euros(r.cost_cents),
            "called": euros(r.called_cents) if not r.forecast else "—",
            "plan": euros(r.plan_cents) if r.forecast else "—",
            "constant": euros(r.constant_cents) if r.forecast else "—",
            "cumulative_cost": euros(r.cumulative_cost_cents),
            "cumulative_plan": euros(r.cumulative_plan_cents),
            "cumulative_constant": euros(r.cumulative_constant_cents),
            "gap": euros(r.cumulative_plan_cents - r.cumulative_cost_cents),
            "ahead": r.cumulative_plan_cents >= r.cumulative_cost_cents,
        }
        for r in rows
    ]
    return {
        "today": data.today,
        "used_now": number(data.used_now),
        "subscribed_now": number(data.subscribed_now),
        "members_without_data": data.members_without_data,
        "members": data.members,
        "target_now": number(target_now) if target_now is not None else None,
        "target_share": format_percent(data.used_now / target_now) if target_now else None,
        "called_now": euros(current.called_cents) if current else euros(0),
        "yearly_cost": euros(data.yearly_cost_cents),
        "price": euros(data.price_per_probe_cents),
        "plan_error": data.plan_error,
        "plan_targets": [(year, number(probes)) for year, probes in data.targets.items()],
        "break_even": _break_even_sentence(data.balance, last_year),
        "last_year": last_year,
        "plan_rows": plan_rows,
        "money_rows": money_rows,
        "probes_chart": probes_chart(plan_years),
        "balance_chart": balance_chart(data.balance),
        "by_kind": [
            {
                "label": MEMBER_KIND_LABELS.get(kind, kind),
                "members": count,
                "subscribed": number(subscribed),
                "used": number(used),
            }
            for kind, count, subscribed, used in data.by_kind
        ],
        "over_quota": [
            {
                "slug": f.slug,
                "name": f.name,
                "used": number(f.used),
                "subscribed": number(f.subscribed),
                "excess": number(f.used - f.subscribed),
                "pools_needed": f.pools_needed,
            }
            for f in data.over_quota
        ],
        "largest": [
            {
                "slug": f.slug,
                "name": f.name,
                "kind": MEMBER_KIND_LABELS.get(f.kind, f.kind),
                "used": number(f.used),
                "subscribed": number(f.subscribed),
                "percent": format_percent(f.used / f.subscribed)
                if f.used is not None and f.subscribed
                else "—",
            }
            for f in data.largest
        ],
    }
