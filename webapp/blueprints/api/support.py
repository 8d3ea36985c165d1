"""JSON API v1: support requests and their conversation (views on ``bp``).

Writes: a Bearer token, or the session with its CSRF token (``X-CSRFToken``). A request
the caller may not see is a 404, as another member is; a member never reads an
internal entry. ``version`` in a write's body makes it fail with 409 ``changed`` when the
request moved on since the caller read it, instead of overwriting someone's change.
"""

from __future__ import annotations

from dataclasses import replace

from flask import jsonify
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from sqlalchemy.orm.exc import StaleDataError

from webapp import scoping
from webapp.blueprints.api.routes import _check_csrf
from webapp.blueprints.api.routes import bp
from webapp.errors import json_error
from webapp.extensions import db
from webapp.models.choices import SupportChannel
from webapp.presenters import support_api as view
from webapp.services import support
from webapp.services.errors import Conflict
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError

PAGE_MAX = 1_000_000
RESERVED = ("status", "code", "message")
NEW_TEXT_FIELDS = ("subject", "message", "category", "urgency", "hostid", "contact")


def _invalid(exc: ValidationError):
    """400 naming the first refused field (as the other writes); ``errors`` lists them all."""
    field, message = next(iter(exc.errors.items()))
    return json_error(400, "invalid", message, field=field, errors=exc.errors)


def _conflict(exc: Conflict):
    """409 with the conflict's code and extras, an extra named as an envelope key renamed.

    A refused transition carries ``status=`` (the current status): ``json_error`` has a
    ``status`` argument of its own, so the shared handler would fail with a 500. It is
    sent as ``current_status``.
    """
    extra = {
        (f"current_{key}" if key in RESERVED else key): value for key, value in exc.extra.items()
    }
    return json_error(409, exc.code, exc.message, **extra)


def _changed_meanwhile():
    """409 ``changed`` for a change committed elsewhere between our read and our write.

    ``services.support`` turns that into a Conflict at its commit only; an earlier flush
    (before the audit line, or a query's autoflush) lets StaleDataError through.
    """
    db.session.rollback()
    return _conflict(
        Conflict(
            "changed",
            _(
                "Cette demande vient d’être modifiée par quelqu’un d’autre : "
                "relisez-la avant de recommencer."
            ),
        )
    )


def _bad_json(expected: str):
    return json_error(
        400, "bad_json", _("Corps JSON attendu (un objet) : %(expected)s.", expected=expected)
    )


def _body() -> dict | None:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else None


def _version(payload: dict) -> int | None:
    """The optional ``version`` the caller read; anything but an integer is refused."""
    value = payload.get("version")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({"version": _("Numéro de version entier attendu.")})
    return value


def _paging() -> tuple[int, int] | None:
    values = []
    for name, default, maximum in (
        ("page", 1, PAGE_MAX),
        ("per_page", support.QUEUE_PER_PAGE, support.QUEUE_PER_PAGE_MAX),
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
        _(
            "Paramètres « page » (1 ou plus) et « per_page » (1 à %(max)d) entiers attendus.",
            max=support.QUEUE_PER_PAGE_MAX,
        ),
    )


def _detail(row, status: int = 200):
    response = jsonify(view.request_json(row, current_user, thread=True))
    response.status_code = status
    return response


# -- a member's requests ----------------------------------------------------------------


@bp.route("/members/<slug>/support-requests", methods=["GET"])
@login_required
def member_support_requests(slug: str):
    """A member's requests, newest first, one page (``page``, ``per_page``)."""
    member = scoping.get_member(current_user, slug)
    paging = _paging()
    if paging is None:
        return _bad_paging()
    page = support.for_member(member, *paging)
    return jsonify(view.page_json(page, current_user))


@bp.route("/members/<slug>/support-requests", methods=["POST"])
@login_required
def member_support_request_create(slug: str):
    """Open a request (201); staff open it on the member's behalf (channel ``phone``)."""
    _check_csrf()
    member = scoping.get_member(current_user, slug)
    payload = _body()
    if payload is None:
        return _bad_json('{"subject": "…", "message": "…", "category": "…", "urgency": "…"}')
    # support.parse_new compares category and urgency with sets: a list or an object
    # there would be unhashable, so anything but text is refused here first.
    for name in NEW_TEXT_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            return _invalid(ValidationError({name: _("Ce champ attend du texte.")}))
    try:
        new = support.parse_new(payload)
    except ValidationError as exc:
        return _invalid(exc)
    channel = SupportChannel.PHONE if current_user.is_staff else SupportChannel.API
    row = support.open_request(member, current_user, new, channel=channel)
    response = _detail(row, 201)
    response.headers["Location"] = url_for("api.support_request", request_id=row.id)
    return response


# -- the staff's queue ------------------------------------------------------------------


@bp.route("/support-requests", methods=["GET"])
@login_required
def support_queue():
    """The support queue (staff): the filters of the ``/support`` page, one page."""
    if not current_user.is_staff:
        raise PermissionDenied("the support queue is the syndicate staff's")
    paging = _paging()
    if paging is None:
        return _bad_paging()
    try:
        filters = support.parse_filters(request.args, request.args.getlist("status"))
    except ValidationError as exc:
        return _invalid(exc)
    page = support.queue(replace(filters, page=paging[0], per_page=paging[1]), current_user)
    return jsonify(view.page_json(page, current_user))


# -- one request ------------------------------------------------------------------------


@bp.route("/support-requests/<int:request_id>", methods=["GET"])
@login_required
def support_request(request_id: int):
    """One request with its thread as the caller may read it, its clocks and version."""
    return _detail(support.get_for(current_user, request_id))


@bp.route("/support-requests/<int:request_id>/comments", methods=["POST"])
@login_required
def support_request_comment(request_id: int):
    """Add ``{"body": "…"}`` to the thread (201); ``internal``: a staff note."""
    _check_csrf()
    row = support.get_for(current_user, request_id)
    payload = _body()
    if payload is None:
        return _bad_json('{"body": "…", "internal": false, "version": N}')
    internal = payload.get("internal", False)
    if not isinstance(internal, bool):
        return _invalid(ValidationError({"internal": _("true ou false attendu.")}))
    try:
        entry = support.add_comment(
            row,
            current_user,
            payload.get("body"),
            internal=internal,
            expected_version=_version(payload),
        )
    except ValidationError as exc:
        return _invalid(exc)
    except Conflict as exc:
        return _conflict(exc)
    except StaleDataError:
        return _changed_meanwhile()
    response = jsonify({**view.entry_json(entry, current_user), "request_version": row.version})
    response.status_code = 201
    return response


@bp.route("/support-requests/<int:request_id>/status", methods=["POST"])
@login_required
def support_request_status(request_id: int):
    """Move the request to ``{"status": …}`` (``resolution`` when resolving)."""
    _check_csrf()
    row = support.get_for(current_user, request_id)
    payload = _body()
    if payload is None:
        return _bad_json('{"status": "…", "resolution": "…", "version": N}')
    try:
        row = support.change_status(
            row,
            current_user,
            payload.get("status"),
            resolution=payload.get("resolution"),
            expected_version=_version(payload),
        )
    except ValidationError as exc:
        return _invalid(exc)
    except Conflict as exc:
        return _conflict(exc)
    except StaleDataError:
        return _changed_meanwhile()
    return _detail(row)


@bp.route("/support-requests/<int:request_id>/assignee", methods=["POST"])
@login_required
def support_request_assign(request_id: int):
    """Give the request to a support agent, ``{"assignee_id": N}`` or ``null`` (staff)."""
    _check_csrf()
    row = support.get_for(current_user, request_id)
    if not current_user.is_staff:  # before the body: a member learns nothing more
        raise PermissionDenied("only the syndicate's staff assign requests")
    payload = _body()
    if payload is None or "assignee_id" not in payload:
        return _bad_json('{"assignee_id": N ou null, "version": N}')
    assignee_id = payload["assignee_id"]
    if assignee_id is not None and (
        isinstance(assignee_id, bool) or not isinstance(assignee_id, int)
    ):
        return _invalid(ValidationError({"assignee_id": _("Identifiant entier ou null attendu.")}))
    try:
        row = support.assign(row, current_user, assignee_id, expected_version=_version(payload))
    except ValidationError as exc:
        return _invalid(exc)
    except Conflict as exc:
        return _conflict(exc)
    except StaleDataError:
        return _changed_meanwhile()
    return _detail(row)


@bp.route("/support-requests/<int:request_id>/rating", methods=["POST"])
@login_required
def support_request_rate(request_id: int):
    """The member's opinion of the answer, once resolved: ``satisfied`` or ``unsatisfied``."""
    _check_csrf()
    row = support.get_for(current_user, request_id)
    if current_user.is_staff:
        raise PermissionDenied("the member rates the answer")
    payload = _body()
    if payload is None:
        return _bad_json('{"rating": "satisfied" ou "unsatisfied", "comment": "…"}')
    rating = payload.get("rating")
    try:
        row = support.rate(
            row, current_user, rating if isinstance(rating, str) else None, payload.get("comment")
        )
    except ValidationError as exc:
        return _invalid(exc)
    except Conflict as exc:
        return _conflict(exc)
    except StaleDataError:
        return _changed_meanwhile()
    return _detail(row)
