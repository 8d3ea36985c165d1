"""JSON API v1: attaching a photo or a PDF to a support request (views on ``bp``).

``POST /api/v1/support-requests/<id>/attachments``, ``multipart/form-data`` with the
file in ``file`` and, for staff only, ``internal`` (``true``/``1``). Writes: a Bearer
token, or the session with its CSRF token (``X-CSRFToken``). This route alone accepts
bodies up to ``SUPPORT_ATTACHMENT_MAX_BYTES`` (plus form overhead); beyond, a JSON 413.
"""

from __future__ import annotations

from flask import jsonify
from flask import request
from flask_login import current_user
from flask_login import login_required
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.blueprints.api.routes import _check_csrf
from webapp.blueprints.api.routes import bp
from webapp.errors import json_error
from webapp.errors import render_error
from webapp.models import SupportAttachment
from webapp.models.member import as_utc
from webapp.services import attachments
from webapp.services import support
from webapp.services.errors import ValidationError

UPLOAD_ENDPOINT = "api.support_attachment_create"
MAX_ID = 2**31 - 1  # ids beyond an integer column are no request (never an OverflowError)
TRUE = ("1", "true", "on", "yes", "y", "oui")
FALSE = ("", "0", "false", "off", "no", "n", "non")


@bp.url_value_preprocessor
def _allow_attachment_upload(endpoint: str | None, values: dict | None) -> None:
    if endpoint == UPLOAD_ENDPOINT and request.method == "POST":
        request.max_content_length = attachments.upload_limit()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    if request.endpoint == UPLOAD_ENDPOINT:
        return json_error(
            413,
            "payload_too_large",
            f"Fichier trop gros : {attachments.size_label(attachments.max_bytes())} au plus.",
            max_bytes=attachments.max_bytes(),
        )
    return render_error(413)


def attachment_json(attachment: SupportAttachment) -> dict:
    return {
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "internal": attachment.internal,
        "created_at": as_utc(attachment.created_at).isoformat(),
    }


@bp.route("/support-requests/<int:request_id>/attachments", methods=["POST"])
@login_required
def support_attachment_create(request_id: int):
    """Attach ``file`` to a request the caller may see (201); ``internal`` is staff's."""
    _check_csrf()
    if request_id > MAX_ID:
        return json_error(404, "not_found", "Demande introuvable.")
    support_request = support.get_for(current_user, request_id)
    internal_text = str(request.form.get("internal", "")).strip().lower()
    if internal_text not in TRUE + FALSE:
        return json_error(400, "invalid", "« internal » vaut true ou false.", field="internal")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return json_error(
            400,
            "invalid",
            "Joignez un fichier dans le champ « file » (multipart/form-data).",
            field="file",
        )
    try:
        attachment = attachments.add(
            support_request, current_user, upload, internal=internal_text in TRUE
        )
    except ValidationError as exc:
        field, message = next(iter(exc.errors.items()))
        return json_error(400, "invalid", message, field=field)
    return jsonify(attachment_json(attachment)), 201
