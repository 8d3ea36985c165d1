"""Pool orders: a member admin asks, a syndicate admin approves or rejects, the pools count.

States (:class:`webapp.models.choices.OrderState`): ``requested`` → ``approved`` or
``rejected`` (with a reason) → ``active``. An addition is active from its approval
day (the subscription grows at once); a reduction from the next 1 January. The member
may cancel while ``requested``. Every transition is one conditional ``UPDATE … WHERE
state = 'requested'``: of two admins deciding at once, exactly one wins, the other is
told who did. Each step is audited and tells the other side (portal + e-mail).

An order is created once: the same ``Idempotency-Key`` (per member) with the same
request returns the same order, with another request it is refused; and one order of
each kind waits per member (a unique index), so two tabs with two keys make one order.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from webapp import scoping
from webapp.extensions import db
from webapp.models import Member
from webapp.models import PoolOrder
from webapp.models import Subscription
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.models.choices import OrderKind
from webapp.models.choices import OrderState
from webapp.models.member import utcnow
from webapp.services import agreements
from webapp.services import audit
from webapp.services import notices
from webapp.services import pricing
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

KEY_MAX = 120
NOTE_MAX = 2000
REASON_MAX = 2000


# -- input ----------------------------------------------------------------------------


def parse_pools(raw: object, maximum: int) -> int:
    """A pool count from a form or JSON: an integer from 1 to ``maximum``, else a French error."""
    message = _("Indiquez un nombre entier de pools, de 1 à %(max)d.", max=maximum)
    if isinstance(raw, bool):
        raise ValidationError({"pools": message})
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        text = raw.strip()
        if len(text) > 6:
            raise ValidationError({"pools": message})
        value = int(text)
    else:
        raise ValidationError({"pools": message})
    if not 1 <= value <= maximum:
        raise ValidationError({"pools": message})
    return value


def parse_kind(raw: object) -> OrderKind:
    """``add`` (more pools) or ``reduce`` (fewer from 1 January); anything else is refused."""
    try:
        return OrderKind(raw)
    except ValueError:
        raise ValidationError(
            {"kind": _("Type de commande inconnu : « add » ou « reduce » attendu.")}
        ) from None


def parse_key(raw: object) -> str:
    """An idempotency key: 1 to 120 visible ASCII characters."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(
            {"idempotency_key": _("En-tête « Idempotency-Key » manquant : il évite les doublons.")}
        )
    key = raw.strip()
    if len(key) > KEY_MAX or not all(33 <= ord(char) < 127 for char in key):
        raise ValidationError(
            {
                "idempotency_key": _(
                    "« Idempotency-Key » invalide : 1 à %(max)d caractères ASCII visibles.",
                    max=KEY_MAX,
                )
            }
        )
    return key


def _text(raw: object, field: str, maximum: int, *, required: bool = False) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise ValidationError({field: _("Ce champ est obligatoire.")})
        return None
    if not isinstance(raw, str):
        raise ValidationError({field: _("Texte attendu.")})
    text = raw.strip()
    if len(text) > maximum:
        raise ValidationError(
            {field: _("Texte trop long : %(max)d caractères au plus.", max=maximum)}
        )
    return text


def _fingerprint(kind: str, pools: int, note: str | None) -> str:
    body = json.dumps({"kind": kind, "pools": pools, "note": note or ""}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


# -- reading --------------------------------------------------------------------------


def get(order_id: int, user: User) -> PoolOrder:
    """The order, if ``user`` may see its member (else *not found*)."""
    order = db.session.get(PoolOrder, order_id)
    if order is None:
        raise NotFound(order_id)
    scoping.get_member(user, order.member.slug)  # MemberNotFound when foreign
    return order


def can_manage(order: PoolOrder, user: User) -> bool:
    """Whether ``user`` may cancel ``order`` (its member's administrators, syndicate admins)."""
    return scoping.can_administer(user, order.member)


def of_member(member: Member) -> list[PoolOrder]:
    """A member's orders, newest first."""
    return list(
        db.session.scalars(
            select(PoolOrder)
            .where(PoolOrder.member_id == member.id)
            .order_by(PoolOrder.requested_at.desc(), PoolOrder.id.desc())
        )
    )


def queue() -> list[PoolOrder]:
    """Orders waiting for a decision, oldest first."""
    return list(
        db.session.scalars(
            select(PoolOrder)
            .where(PoolOrder.state == OrderState.REQUESTED)
            .order_by(PoolOrder.requested_at, PoolOrder.id)
        )
    )


def waiting_count() -> int:
    """How many orders wait for a decision."""
    return db.session.scalar(
        select(func.count()).select_from(PoolOrder).where(PoolOrder.state == OrderState.REQUESTED)
    )


def recent_decisions(limit: int = 20) -> list[PoolOrder]:
    return list(
        db.session.scalars(
            select(PoolOrder)
            .where(PoolOrder.state != OrderState.REQUESTED)
            .order_by(PoolOrder.requested_at.desc(), PoolOrder.id.desc())
            .limit(limit)
        )
    )


def pending_reduction(member: Member) -> int:
    """Pools that requested or approved (not yet active) reductions will remove."""
    rows = db.session.scalars(
        select(PoolOrder.pools).where(
            PoolOrder.member_id == member.id,
            PoolOrder.kind == OrderKind.REDUCE,
            PoolOrder.state.in_((OrderState.REQUESTED, OrderState.APPROVED)),
        )
    )
    return sum(rows)


def next_january(today: date) -> date:
    return date(today.year + 1, 1, 1)


def today_local(now: datetime | None = None) -> date:
    """The day it is in the syndicate's time zone (``VIGIE_TIMEZONE``)."""
    return (now or utcnow()).astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


# -- placing --------------------------------------------------------------------------


def place(
    member: Member,
    user: User,
    *,
    pools: object,
    key: object,
    kind: str = OrderKind.ADD,
    note: object = None,
    now: datetime | None = None,
) -> tuple[PoolOrder, bool]:
    """Order ``pools`` pools (or a reduction); return ``(order, created)``. Commits.

    Raises :class:`PermissionDenied` for a viewer, :class:`ValidationError` for bad
    input, :class:`Conflict` (``idempotency_key_reused``, ``no_agreement``,
    ``order_pending``, ``below_package``).
    """
    kind = parse_kind(kind)
    maximum = _maximum(member, user, kind)  # permission first: a viewer gets 403
    idempotency_key = parse_key(key)
    count = parse_pools(pools, maximum)
    text = _text(note, "note", NOTE_MAX)
    fingerprint = _fingerprint(kind, count, text)
    existing = _by_key(member, idempotency_key)
    if existing is not None:
        return _same_request(existing, fingerprint), False
    today = today_local(now)
    subscription = _check_orderable(member, user, kind, today)
    if kind == OrderKind.REDUCE:
        _check_reducible(member, count)
    rules = pricing.current_rules()
    order = PoolOrder(
        member=member,
        kind=kind,
        pools=count,
        state=OrderState.REQUESTED,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        note=text,
        pool_size=subscription.pool_size if kind == OrderKind.REDUCE else rules.pool_size,
        price_per_probe_cents=rules.price_per_probe_cents,
        prorata=rules.prorata,
        requested_by=user,
        requested_at=now or utcnow(),
        effective_on=next_january(today) if kind == OrderKind.REDUCE else None,
    )
    db.session.add(order)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return _after_race(member, idempotency_key, fingerprint, kind)
    _audit(
        order, AuditKind.ORDER_REQUESTED, user, OrderState.REQUESTED, pools=count, kind=str(kind)
    )
    _tell_syndicate(order, "requested")
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _after_race(member, idempotency_key, fingerprint, kind)
    logger.info(
        "Pool order %s: %s %d pools for %s by %s", order.id, kind, count, member.slug, user.id
    )
    return order, True


def _maximum(member: Member, user: User, kind: str) -> int:
    """The largest count a form or request may ask for (the permission checked first)."""
    if not scoping.can_administer(user, member):
        raise PermissionDenied(member.slug)
    if kind == OrderKind.ADD:
        return pricing.current_rules().max_pools_per_order
    return 10_000  # a reduction is bounded by the pools in force, checked with its message


def _check_orderable(member: Member, user: User, kind: str, today: date) -> Subscription:
    """Why ``member`` cannot order today (a :class:`Conflict`), or its subscription."""
    if not scoping.can_administer(user, member):
        raise PermissionDenied(member.slug)
    if agreements.current(member, today) is None:
        raise Conflict(
            "no_agreement",
            _(
                "Pas de convention de supervision signée et en cours pour %(name)s : "
                "une commande n’est possible qu’avec une convention en vigueur. "
                "Contactez le syndicat pour la signer ou la renouveler.",
                name=member.name,
            ),
        )
    subscription = member.subscription
    if subscription is None:
        raise Conflict("no_subscription", _("Ce membre n’a pas d’abonnement."))
    if kind == OrderKind.REDUCE and removable_pools(member) <= 0:
        raise Conflict(
            "below_package",
            _(
                "Aucun pool à retirer : votre abonnement est au forfait minimum "
                "(%(probes)d sondes), qui reste toujours.",
                probes=subscription.package_probes,
            ),
            pools_left=0,
        )
    return subscription


def removable_pools(member: Member) -> int:
    """Pools a reduction may still remove (those in force, less reductions on the way)."""
    subscription = member.subscription
    if subscription is None:
        return 0
    return max(subscription.pools - pending_reduction(member), 0)


def _check_reducible(member: Member, count: int) -> None:
    left = removable_pools(member)
    if count > left:
        raise Conflict(
            "below_package",
            ngettext(
                "Réduction impossible : %(num)d pool seulement peut être retiré, "
                "le forfait minimum reste toujours.",
                "Réduction impossible : %(num)d pools au plus peuvent être retirés, "
                "le forfait minimum reste toujours.",
                left,
            ),
            pools_left=left,
        )


def blocker(member: Member, user: User, kind: str = OrderKind.ADD) -> Conflict | None:
    """Why ``user`` cannot order for ``member`` now (for a page to say so), or None."""
    try:
        _check_orderable(member, user, OrderKind(kind), today_local())
    except Conflict as exc:
        return exc
    return None


def limit(member: Member, user: User, kind: str = OrderKind.ADD) -> int:
    """The most pools one order of ``kind`` may count for ``member`` (a form's maximum)."""
    maximum = _maximum(member, user, OrderKind(kind))
    if kind == OrderKind.REDUCE:
        return removable_pools(member)
    return maximum


@dataclass(frozen=True)
class Preview:
    """What an order would change, shown before it is confirmed."""

    kind: str
    pools: int
    probes: int
    subscribed_before: int
    subscribed_after: int
    yearly_cents: int  # added (a reduction: removed) to the yearly contribution
    this_year_cents: int  # an addition: this year's amount (pro rata); a reduction: 0
    months: int
    prorata: bool
    effective_on: date | None  # a reduction: the next 1 January
    note: str | None


def preview(
    member: Member,
    user: User,
    *,
    pools: object,
    kind: str = OrderKind.ADD,
    note: object = None,
    now: datetime | None = None,
) -> Preview:
    """Check an order as :func:`place` will and say what it changes; stores nothing."""
    kind = parse_kind(kind)
    count = parse_pools(pools, _maximum(member, user, kind))
    text = _text(note, "note", NOTE_MAX)
    today = today_local(now)
    subscription = _check_orderable(member, user, kind, today)
    rules = pricing.current_rules()
    if kind == OrderKind.REDUCE:
        _check_reducible(member, count)
        probes = count * subscription.pool_size
        return Preview(
            kind=kind,
            pools=count,
            probes=probes,
            subscribed_before=subscription.probes,
            subscribed_after=subscription.probes - probes,
            yearly_cents=probes * rules.price_per_probe_cents,
            this_year_cents=0,
            months=0,
            prorata=rules.prorata,
            effective_on=next_january(today),
            note=text,
        )
    quote = pricing.quote(rules, count, today)
    return Preview(
        kind=kind,
        pools=count,
        probes=quote.probes,
        subscribed_before=subscription.probes,
        subscribed_after=subscription.probes + quote.probes,
        yearly_cents=quote.yearly_cents,
        this_year_cents=quote.this_year_cents,
        months=quote.months,
        prorata=rules.prorata,
        effective_on=None,
        note=text,
    )


def _by_key(member: Member, key: str) -> PoolOrder | None:
    return db.session.scalar(
        select(PoolOrder).where(PoolOrder.member_id == member.id, PoolOrder.idempotency_key == key)
    )


def _same_request(order: PoolOrder, fingerprint: str) -> PoolOrder:
    if order.request_hash != fingerprint:
        raise Conflict(
            "idempotency_key_reused",
            _(
                "Cette clé « Idempotency-Key » a déjà servi pour une autre demande "
                "(commande n° %(id)d) : utilisez une nouvelle clé.",
                id=order.id,
            ),
            order_id=order.id,
        )
    return order


def _after_race(member: Member, key: str, fingerprint: str, kind: str) -> tuple[PoolOrder, bool]:
    """Another request won the insert: the same key, or an order of this kind waiting."""
    existing = _by_key(member, key)
    if existing is not None:
        return _same_request(existing, fingerprint), False
    waiting = db.session.scalar(
        select(PoolOrder).where(
            PoolOrder.member_id == member.id,
            PoolOrder.kind == kind,
            PoolOrder.state == OrderState.REQUESTED,
        )
    )
    if waiting is None:  # neither: let the caller see the real error
        raise Conflict("order_conflict", _("La commande n’a pas pu être enregistrée : réessayez."))
    raise Conflict(
        "order_pending",
        ngettext(
            "Une demande de %(num)d pool attend déjà la validation du syndicat "
            "(n° %(id)d) : annulez-la ou attendez sa réponse.",
            "Une demande de %(num)d pools attend déjà la validation du syndicat "
            "(n° %(id)d) : annulez-la ou attendez sa réponse.",
            waiting.pools,
            id=waiting.id,
        ),
        order_id=waiting.id,
    )


# -- deciding -------------------------------------------------------------------------


def _move(order: PoolOrder, to: str, **values) -> bool:
    """``requested`` → ``to`` if still requested (one winner); False if another came first."""
    result = db.session.execute(
        update(PoolOrder)
        .where(PoolOrder.id == order.id, PoolOrder.state == OrderState.REQUESTED)
        .values(state=to, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    return True


def _refused(order: PoolOrder) -> Conflict:
    db.session.refresh(order)
    who = order.decided_by.name or order.decided_by.email if order.decided_by else None
    messages = {
        OrderState.CANCELLED: _("Cette commande a été annulée."),
        OrderState.REJECTED: _("Cette commande a déjà été refusée."),
        OrderState.APPROVED: _("Cette commande a déjà été acceptée."),
        OrderState.ACTIVE: _("Cette commande a déjà été acceptée ; elle est en service."),
    }
    message = messages.get(order.state, _("Cette commande n’attend plus de décision."))
    if who and order.state in (OrderState.APPROVED, OrderState.ACTIVE, OrderState.REJECTED):
        message = f"{message} ({who})"
    return Conflict("order_decided", message, state=str(order.state))


def _to_decide(order_id: int, admin: User) -> PoolOrder:
    """The order a syndicate administrator decides on (403 for anyone else)."""
    if not admin.is_admin:
        raise PermissionDenied(order_id)
    order = db.session.get(PoolOrder, order_id)
    if order is None:
        raise NotFound(order_id)
    return order


def _audit(order: PoolOrder, what: str, actor: User | None, to: str, **detail) -> None:
    audit.record(
        what,
        actor=actor,
        member=order.member,
        target=f"order {order.id}",
        detail={**detail, "to": str(to)},
        actor_label=None if actor is not None else "Vigie",
    )


def approve(order_id: int, admin: User, now: datetime | None = None) -> PoolOrder:
    """Accept a requested order (an addition is in force at once). Commits."""
    order = _to_decide(order_id, admin)
    moment = now or utcnow()
    today = today_local(moment)
    effective = today if order.kind == OrderKind.ADD else next_january(today)
    if not _move(
        order,
        OrderState.APPROVED,
        decided_by_id=admin.id,
        decided_at=moment,
        effective_on=effective,
    ):
        raise _refused(order)
    db.session.refresh(order)
    _audit(
        order,
        AuditKind.ORDER_APPROVED,
        admin,
        OrderState.APPROVED,
        pools=order.pools,
        **{"from": OrderState.REQUESTED},
    )
    if order.kind == OrderKind.ADD:
        _activate(order, moment)
    _tell_member(order, "approved")
    db.session.commit()
    logger.info("Pool order %s approved by %s", order.id, admin.id)
    return order


def reject(order_id: int, admin: User, reason: object, now: datetime | None = None) -> PoolOrder:
    """Refuse a requested order, saying why. Commits."""
    order = _to_decide(order_id, admin)
    text = _text(reason, "reason", REASON_MAX, required=True)
    moment = now or utcnow()
    if not _move(
        order, OrderState.REJECTED, decided_by_id=admin.id, decided_at=moment, reason=text
    ):
        raise _refused(order)
    db.session.refresh(order)
    _audit(
        order,
        AuditKind.ORDER_REJECTED,
        admin,
        OrderState.REJECTED,
        reason=text,
        **{"from": OrderState.REQUESTED},
    )
    _tell_member(order, "rejected")
    db.session.commit()
    return order


def cancel(order_id: int, user: User, now: datetime | None = None) -> PoolOrder:
    """The member withdraws its order while it waits. Commits."""
    order = get(order_id, user)
    if not scoping.can_administer(user, order.member):
        raise PermissionDenied(order_id)
    if not _move(order, OrderState.CANCELLED, cancelled_at=now or utcnow()):
        raise _refused(order)
    db.session.refresh(order)
    _audit(
        order,
        AuditKind.ORDER_CANCELLED,
        user,
        OrderState.CANCELLED,
        **{"from": OrderState.REQUESTED},
    )
    _tell_syndicate(order, "cancelled")
    db.session.commit()
    return order


def _activate(order: PoolOrder, moment: datetime) -> bool:
    """In force: the subscription counts it (in the caller's transaction).

    Only an ``approved`` order is put in force, by one conditional ``UPDATE``: two
    workers (or a worker and an approval) never count it twice. False if another did.
    """
    moved = db.session.execute(
        update(PoolOrder)
        .where(PoolOrder.id == order.id, PoolOrder.state == OrderState.APPROVED)
        .values(state=OrderState.ACTIVE, activated_at=moment)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return False
    db.session.execute(
        update(Subscription)
        .where(Subscription.member_id == order.member_id)
        .values(pools=Subscription.pools + order.signed_pools)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(order)
    if order.member.subscription is not None:
        db.session.expire(order.member.subscription)
    _audit(
        order,
        AuditKind.ORDER_ACTIVATED,
        None,
        OrderState.ACTIVE,
        pools=order.signed_pools,
        **{"from": OrderState.APPROVED},
    )
    return True


def activate_due(now: datetime | None = None) -> int:
    """Put in force the approved reductions whose 1 January has come. Commits."""
    moment = now or utcnow()
    today = today_local(moment)
    due = list(
        db.session.scalars(
            select(PoolOrder)
            .where(PoolOrder.state == OrderState.APPROVED, PoolOrder.effective_on <= today)
            .order_by(PoolOrder.id)
        )
    )
    count = sum(_activate(order, moment) for order in due)
    db.session.commit()
    return count


# -- telling --------------------------------------------------------------------------


def _path(order: PoolOrder) -> str:
    return f"/membres/{order.member.slug}/commandes/{order.id}"


def _what(order: PoolOrder) -> str:
    if order.kind == OrderKind.REDUCE:
        return ngettext("réduction de %(num)d pool", "réduction de %(num)d pools", order.pools)
    return ngettext(
        "%(num)d pool supplémentaire (%(probes)d sondes)",
        "%(num)d pools supplémentaires (%(probes)d sondes)",
        order.pools,
        probes=order.probes,
    )


def _tell_syndicate(order: PoolOrder, step: str) -> None:
    member = order.member.name
    if step == "requested":
        subject = _("Commande à valider : %(member)s, %(what)s", member=member, what=_what(order))
        body = _(
            "%(member)s demande %(what)s (commande n° %(id)d). "
            "Elle attend votre décision dans Vigie.",
            member=member,
            what=_what(order),
            id=order.id,
        )
    else:
        subject = _("Commande annulée : %(member)s", member=member)
        body = _(
            "%(member)s a annulé sa demande (%(what)s, commande n° %(id)d).",
            member=member,
            what=_what(order),
            id=order.id,
        )
    notices.tell(
        notices.syndicate_admins(),
        key=f"order-{order.id}-{step}",
        kind="order",
        subject=subject,
        body=body,
        path="/admin/commandes",
        link_label=_("Voir les commandes"),
    )


def _tell_member(order: PoolOrder, step: str) -> None:
    if step == "approved":
        subject = _("Commande acceptée : %(what)s", what=_what(order))
        if order.kind == OrderKind.ADD:
            body = _(
                "Le syndicat a accepté votre commande n° %(id)d : %(what)s. "
                "Elles sont comptées dans votre abonnement dès aujourd’hui.",
                id=order.id,
                what=_what(order),
            )
        else:
            body = _(
                "Le syndicat a accepté votre demande n° %(id)d : %(what)s, "
                "à partir du 1er janvier %(year)d.",
                id=order.id,
                what=_what(order),
                year=order.effective_on.year if order.effective_on else 0,
            )
    else:
        subject = _("Commande refusée : %(what)s", what=_what(order))
        body = _(
            "Le syndicat a refusé votre commande n° %(id)d (%(what)s). Motif : %(reason)s",
            id=order.id,
            what=_what(order),
            reason=order.reason or "",
        )
    users = notices.member_admins(order.member)
    if order.requested_by is not None:
        users.append(order.requested_by)
    notices.tell(
        users,
        key=f"order-{order.id}-{step}",
        kind="order",
        subject=subject,
        body=body,
        path=_path(order),
        link_label=_("Voir la commande"),
    )
