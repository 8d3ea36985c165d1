"""JSON API v1 (session cookie or ``Authorization: Bearer <token>``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import jsonify
from flask import request
from flask_login import current_user
from flask_login import login_required

from webapp import access
from webapp import scoping
from webapp.errors import json_error
from webapp.extensions import csrf
from webapp.presenters import maps
from webapp.presenters import overview as overview_view
from webapp.presenters import support as support_view
from webapp.presenters import wording
from webapp.services import overview
from webapp.services import push
from webapp.services import wall as wall_service
from webapp.services.errors import NotFound
from webapp.services.errors import ValidationError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # read-only JSON; writes will check CSRF unless token-authenticated


def _freshness_json() -> dict:
    fresh = overview.freshness()
    return {
        "source_age_s": round(fresh.age_s, 1) if fresh.age_s is not None else None,
        "stale": fresh.stale,
    }


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI description of this API."""
    path = Path(__file__).resolve().parents[2] / "openapi.json"
    response = current_app.response_class(path.read_bytes(), mimetype="application/json")
    response.cache_control.max_age = 3600
    return response


@bp.route("/members")
@login_required
def members():
    """Members the caller may see, with their state."""
    rows = overview_view.member_rows(scoping.visible_members(current_user))
    return jsonify(
        {
            "members": [
                {
                    "slug": row.member.slug,
                    "name": row.member.name,
                    "kind": row.member.kind,
                    "state": row.state,
                }
                for row in rows
            ],
            **_freshness_json(),
        }
    )


@bp.route("/members/<slug>/map")
@login_required
def member_map(slug: str):
    """A member's map: nodes with state and cause, edges, positions, summary."""
    layout_kind = request.args.get("layout", "wide")
    if layout_kind not in ("wide", "narrow"):
        return json_error(
            400, "bad_request", "Paramètre « layout » invalide : « wide » ou « narrow » attendu."
        )
    member = scoping.get_member(current_user, slug)
    status = overview.status_of(member)
    fresh = _freshness_json()
    if status is None:
        return json_error(
            503, "source_unavailable", "La source de supervision n’a pas encore répondu."
        )
    return jsonify(maps.map_json(member, status, layout_kind, **fresh))


@bp.route("/members/<slug>")
@login_required
def member(slug: str):
    """One member: state summary and probes used / subscribed."""
    member = scoping.get_member(current_user, slug)
    row = overview_view.member_rows([member])[0]
    summary = row.status.summary if row.status else None
    return jsonify(
        {
            "slug": member.slug,
            "name": member.name,
            "kind": member.kind,
            "state": row.state,
            "summary": {
                "headline": row.headline,
                "sentences": wording.sentences(
                    summary, support_view.care_sentences(member, summary)
                )
                if summary
                else [],
                "incidents": [
                    {
                        "root": i.root,
                        "label": i.label,
                        "kind": str(i.kind),
                        "severity": int(i.severity),
                        "since": i.since.isoformat(),
                        "affected": i.affected_count,
                    }
                    for i in (summary.incidents if summary else ())
                ],
                "counts": {str(k): v for k, v in (summary.counts.items() if summary else ())},
            },
            "probes": {
                "used": row.usage.used,
                "subscribed": row.usage.subscribed,
                "pools": row.usage.pools,
                "pool_size": row.usage.pool_size,
                "yearly_eur": row.usage.yearly_eur,
            },
            **_freshness_json(),
        }
    )


@bp.route("/wall")
def wall():
    """The support wall's tiles, worst first (staff, or a screen opened by a kiosk link)."""
    if access.wall_viewer() is None:
        if not current_user.is_authenticated:
            abort(401)
        raise NotFound("wall")
    state = wall_service.current_state()
    fields = (
        "slug",
        "name",
        "overall",
        "incidents",
        "since",
        "severity",
        "unacked_high",
        "open_requests",
    )
    return jsonify(
        {
            "tiles": [{key: tile[key] for key in fields} for tile in state.tiles],
            "generated_at": state.generated_at.isoformat() if state.generated_at else None,
            **_freshness_json(),
        }
    )


# -- Web Push subscriptions of the caller ------------------------------------------------


def _check_csrf() -> None:
    """Writes from the browser carry the CSRF token (``X-CSRFToken``); a token call not."""
    if not request.environ.get("vigie.token_auth"):
        csrf.protect()


def _device_json(row) -> dict:
    return {
        "id": row.id,
        "label": row.label,
        "endpoint_origin": _origin(row.endpoint),
        # lets the page tell which device it is without the endpoint (a capability URL)
        "endpoint_sha256": hashlib.sha256(row.endpoint.encode()).hexdigest(),
        "created_at": row.created_at.isoformat(),
        "last_success_at": row.last_success_at.isoformat() if row.last_success_at else None,
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _validation_error(exc: ValidationError):
    field, message = next(iter(exc.errors.items()))
    return json_error(400, "invalid", message, field=field)


@bp.route("/me/push-subscriptions", methods=["GET"])
@login_required
def push_subscriptions():
    """The caller's devices that receive alerts."""
    return jsonify({"subscriptions": [_device_json(row) for row in push.devices(current_user)]})


@bp.route("/me/push-subscriptions", methods=["POST"])
@login_required
def push_subscribe():
    """Record this browser's ``PushSubscription.toJSON()`` (201, or 200 when known)."""
    _check_csrf()
    payload = request.get_json(silent=True)
    if payload is None:
        return json_error(
            400, "bad_json", "Corps JSON attendu : l’objet PushSubscription.toJSON()."
        )
    try:
        row, created = push.subscribe(current_user, payload, request.headers.get("User-Agent"))
    except ValidationError as exc:
        return _validation_error(exc)
    response = jsonify(_device_json(row))
    response.status_code = 201 if created else 200
    return response


@bp.route("/me/push-subscriptions/<int:subscription_id>", methods=["DELETE"])
@login_required
def push_unsubscribe(subscription_id: int):
    """Forget one of the caller's devices (204)."""
    _check_csrf()
    push.unsubscribe(current_user, subscription_id)
    return "", 204


@bp.route("/me/push-subscriptions/<int:subscription_id>/test", methods=["POST"])
@login_required
def push_test(subscription_id: int):
    """Queue a test notification to one of the caller's devices (202)."""
    _check_csrf()
    row = push.get(current_user, subscription_id)
    delivery = push.send_test(current_user, row)
    response = jsonify({"delivery_id": delivery.id, "status": str(delivery.status)})
    response.status_code = 202
    return response
