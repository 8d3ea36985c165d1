"""Syndicate administration: a member's supervision agreements (views on ``bp``).

Syndicate administrators record and edit them, with the signed PDF; support staff get
403, a member's user 404 on another member (403 on its own, as every admin page).

The application refuses request bodies over ``MAX_CONTENT_LENGTH`` (1 Mo); the two
upload routes accept ``AGREEMENT_MAX_BYTES`` more. The limit is raised in a URL value
preprocessor because those run before every ``before_request`` function, and
Flask-WTF's CSRF check (one of those) is the first to read the form.
"""

from __future__ import annotations

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from webapp import access
from webapp import scoping
from webapp.blueprints.admin.routes import bp
from webapp.errors import render_error
from webapp.forms import AgreementForm
from webapp.forms import apply_errors
from webapp.models import Agreement
from webapp.models import Member
from webapp.presenters import agreements as view
from webapp.services import agreements
from webapp.services import orders
from webapp.services.errors import ValidationError

UPLOAD_ENDPOINTS = frozenset({"admin.agreements", "admin.agreement_edit"})


def upload_limit() -> int:
    """The largest body of an upload: the document plus what any other form may carry."""
    return agreements.max_bytes() + int(current_app.config["MAX_CONTENT_LENGTH"] or 0)


@bp.url_value_preprocessor
def _allow_agreement_upload(endpoint: str | None, values: dict | None) -> None:
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        request.max_content_length = upload_limit()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    # The page's own forms (language, logout) read the submitted data when they are built:
    # they must find it empty, not read the refused body again (a 413 inside the 413).
    request.form = request.files = ImmutableMultiDict()
    if request.endpoint in UPLOAD_ENDPOINTS:
        return render_error(
            413,
            _(
                "Le document envoyé dépasse %(max)s : choisissez un PDF plus léger "
                "(numérisé en noir et blanc, par exemple), puis réessayez.",
                max=agreements.size_label(agreements.max_bytes()),
            ),
        )
    return render_error(413)


def _member(slug: str) -> Member:
    """The member (another member's user: not found), for a syndicate administrator (403).

    The member is looked up before the role is checked (not ``@staff_required``), so a
    member's user never learns whether another member's slug exists.
    """
    member = scoping.get_member(current_user, slug)
    access.require_staff(admin_only=True)
    return member


def _form(**kwargs) -> AgreementForm:
    form = AgreementForm(**kwargs)
    form.document.description = _(
        "Un fichier PDF de %(max)s au plus.", max=agreements.size_label(agreements.max_bytes())
    )
    return form


def _document(form: AgreementForm) -> tuple[str | None, bytes | None]:
    """The uploaded file as (name, content); (None, None) when no file was chosen."""
    upload = form.document.data
    if upload is None or not getattr(upload, "filename", ""):
        return None, None
    return upload.filename, upload.read()


def _terms(form: AgreementForm) -> dict:
    name, content = _document(form)
    return {
        "signed_on": form.signed_on.data,
        "renewal_on": form.renewal_on.data,
        "package_probes": form.package_probes.data,
        "reference": form.reference.data,
        "document_name": name,
        "document": content,
    }


def _list_page(member: Member, form: AgreementForm, status: int = 200):
    today = orders.today_local()
    status_view = view.agreement_status(member, today)
    return (
        render_template(
            "admin/agreements.html",
            member=member,
            form=form,
            status=status_view,
            rows=view.rows(member, today, status_view.agreement),
        ),
        status,
    )


@bp.route("/membres/<slug>/conventions", methods=["GET", "POST"], endpoint="agreements")
@login_required
def agreements_page(slug: str):
    """A member's agreements, and the form to record a new one."""
    member = _member(slug)
    form = _form()
    if request.method == "GET":
        return _list_page(member, form)
    if form.validate_on_submit():
        try:
            row = agreements.record(member, current_user, **_terms(form))
        except ValidationError as exc:
            apply_errors(form, exc, "reference")
        else:
            flash(_("La convention de %(name)s est enregistrée.", name=member.name), "success")
            url = url_for("admin.agreements", slug=member.slug) + f"#convention-{row.id}"
            return redirect(url, code=303)
    return _list_page(member, form, 400)


@bp.route("/membres/<slug>/conventions/<int:agreement_id>", methods=["GET", "POST"])
@login_required
def agreement_edit(slug: str, agreement_id: int):
    """Edit an agreement; a new PDF replaces the old one, none keeps it."""
    member = _member(slug)
    agreement = agreements.get(member, agreement_id)
    form = _form(
        reference=agreement.reference,
        signed_on=agreement.signed_on,
        renewal_on=agreement.renewal_on,
        package_probes=agreement.package_probes,
    )  # not obj=: it would load the deferred document
    if form.validate_on_submit():
        try:
            agreements.update(member, agreement.id, current_user, **_terms(form))
        except ValidationError as exc:
            apply_errors(form, exc, "reference")
        else:
            flash(_("La convention est modifiée."), "success")
            url = url_for("admin.agreements", slug=member.slug) + f"#convention-{agreement.id}"
            return redirect(url, code=303)
    return _edit_page(member, agreement, form, 400 if request.method == "POST" else 200)


def _edit_page(member: Member, agreement: Agreement, form: AgreementForm, status: int):
    today = orders.today_local()
    current = agreements.current(member, today)
    return (
        render_template(
            "admin/agreement_edit.html",
            member=member,
            agreement=agreement,
            row=view.agreement_row(agreement, today, current),
            form=form,
        ),
        status,
    )


@bp.route("/membres/<slug>/conventions/<int:agreement_id>.pdf")
@login_required
def agreement_document(slug: str, agreement_id: int):
    """The signed document, to save (never shown inline, never cached)."""
    name, content = agreements.document(_member(slug), agreement_id)
    return content, 200, view.download_headers(name)
