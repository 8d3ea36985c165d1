"""The pages a public service owes, open to everyone (no sign-in).

``/accessibilite`` (the RGAA 4.1 statement, computed from ``docs/rgaa``), ``/mentions-legales``,
``/donnees-personnelles``, ``/contact`` (the way to reach the service without the Internet)
and ``/.well-known/security.txt`` (RFC 9116). The footer of every page reads
:func:`legal_footer`.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import render_template

from webapp.presenters import legal

bp = Blueprint("legal", __name__)


@bp.app_template_global("legal_footer")
def legal_footer() -> dict:
    """The footer's accessibility status and non-digital contact (every page)."""
    return legal.footer()


@bp.route("/accessibilite")
def accessibility():
    """The accessibility statement."""
    return render_template(
        "legal/accessibility.html", statement=legal.statement(), contact=legal.contact()
    )


@bp.route("/mentions-legales")
def legal_notice():
    """Publisher, director of publication, host."""
    return render_template("legal/notice.html", contact=legal.contact())


@bp.route("/donnees-personnelles")
def personal_data():
    """What is collected, why, for how long, who receives it, the rights."""
    return render_template(
        "legal/personal_data.html", data=legal.personal_data(), contact=legal.contact()
    )


@bp.route("/contact")
def contact():
    """Reaching the service by phone or post (CSD 2023-302), or by e-mail."""
    return render_template("legal/contact.html", contact=legal.contact())


@bp.route("/.well-known/security.txt")
def security_txt():
    """RFC 9116: where to report a vulnerability."""
    response = current_app.response_class(
        legal.security_txt(), mimetype="text/plain; charset=utf-8"
    )
    response.headers["Cache-Control"] = "max-age=86400"
    return response
