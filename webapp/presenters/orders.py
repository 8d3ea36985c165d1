"""Pool orders for pages and the JSON API: labels, amounts, dates, what may be done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp import scoping
from webapp.models import Member
from webapp.models import PoolOrder
from webapp.models import User
from webapp.models.choices import ORDER_KIND_LABELS
from webapp.models.choices import ORDER_STATE_DISPLAY
from webapp.models.choices import OrderKind
from webapp.models.choices import OrderState
from webapp.models.member import as_utc
from webapp.presenters import clock
from webapp.presenters.agreements import agreement_status
from webapp.presenters.contributions import euros
from webapp.services import orders
from webapp.services import overview
from webapp.services import pricing


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
    requester: str
    decider: str | None


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
        requester=_person(order.requested_by),
        decider=_person(order.decided_by) if order.decided_at else None,
    )


def _iso(value) -> str | None:
    """ISO 8601; a moment always with its offset (SQLite gives back naive UTC datetimes)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    return value.isoformat()


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


def _person(user) -> str:
    if user is None:
        return _("compte supprimé")
    return user.name or user.email


@dataclass(frozen=True)
class PreviewView:
    """The confirmation step: what the order changes, in sentences."""

    preview: orders.Preview
    headline: str
    subscription: str
    yearly: str
    this_year: str | None
    when: str


def preview_view(preview: orders.Preview) -> PreviewView:
    if preview.kind == OrderKind.REDUCE:
        year = preview.effective_on.year if preview.effective_on else 0
        return PreviewView(
            preview=preview,
            headline=ngettext(
                "Vous demandez de retirer %(num)d pool (%(probes)d sondes).",
                "Vous demandez de retirer %(num)d pools (%(probes)d sondes).",
                preview.pools,
                probes=preview.probes,
            ),
            subscription=_(
                "Votre abonnement passera de %(before)d à %(after)d sondes.",
                before=preview.subscribed_before,
                after=preview.subscribed_after,
            ),
            yearly=_(
                "Contribution annuelle : − %(amount)s par an à partir de %(year)d.",
                amount=euros(preview.yearly_cents),
                year=year,
            ),
            this_year=None,
            when=_(
                "La réduction prendra effet le %(day)s, après accord du syndicat ; "
                "la contribution de cette année ne change pas.",
                day=day(preview.effective_on),
            ),
        )
    if preview.prorata:
        this_year = ngettext(
            "Montant pour %(year)d : %(amount)s (%(num)d mois sur 12, au prorata des mois "
            "restants, le mois de l’accord compté en entier).",
            "Montant pour %(year)d : %(amount)s (%(num)d mois sur 12, au prorata des mois "
            "restants, le mois de l’accord compté en entier).",
            preview.months,
            year=orders.today_local().year,
            amount=euros(preview.this_year_cents),
        )
    else:
        this_year = _(
            "Montant pour %(year)d : %(amount)s (année entière).",
            year=orders.today_local().year,
            amount=euros(preview.this_year_cents),
        )
    return PreviewView(
        preview=preview,
        headline=ngettext(
            "Vous commandez %(num)d pool, soit %(probes)d sondes de plus.",
            "Vous commandez %(num)d pools, soit %(probes)d sondes de plus.",
            preview.pools,
            probes=preview.probes,
        ),
        subscription=_(
            "Votre abonnement passera de %(before)d à %(after)d sondes.",
            before=preview.subscribed_before,
            after=preview.subscribed_after,
        ),
        yearly=_(
            "Contribution annuelle : + %(amount)s par an.", amount=euros(preview.yearly_cents)
        ),
        this_year=this_year,
        when=_(
            "Les pools comptent dès que le syndicat accepte la commande ; vous en serez "
            "prévenu sur le portail et par courriel. Le montant ci-dessus suppose un accord ce "
            "mois-ci."
        ),
    )


@dataclass(frozen=True)
class Step:
    label: str
    when: str
    who: str | None = None
    text: str | None = None


def timeline(order: PoolOrder) -> list[Step]:
    """What happened to ``order``, in order."""
    steps = [Step(_("Demandée"), clock.moment(order.requested_at), _person(order.requested_by))]
    if order.state == OrderState.CANCELLED:
        steps.append(Step(_("Annulée par le membre"), clock.moment(order.cancelled_at)))
    elif order.state == OrderState.REJECTED:
        steps.append(
            Step(
                _("Refusée"),
                clock.moment(order.decided_at),
                _person(order.decided_by),
                order.reason,
            )
        )
    elif order.decided_at is not None:
        steps.append(Step(_("Acceptée"), clock.moment(order.decided_at), _person(order.decided_by)))
    if order.state == OrderState.ACTIVE:
        steps.append(Step(_("En service"), clock.moment(order.activated_at)))
    elif order.state == OrderState.APPROVED and order.effective_on:
        steps.append(Step(_("En service à partir du"), day(order.effective_on)))
    return steps


def order_lines(order: PoolOrder) -> dict[str, str]:
    """Amounts of ``order`` under its copied rules (never today's)."""
    data = order_json(order)
    lines = {
        "probes": ngettext(
            "%(num)d pool de %(size)d sondes, soit %(probes)d sondes",
            "%(num)d pools de %(size)d sondes, soit %(probes)d sondes",
            order.pools,
            size=order.pool_size,
            probes=order.probes,
        ),
        "price": _("%(price)s par sonde et par an", price=euros(order.price_per_probe_cents)),
        "yearly": euros(data["yearly_cents"]),
    }
    if order.kind == OrderKind.ADD:
        lines["first_year"] = euros(data["first_year_cents"])
    return lines


def member_orders_page(member: Member, user: User) -> dict:
    """Context of ``/membres/<slug>/commandes``."""
    can_manage = scoping.can_administer(user, member)
    subscription = member.subscription
    return {
        "agreement_status": agreement_status(member, orders.today_local()),
        "orders": [order_view(o, can_manage) for o in orders.of_member(member)],
        "can_manage": can_manage,
        "blocker": orders.blocker(member, user) if can_manage else None,
        "reduce_blocker": orders.blocker(member, user, OrderKind.REDUCE) if can_manage else None,
        "subscription": subscription,
        "pending_reduction": orders.pending_reduction(member),
    }


@dataclass(frozen=True)
class QueueItem:
    """An order waiting for a decision, with what the deciding admin needs beside it."""

    view: OrderView
    lines: dict[str, str]
    usage: str


def _usage_sentence(member: Member) -> str:
    status = overview.status_of(member)
    subscription = member.subscription
    subscribed = subscription.probes if subscription else 0
    if status is None or status.probes_used is None:
        return _("%(subscribed)d sondes souscrites ; utilisation inconnue.", subscribed=subscribed)
    return _(
        "%(used)d sondes utilisées sur %(subscribed)d souscrites.",
        used=status.probes_used,
        subscribed=subscribed,
    )


def queue_page() -> dict:
    """Context of ``/admin/commandes``."""
    return {
        "waiting": [
            QueueItem(order_view(o), order_lines(o), _usage_sentence(o.member))
            for o in orders.queue()
        ],
        "decided": [order_view(o) for o in orders.recent_decisions()],
    }
