"""The probe meter's pages: sentences, the trend chart's geometry and its data table.

The chart is drawn by the server as SVG. Its lines live in an inner ``<svg>`` whose
``viewBox`` is stretched to the plot (coordinates 0–1000 on both axes, strokes that do
not scale), and its labels in the outer one at percentage positions: the text keeps
its size from a phone to a wall screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask import current_app
from flask import url_for
from flask_babel import format_date
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from webapp.live.monitor import get_monitor
from webapp.models import Member
from webapp.models.choices import MemberRole
from webapp.services import billing
from webapp.services import meter
from webapp.services import overview

CHART_DAYS = 548  # 18 months
MAX_POINTS = 200  # points of the "used" line at most (a point every few days)
SCALE = 1000  # the plot's own coordinates, on both axes
PLOT_TOP = 8.0  # % of the chart's height above the plot (the top label)
PLOT_HEIGHT = 78.0  # % of the chart's height


@dataclass(frozen=True)
class Tick:
    label: str
    at: float  # % along the axis
    major: bool = True
    anchor: str = "middle"


@dataclass(frozen=True)
class MonthRow:
    label: str
    used: int
    subscribed: int
    percent: int | None


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    used_points: str
    subscribed_points: str
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    plot_top: float = PLOT_TOP
    plot_height: float = PLOT_HEIGHT


def number(value: int) -> str:
    """« 1 234 »: French digit grouping."""
    return format_decimal(value, format="#,##0")


def order_url(member: Member) -> str:
    """The pool order page of ``member`` (a plain path until that page is registered)."""
    if "probes.order_new" in current_app.view_functions:
        return url_for("probes.order_new", slug=member.slug)
    return f"/membres/{member.slug}/commandes/nouvelle"


def can_order(member: Member) -> bool:
    """Whether the signed-in user is an administrator of ``member`` (who orders pools)."""
    return bool(
        current_user.is_authenticated
        and not current_user.is_staff
        and current_user.role_in(member) == MemberRole.MEMBER_ADMIN
    )


def usage_sentence(usage: billing.Usage) -> str:
    used = number(usage.used) if usage.used is not None else "—"
    text = _(
        "%(used)s sondes utilisées sur %(subscribed)s souscrites",
        used=used,
        subscribed=number(usage.subscribed),
    )
    if usage.percent is not None:
        text += f" ({usage.percent}\u00a0%)"
    return text + "."


def subscription_sentence(package: int, usage: billing.Usage) -> str:
    """« Souscription : forfait de 100 sondes et 8 pools de 50 sondes. »"""
    if not usage.pools:
        return _(
            "Souscription : forfait de %(package)s sondes, sans pool supplémentaire.",
            package=number(package),
        )
    return ngettext(
        "Souscription : forfait de %(package)s sondes et %(num)d pool de %(size)d sondes.",
        "Souscription : forfait de %(package)s sondes et %(num)d pools de %(size)d sondes.",
        usage.pools,
        package=number(package),
        size=usage.pool_size,
    )


def over_sentence(usage: billing.Usage) -> str | None:
    """« 520 sondes utilisées pour 500 souscrites : 1 pool de 50 sondes couvrirait… »."""
    if not usage.over:
        return None
    return ngettext(
        "%(used)s sondes utilisées pour %(subscribed)s souscrites : %(num)d pool de %(size)d "
        "sondes couvrirait le dépassement.",
        "%(used)s sondes utilisées pour %(subscribed)s souscrites : %(num)d pools de %(size)d "
        "sondes couvriraient le dépassement.",
        usage.pools_needed,
        used=number(usage.used),
        subscribed=number(usage.subscribed),
        size=usage.pool_size,
    )


def forecast_sentence(forecast: meter.Forecast, usage: billing.Usage) -> str:
    if forecast.state == "full":
        if usage.over:
            return _("Vos sondes souscrites sont déjà toutes utilisées, et au-delà.")
        return _("Vos sondes souscrites sont déjà toutes utilisées.")
    if forecast.state == "growing" and forecast.full_on is not None:
        return _(
            "Au rythme actuel (environ %(rate)s sondes de plus par mois), vos sondes souscrites "
            "seront toutes utilisées vers le %(day)s.",
            rate=number(max(1, round(forecast.per_month))),
            day=format_date(forecast.full_on, "long"),
        )
    if forecast.state == "steady":
        return _(
            "Votre nombre de sondes est stable ou en baisse sur les trois derniers mois : "
            "aucune date de saturation n’est en vue."
        )
    return _(
        "Pas encore assez de jours relevés pour une prévision (il en faut au moins %(n)d).",
        n=meter.MIN_FORECAST_SPAN_DAYS,
    )


def usage_links(member: Member, usage: billing.Usage) -> dict:
    """What the member home's usage block links to and says (template global)."""
    return {
        "meter": url_for("probes.meter", slug=member.slug),
        "over": over_sentence(usage),
        "order": order_url(member) if can_order(member) else None,
        "orders": url_for("probes.orders_list", slug=member.slug) if can_order(member) else None,
        "contributions": url_for("probes.contributions_index", slug=member.slug)
        if can_order(member)
        else None,
    }


# ---- the chart -------------------------------------------------------------------------


def nice_step(top: float, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 × 10ⁿ) giving about ``ticks`` intervals up to ``top``.

    >>> nice_step(540), nice_step(180), nice_step(3), nice_step(0)
    (200, 50, 1, 1)
    """
    if top <= 0:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return max(1, int(factor * power))
    return max(1, int(10 * power))  # pragma: no cover - the loop always returns


def _month_label(day: date) -> str:
    return format_date(day, "MMM yyyy")


def _series(points: list[tuple[date, int, int]]) -> list[tuple[date, int, int]]:
    """At most :data:`MAX_POINTS` days: the last of each run of days (keeps the ends)."""
    step = max(1, math.ceil(len(points) / MAX_POINTS))
    if step == 1:
        return points
    kept = points[step - 1 :: step]
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return [points[0], *kept] if kept[0] != points[0] else kept


def build_chart(member: Member, points: list[tuple[date, int, int]]) -> Chart | None:
    """The chart of ``points`` (day, used, subscribed), oldest first; None without two days."""
    if len(points) < 2:
        return None
    first, last = points[0][0], points[-1][0]
    span = max(1, (last - first).days)
    top_value = max(max(u, s) for _d, u, s in points)
    step = nice_step(top_value * 1.05)
    y_max = step * math.ceil(top_value * 1.05 / step) or 1

    def x(day: date) -> int:
        return round((day - first).days / span * SCALE)

    def y(value: int) -> int:
        return round(SCALE - value / y_max * SCALE)

    series = _series(points)
    used_points = " ".join(f"{x(d)},{y(u)}" for d, u, _s in series)
    # The subscription is a staircase: a corner at each change, from the full daily rows.
    corners = [(x(points[0][0]), y(points[0][2]))]
    for (_d0, _u0, s0), (d1, _u1, s1) in zip(points, points[1:], strict=False):
        if s1 != s0:
            corners += [(x(d1), y(s0)), (x(d1), y(s1))]
    corners.append((x(last), y(points[-1][2])))
    subscribed_points = " ".join(f"{a},{b}" for a, b in corners)

    y_ticks = [
        Tick(number(v), PLOT_TOP + (1 - v / y_max) * PLOT_HEIGHT) for v in range(0, y_max + 1, step)
    ]
    x_ticks = []
    month = date(first.year, first.month, 1)
    while month <= last:
        if month >= first and month.month in (1, 4, 7, 10):  # quarters; Jan. and July major
            at = (month - first).days / span * 100
            anchor = "start" if at < 6 else "end" if at > 94 else "middle"
            x_ticks.append(
                Tick(_month_label(month), round(at, 2), major=month.month in (1, 7), anchor=anchor)
            )
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    used_from, used_to = points[0][1], points[-1][1]
    sub_from, sub_to = points[0][2], points[-1][2]
    return Chart(
        title=_(
            "Sondes utilisées et souscrites par %(name)s, du %(start)s au %(end)s",
            name=member.name,
            start=format_date(first, "long"),
            end=format_date(last, "long"),
        ),
        description=_(
            "Les sondes utilisées passent de %(u0)s à %(u1)s, les sondes souscrites de %(s0)s "
            "à %(s1)s. Le tableau qui suit donne les valeurs mois par mois.",
            u0=number(used_from),
            u1=number(used_to),
            s0=number(sub_from),
            s1=number(sub_to),
        ),
        used_points=used_points,
        subscribed_points=subscribed_points,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )


def month_rows(points: list[tuple[date, int, int]]) -> list[MonthRow]:
    """The last day recorded in each month, newest month first."""
    last_of: dict[tuple[int, int], tuple[date, int, int]] = {}
    for point in points:
        last_of[(point[0].year, point[0].month)] = point
    rows = []
    for (_year, _month), (day, used, subscribed) in sorted(last_of.items(), reverse=True):
        percent = round(100 * used / subscribed) if subscribed else None
        rows.append(MonthRow(format_date(day, "MMM yyyy"), used, subscribed, percent))
    return rows


# ---- pages -----------------------------------------------------------------------------


def meter_page(member: Member) -> dict:
    """Context of ``/membres/<slug>/sondes``."""
    status = overview.status_of(member)
    used = status.probes_used if status else None
    usage = billing.usage(member, used)
    today = meter.today()
    points = [(r.day, r.used, r.subscribed) for r in meter.trend(member, CHART_DAYS, today)]
    if used is not None:  # today's value is the live one
        points = [p for p in points if p[0] != today] + [(today, used, usage.subscribed)]
    forecast = meter.forecast(member, used, today)
    subscription = member.subscription
    return {
        "freshness": overview.freshness(),
        "usage": usage,
        "usage_text": usage_sentence(usage),
        "subscription_text": subscription_sentence(
            subscription.package_probes if subscription else 0, usage
        ),
        "over_text": over_sentence(usage),
        "near": usage.percent is not None
        and not usage.over
        and usage.percent >= int(current_app.config["QUOTA_WARN_PERCENT"]),
        "forecast": forecast,
        "forecast_text": forecast_sentence(forecast, usage) if usage.subscribed else None,
        "chart": build_chart(member, points),
        "months": month_rows(points),
        "order_url": order_url(member) if can_order(member) else None,
    }


def quota_page() -> dict:
    """Context of the syndicate's list of members over quota (the live snapshot's counts)."""
    rows = meter.over_quota(get_monitor().current())
    return {
        "freshness": overview.freshness(),
        "rows": rows,
        "total_excess": sum(r.excess for r in rows),
        "total_pools": sum(r.pools_needed for r in rows),
    }
