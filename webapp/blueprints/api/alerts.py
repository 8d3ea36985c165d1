"""JSON API v1: the caller's alert rule, delivery log and notifications (views on ``bp``)."""

from __future__ import annotations

from flask import jsonify
from flask import request
from flask_login import current_user
from flask_login import login_required

from webapp.blueprints.api.routes import _check_csrf
from webapp.blueprints.api.routes import bp
from webapp.errors import json_error
from webapp.presenters import alerts as alerts_view
from webapp.services import alert_rules
from webapp.services import deliveries
from webapp.services.errors import ValidationError

PER_PAGE = 20


def _invalid(exc: ValidationError):
    """400 naming the first refused field (as the other writes); ``errors`` lists them all."""
    field, message = next(iter(exc.errors.items()))
    return json_error(400, "invalid", message, field=field, errors=exc.errors)


def _paging() -> tuple[int, int] | None:
    values = []
    for name, default, maximum in (
        ("page", 1, 1_000_000),
        ("per_page", PER_PAGE, deliveries.PER_PAGE_MAX),
    ):
        raw = request.args.get(name, str(default)).strip()
        if not raw.isdigit() or len(raw) > 7 or not 1 <= int(raw) <= maximum:
            return None
        values.append(int(raw))
    return values[0], values[1]


def _bad_paging():
    return json_error(
        400,
        "bad_request",
        f"Paramètres « page » (1 ou plus) et « per_page » (1 à {deliveries.PER_PAGE_MAX}) "
        "entiers attendus.",
    )


def _rule_json():
    found = alert_rules.settings(current_user)
    return jsonify(alerts_view.rule_json(found.applied, found.members))


@bp.route("/me/alert-rules", methods=["GET"])
@login_required
def alert_rules_get():
    """The rule that applies to the caller, and where it comes from."""
    return _rule_json()


@bp.route("/me/alert-rules", methods=["PUT"])
@login_required
def alert_rules_put():
    """Replace the caller's own rule (``muted_until`` absent: unchanged)."""
    _check_csrf()
    payload = request.get_json(silent=True)
    if payload is None:
        return json_error(400, "bad_json", "Corps JSON attendu (Content-Type: application/json).")
    try:
        alert_rules.save_user_rule(current_user, payload)
    except ValidationError as exc:
        return _invalid(exc)
    return _rule_json()


@bp.route("/me/alert-rules", methods=["DELETE"])
@login_required
def alert_rules_delete():
    """Forget the caller's own rule: their member's defaults apply again."""
    _check_csrf()
    alert_rules.reset(current_user)
    return _rule_json()


@bp.route("/me/deliveries")
@login_required
def my_deliveries():
    """The caller's messages, newest first, with their state and error."""
    paging = _paging()
    if paging is None:
        return _bad_paging()
    channel = request.args.get("channel")
    if channel is not None and channel not in alert_rules.ALL_CHANNELS:
        return json_error(
            400,
            "bad_request",
            "Paramètre « channel » invalide : email, push, sms ou portal.",
            field="channel",
        )
    page = deliveries.log_page(current_user, *paging, channel=channel)
    return jsonify(
        alerts_view.page_json(
            page, "deliveries", [alerts_view.delivery_json(row) for row in page.items]
        )
    )


@bp.route("/me/notifications")
@login_required
def my_notifications():
    """The caller's portal notifications, newest first, and how many are unread."""
    paging = _paging()
    if paging is None:
        return _bad_paging()
    page = deliveries.notifications(current_user, *paging)
    body = alerts_view.page_json(
        page, "notifications", [alerts_view.notification_json(row) for row in page.items]
    )
    return jsonify({**body, "unread": deliveries.unread_count(current_user.id)})
