"""``GET /healthz`` for load balancers and supervision of Vigie itself."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp import access
from webapp.extensions import db
from webapp.extensions import limiter
from webapp.live.monitor import get_monitor

bp = Blueprint("health", __name__)

SOURCE_ERROR_CODE = "source_unavailable"


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """Database and source health, and the age of the last good source read."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "error"
    monitor = get_monitor()
    monitor.current()
    age = monitor.age_s()
    stale = monitor.is_stale(int(current_app.config["STALE_AFTER_POLLS"]))
    source = "error" if monitor.last_error else ("stale" if stale else "ok")
    status = "ok" if database == "ok" and source == "ok" else "degraded"
    code = 503 if database != "ok" else 200
    body = {
        "status": status,
        "database": database,
        "source": source,
        "source_name": monitor.source.name,
        "source_age_s": round(age, 1) if age is not None else None,
        # A code for anyone (load balancers, supervision); the source's own words (addresses,
        # accounts, library messages) for syndicate administrators only.
        "source_error": SOURCE_ERROR_CODE if monitor.last_error else None,
    }
    # The signed-in user is read from the database: only when it answers.
    if monitor.last_error and database == "ok" and access.is_admin():
        body["source_error_detail"] = monitor.last_error
    return jsonify(body), code
