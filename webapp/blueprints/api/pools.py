"""JSON API v1: pool orders (views on ``bp``).

Writes: a Bearer token, or the session with its CSRF token (``X-CSRFToken``).
"""

from __future__ import annotations

from flask import jsonify
from flask import request
from flask_login import current_user
from flask_login import login_required

from webapp import scoping
from webapp.blueprints.api.routes import _check_csrf
from webapp.blueprints.api.routes import bp
from webapp.errors import json_error
from webapp.presenters import orders as orders_view
from webapp.services import orders
from webapp.services.errors import Conflict
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError


def _invalid(exc: ValidationError):
    field, message = next(iter(exc.errors.items()))
    return json_error(400, "invalid", message, field=field)


def _body() -> dict | None:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else None


@bp.route("/members/<slug>/pool-orders", methods=["GET"])
@login_required
def pool_orders(slug: str):
    """A member's orders, newest first."""
    member = scoping.get_member(current_user, slug)
    return jsonify({"orders": [orders_view.order_json(o) for o in orders.of_member(member)]})


@bp.route("/members/<slug>/pool-orders", methods=["POST"])
@login_required
def pool_order_create(slug: str):
    """Order ``{"pools": N}`` pools; ``Idempotency-Key`` makes a retry return the same order."""
    _check_csrf()
    member = scoping.get_member(current_user, slug)
    payload = _body()
    if payload is None:
        return json_error(400, "bad_json", 'Corps JSON attendu : {"pools": N}.')
    try:
        order, created = orders.place(
            member,
            current_user,
            pools=payload.get("pools"),
            key=request.headers.get("Idempotency-Key"),
            kind=payload.get("kind", "add"),
            note=payload.get("note"),
        )
    except ValidationError as exc:
        return _invalid(exc)
    except Conflict as exc:
        status = 422 if exc.code == "idempotency_key_reused" else 409
        return json_error(status, exc.code, exc.message, **exc.extra)
    response = jsonify(orders_view.order_json(order))
    response.status_code = 201 if created else 200
    return response


@bp.route("/pool-orders/<int:order_id>/approve", methods=["POST"])
@login_required
def pool_order_approve(order_id: int):
    """Accept a requested order (syndicate admins)."""
    _check_csrf()
    orders.get(order_id, current_user)
    return jsonify(orders_view.order_json(orders.approve(order_id, current_user)))


@bp.route("/pool-orders/<int:order_id>/reject", methods=["POST"])
@login_required
def pool_order_reject(order_id: int):
    """Refuse a requested order with ``{"reason": "…"}`` (syndicate admins)."""
    _check_csrf()
    orders.get(order_id, current_user)
    if not current_user.is_admin:  # before the body: a member's user learns nothing more
        raise PermissionDenied(order_id)
    payload = _body()
    if payload is None:
        return json_error(400, "bad_json", 'Corps JSON attendu : {"reason": "…"}.')
    try:
        order = orders.reject(order_id, current_user, payload.get("reason"))
    except ValidationError as exc:
        return _invalid(exc)
    return jsonify(orders_view.order_json(order))


@bp.route("/pool-orders/<int:order_id>/cancel", methods=["POST"])
@login_required
def pool_order_cancel(order_id: int):
    """Withdraw a requested order (the member's administrators)."""
    _check_csrf()
    return jsonify(orders_view.order_json(orders.cancel(order_id, current_user)))
