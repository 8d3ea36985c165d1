"""Support requests: the member's list, form and thread; the syndicate's queue and thread.

Member pages live under ``/membres/<slug>/support`` (another member's request is a
404); the staff's under ``/support``. A thread page and the queue are live: they join
their Socket.IO room and fetch their parts again after each ``support.update``.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from webapp import access
from webapp import scoping
from webapp.forms import ConfirmForm
from webapp.forms import SupportAssignForm
from webapp.forms import SupportCommentForm
from webapp.forms import SupportForm
from webapp.forms import SupportRatingForm
from webapp.forms import SupportStatusForm
from webapp.htmx import render_page_or_fragment
from webapp.presenters import support as support_pages
from webapp.services import support
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError

bp = Blueprint("support", __name__)
MAX_ID = 2**31 - 1  # ids beyond an integer column are no request (never an OverflowError)


def _version() -> int | None:
    text = request.form.get("version", "")
    return int(text) if text.isdigit() and len(text) < 10 else None


def _load(request_id: int, slug: str | None = None):
    """The request for the signed-in user (404 if they may not see it)."""
    member = scoping.get_member(current_user, slug) if slug is not None else None
    if request_id > MAX_ID:
        abort(404)
    try:
        return support.get_for(current_user, request_id, member)
    except NotFound:
        abort(404)


def _thread_url(req) -> str:
    if current_user.is_staff:
        return url_for("support.staff_request", request_id=req.id)
    return url_for("support.member_request", slug=req.member.slug, request_id=req.id)


def _attach_errors(form, errors: dict[str, str]) -> None:
    """Show a service's refusals under the fields they name, as the form's own errors."""
    for name, message in errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]


def _page_number() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


# -- member side ----------------------------------------------------------------------


@bp.route("/membres/<slug>/support")
@login_required
def member_requests(slug: str):
    """The member's support requests, newest first."""
    member = scoping.get_member(current_user, slug)
    page = support.for_member(member, _page_number())
    return render_template("support/member.html", **support_pages.member_list(member, page))


@bp.route("/membres/<slug>/support/nouvelle", methods=["GET", "POST"])
@login_required
def new(slug: str):
    """Ask the syndicate's support for help, optionally about one piece of equipment."""
    member = scoping.get_member(current_user, slug)
    form = SupportForm()
    form.category.choices = [SelectChoice(k, v) for k, v in support.categories().items()]
    if request.method == "GET":
        form.hostid.data = request.args.get("equipement", "")[:32]
        form.category.data = "outage" if form.hostid.data else "question"
    context = support_pages.new_form(member, form)
    errors: dict[str, str] = {}
    if request.method == "POST" and form.validate_on_submit():
        try:
            new_request = support.parse_new(_form_values(form))
            created = support.open_request(member, current_user, new_request)
        except ValidationError as exc:
            errors = exc.errors
            _attach_errors(form, errors)
        else:
            flash(
                _("Votre demande n° %(id)d est envoyée au support du syndicat.", id=created.id),
                "success",
            )
            return redirect(url_for("support.member_request", slug=slug, request_id=created.id))
    status = 400 if request.method == "POST" else 200
    return render_template("support/new.html", form=form, errors=errors, **context), status


def _form_values(form: SupportForm) -> dict:
    return {
        "subject": form.subject.data,
        "message": form.message.data,
        "category": form.category.data,
        "urgency": form.urgency.data,
        "hostid": form.hostid.data or None,
        "contact": form.contact.data if current_user.is_staff else None,
    }


@bp.route("/membres/<slug>/support/<int:request_id>")
@login_required
def member_request(slug: str, request_id: int):
    """A request's thread, as the member sees it (never an internal note)."""
    req = _load(request_id, slug)
    return render_page_or_fragment(
        "support/thread.html",
        "support/_thread_parts.html",
        **support_pages.thread(req, current_user, staff_view=False),
    )


@bp.route("/membres/<slug>/support/<int:request_id>/repondre", methods=["POST"])
@login_required
def member_comment(slug: str, request_id: int):
    req = _load(request_id, slug)
    return _comment(req)


@bp.route("/membres/<slug>/support/<int:request_id>/statut", methods=["POST"])
@login_required
def member_status(slug: str, request_id: int):
    req = _load(request_id, slug)
    return _status(req)


@bp.route("/membres/<slug>/support/<int:request_id>/avis", methods=["POST"])
@login_required
def member_rating(slug: str, request_id: int):
    """« Satisfait » / « pas satisfait », in one tap, after resolution."""
    req = _load(request_id, slug)
    form = SupportRatingForm()
    if form.validate_on_submit():
        try:
            support.rate(req, current_user, form.rating.data, form.comment.data)
        except (ValidationError, Conflict) as exc:
            return _thread_error(req, exc)
        except PermissionDenied:
            abort(403)
        flash(_("Merci pour votre avis."), "success")
    return redirect(_thread_url(req) + "#avis")


# -- both sides -----------------------------------------------------------------------


def _thread_error(req, exc, *, form_name: str = "comment", **forms):
    """The thread again, with the error said where it happened (400 or 409)."""
    if isinstance(exc, ValidationError):
        errors, code = exc.errors, 400
    else:
        errors, code = {"form": exc.message}, 409
    context = support_pages.thread(
        req,
        current_user,
        staff_view=current_user.is_staff,
        errors=errors,
        error_form=form_name,
        **forms,
    )
    return render_template("support/thread.html", **context), code


def _comment(req):
    form = SupportCommentForm()
    if not form.validate_on_submit():
        return redirect(_thread_url(req))
    try:
        support.add_comment(
            req,
            current_user,
            form.body.data,
            internal=bool(form.internal.data) and current_user.is_staff,
            expected_version=_version(),
        )
    except (ValidationError, Conflict) as exc:
        return _thread_error(req, exc, comment_form=form)
    except PermissionDenied:
        abort(403)
    flash(_("Note interne ajoutée.") if form.internal.data else _("Message envoyé."), "success")
    return redirect(_thread_url(req) + "#fil")


def _status(req):
    form = SupportStatusForm()
    if not form.validate_on_submit():
        return redirect(_thread_url(req))
    try:
        support.change_status(
            req,
            current_user,
            form.status.data,
            resolution=form.resolution.data,
            expected_version=_version(),
        )
    except (ValidationError, Conflict) as exc:
        return _thread_error(req, exc, form_name="status", status_form=form)
    except PermissionDenied:
        abort(403)
    flash(
        _("Statut de la demande : %(status)s.", status=support_pages.status_label(req.status)),
        "success",
    )
    return redirect(_thread_url(req))


# -- the syndicate's side -------------------------------------------------------------


@bp.route("/support")
@login_required
def queue():
    """The syndicate's queue: filters, search, sort, pages; live (staff)."""
    access.require_staff()
    statuses = request.args.getlist("statut")
    try:
        filters = support.parse_filters(request.args, statuses)
        errors = {}
    except ValidationError as exc:
        filters, errors = support.QueueFilters(), exc.errors
    context = support_pages.queue(filters, current_user, errors=errors)
    response = render_page_or_fragment("support/queue.html", "support/_queue_parts.html", **context)
    if errors:
        response.status_code = 400
    return response


@bp.route("/support/nouvelle", methods=["GET", "POST"])
@login_required
def staff_new():
    """Open a request on a member's behalf (a phone call) (staff)."""
    access.require_staff()
    form = SupportForm()
    form.category.choices = [SelectChoice(k, v) for k, v in support.categories().items()]
    members = scoping.visible_members(current_user)
    form.member.choices = [SelectChoice("", _("Choisissez un membre"))] + [
        SelectChoice(m.slug, m.name) for m in members
    ]
    if request.method == "GET":
        form.member.data = request.args.get("membre", "")[:80]
        form.hostid.data = request.args.get("equipement", "")[:32]
    errors: dict[str, str] = {}
    if request.method == "POST" and form.validate_on_submit():
        member = next((m for m in members if m.slug == form.member.data), None)
        try:
            if member is None:
                raise ValidationError({"member": _("Choisissez le membre concerné.")})
            created = support.open_request(
                member, current_user, support.parse_new(_form_values(form))
            )
        except ValidationError as exc:
            errors = exc.errors
            _attach_errors(form, errors)
        else:
            flash(
                _("Demande n° %(id)d ouverte pour %(member)s.", id=created.id, member=member.name),
                "success",
            )
            return redirect(url_for("support.staff_request", request_id=created.id))
    status = 400 if request.method == "POST" else 200
    return render_template("support/staff_new.html", form=form, errors=errors), status


@bp.route("/support/<int:request_id>")
@login_required
def staff_request(request_id: int):
    """A request's whole thread, internal notes included (staff)."""
    access.require_staff()
    req = _load(request_id)
    return render_page_or_fragment(
        "support/thread.html",
        "support/_thread_parts.html",
        **support_pages.thread(req, current_user, staff_view=True),
    )


@bp.route("/support/<int:request_id>/repondre", methods=["POST"])
@login_required
def staff_comment(request_id: int):
    access.require_staff()
    return _comment(_load(request_id))


@bp.route("/support/<int:request_id>/statut", methods=["POST"])
@login_required
def staff_status(request_id: int):
    access.require_staff()
    return _status(_load(request_id))


@bp.route("/support/<int:request_id>/attribuer", methods=["POST"])
@login_required
def staff_assign(request_id: int):
    """Give the request to an agent, to oneself, or to nobody (staff)."""
    access.require_staff()
    req = _load(request_id)
    form = SupportAssignForm()
    if not form.validate_on_submit():
        return redirect(_thread_url(req))
    value = str(current_user.id) if request.form.get("assign_me") else form.assignee.data or ""
    try:
        assignee = int(value) if value.isdigit() and len(value) < 10 else None
        if value and assignee is None:
            raise ValidationError({"assignee": _("Choisissez un membre du support.")})
        support.assign(req, current_user, assignee, expected_version=_version())
    except (ValidationError, Conflict) as exc:
        return _thread_error(req, exc, form_name="assign")
    flash(_("Demande attribuée.") if value else _("Attribution retirée."), "success")
    return redirect(_thread_url(req))


@bp.route("/support/<int:request_id>/cloturer", methods=["POST"])
@login_required
def close(request_id: int):
    """Close a request at once (staff)."""
    access.require_staff()
    if ConfirmForm().validate_on_submit():
        req = _load(request_id)
        try:
            support.close(req.id, current_user)
        except Conflict as exc:
            flash(exc.message, "error")
        else:
            flash(_("Demande fermée."), "success")
    return redirect(url_for("support.queue"))


__all__ = ["bp"]
