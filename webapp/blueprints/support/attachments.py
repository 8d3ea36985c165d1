"""Support requests: attaching photos and PDF to a thread, and downloading them (views on ``bp``).

The application refuses request bodies over ``MAX_CONTENT_LENGTH`` (1 Mo); the two
upload routes accept ``SUPPORT_ATTACHMENT_MAX_BYTES`` more. The limit is raised in a
URL value preprocessor because those run before every ``before_request`` function, and
Flask-WTF's CSRF check (one of those) is the first to read the form. Beyond it, the
413 page says how large a file may be.

A download is always a file to save (``Content-Disposition: attachment``), with the
content type decided at upload, never sniffed, never cached.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from webapp import access
from webapp import scoping
from webapp.blueprints.support.attachment_forms import AttachmentForm
from webapp.blueprints.support.routes import bp
from webapp.errors import render_error
from webapp.models import SupportRequest
from webapp.services import attachments
from webapp.services import support
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import ValidationError

UPLOAD_ENDPOINTS = frozenset(
    {"support.member_attachment_upload", "support.staff_attachment_upload"}
)
ANCHOR = "#pieces-jointes"  # the attachments' section of a thread page (_attachments.html)
MAX_ID = 2**31 - 1  # ids beyond an integer column are no request (never an OverflowError)


@bp.url_value_preprocessor
def _allow_attachment_upload(endpoint: str | None, values: dict | None) -> None:
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        request.max_content_length = attachments.upload_limit()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    # The page's own forms (language, logout) must find the refused body empty.
    request.form = request.files = ImmutableMultiDict()
    if request.endpoint in UPLOAD_ENDPOINTS:
        return render_error(413, too_large_message())
    return render_error(413)


def too_large_message() -> str:
    return _(
        "Le fichier envoyé dépasse %(max)s : choisissez une photo plus légère ou un PDF "
        "plus court, puis réessayez.",
        max=attachments.size_label(attachments.max_bytes()),
    )


def _load(request_id: int, slug: str | None = None) -> SupportRequest:
    """The request for the signed-in user (NotFound if they may not see it)."""
    member = scoping.get_member(current_user, slug) if slug is not None else None
    if request_id > MAX_ID:
        raise NotFound(request_id)
    return support.get_for(current_user, request_id, member)


def _upload(support_request: SupportRequest, back: str, *, internal: bool):
    """Attach the posted file; tell the result on the thread page."""
    form = AttachmentForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(back + ANCHOR, code=303)
    try:
        attachment = attachments.add(
            support_request, current_user, form.file.data, internal=internal and form.internal.data
        )
    except ValidationError as exc:
        for message in exc.errors.values():
            flash(message, "error")
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("« %(name)s » est joint à la demande.", name=attachment.name), "success")
    return redirect(back + ANCHOR, code=303)


@bp.route("/membres/<slug>/support/<int:request_id>/pieces-jointes", methods=["POST"])
@login_required
def member_attachment_upload(slug: str, request_id: int):
    """Attach a photo or a PDF to one of the member's requests (any of its users)."""
    support_request = _load(request_id, slug)
    back = url_for(
        "support.member_request", slug=support_request.member.slug, request_id=support_request.id
    )
    return _upload(support_request, back, internal=False)


@bp.route("/support/<int:request_id>/pieces-jointes", methods=["POST"])
@login_required
def staff_attachment_upload(request_id: int):
    """Attach a photo or a PDF to a request (staff), internal if asked."""
    access.require_staff()
    support_request = _load(request_id)
    back = url_for("support.staff_request", request_id=support_request.id)
    return _upload(support_request, back, internal=True)


def download_headers(name: str, content_type: str) -> dict[str, str]:
    """A file to save (RFC 6266 / 5987 name), never sniffed, never cached."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name
    )
    return {
        "Content-Type": content_type,
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
        ),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }


def _send(support_request: SupportRequest, attachment_id: int):
    attachment, path = attachments.open_for(current_user, support_request, attachment_id)
    # Read whole (SUPPORT_ATTACHMENT_MAX_BYTES at most): no file handle outlives the request.
    return path.read_bytes(), 200, download_headers(attachment.name, attachment.content_type)


@bp.route("/membres/<slug>/support/<int:request_id>/pieces-jointes/<int:attachment_id>")
@login_required
def member_attachment(slug: str, request_id: int, attachment_id: int):
    """Download an attachment of one of the member's requests (never an internal one)."""
    return _send(_load(request_id, slug), attachment_id)


@bp.route("/support/<int:request_id>/pieces-jointes/<int:attachment_id>")
@login_required
def staff_attachment(request_id: int, attachment_id: int):
    """Download an attachment of a request (staff)."""
    access.require_staff()
    return _send(_load(request_id), attachment_id)
