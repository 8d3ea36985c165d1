"""Pool orders for pages and the JSON API: labels, amounts, dates, what may be done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import format_currency
from flask_babel import format_date

from webapp.models import PoolOrder
from webapp.models.choices import ORDER_KIND_LABELS
from webapp.models.choices import ORDER_STATE_DISPLAY
from webapp.models.choices import OrderState
from webapp.presenters import clock
from webapp.services import pricing


def euros(cents: int) -> str:
    """« 1 234,00 € » (French format, through Babel)."""
    return format_currency(cents / 100, "EUR", locale="fr_FR")


def day(value: date | None) -> str:
    return format_date(value, "d MMMM y") if value else "—"


@dataclass(frozen=True)
class QuoteView:
    pools: int
    probes: int
    yearly: str
    this_year: str
    months: int
    prorata: bool


def quote_view(quote: pricing.Quote, prorata: bool) -> QuoteView:
    return QuoteView(
        pools=quote.pools,
        probes=quote.probes,
        yearly=euros(quote.yearly_cents),
        this_year=euros(quote.this_year_cents),
        months=quote.months,
        prorata=prorata,
    )


@dataclass(frozen=True)
class OrderView:
    order: PoolOrder
    kind_label: str
    state_label: str
    state_css: str
    state_icon: str
    requested: str
    decided: str | None
    effective: str | None
    yearly: str
    can_cancel: bool


def order_view(order: PoolOrder, can_manage: bool = False) -> OrderView:
    label, css, icon = ORDER_STATE_DISPLAY[OrderState(order.state)]
    return OrderView(
        order=order,
        kind_label=str(ORDER_KIND_LABELS.get(order.kind, order.kind)),
        state_label=str(label),
        state_css=css,
        state_icon=icon,
        requested=clock.moment(order.requested_at),
        decided=clock.moment(order.decided_at) if order.decided_at else None,
        effective=day(order.effective_on) if order.effective_on else None,
        yearly=euros(order.probes * order.price_per_probe_cents),
        can_cancel=can_manage and order.state == OrderState.REQUESTED,
    )


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def order_json(order: PoolOrder) -> dict:
    quote = pricing.quote(
        pricing.Rules(
            price_per_probe_cents=order.price_per_probe_cents,
            package_probes=0,
            pool_size=order.pool_size,
            prorata=order.prorata,
            max_pools_per_order=order.pools,
        ),
        order.pools,
        order.effective_on or order.requested_at.date(),
    )
    return {
        "id": order.id,
        "member": order.member.slug,
        "kind": order.kind,
        "pools": order.pools,
        "probes": order.probes,
        "state": order.state,
        "pool_size": order.pool_size,
        "price_per_probe_cents": order.price_per_probe_cents,
        "prorata": order.prorata,
        "yearly_cents": quote.yearly_cents,
        "first_year_cents": quote.this_year_cents,
        "note": order.note,
        "reason": order.reason,
        "requested_at": _iso(order.requested_at),
        "decided_at": _iso(order.decided_at),
        "cancelled_at": _iso(order.cancelled_at),
        "activated_at": _iso(order.activated_at),
        "effective_on": _iso(order.effective_on),
    }
