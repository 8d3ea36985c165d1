"""HTTP hardening shared by every route: bounded ids, body size, caching, redacted logs.

Bound by :func:`init_app` before the blueprints, so that ``<int:…>`` in every rule is the
bounded converter below. :func:`redact` is also what gunicorn's access log goes through
(``gunicorn.conf.py``): it must stay free of Flask state.
"""

from __future__ import annotations

import logging
import re

from flask import Flask
from flask import Response
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

__all__ = ["MAX_ID", "BoundedIntegerConverter", "RedactSecretPaths", "init_app", "redact"]

MAX_ID = 2**31 - 1  # the largest value of an integer column (PostgreSQL INTEGER, our ids)

# Paths whose last segment is a bearer secret: kiosk links, password (invitation and reset)
# links, alert unsubscribe links. The URL map's rules with a ``<token>`` are all here
# (tests/integration/test_http_hardening.py checks it).
SECRET_PATHS = re.compile(
    r"(/mur/kiosque/|/mot-de-passe/definir/|/profil/alertes/desabonnement/)[^\s?#&\"'/]+"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with the secret of every kiosk, password or unsubscribe link path removed.

    >>> redact('"GET /mur/kiosque/k_abc123?x=1 HTTP/1.1" 302')
    '"GET /mur/kiosque/[redacted]?x=1 HTTP/1.1" 302'
    """
    return SECRET_PATHS.sub(r"\1" + REDACTED, text)


class RedactSecretPaths(logging.Filter):
    """A logging filter: the record's message goes through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` up to :data:`MAX_ID`: a larger number matches no route (404), never an
    ``OverflowError`` (SQLite) or an out-of-range error (PostgreSQL) deep in a view."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    """Before any rule is added: the bounded ``int``; then the request and response hooks."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(_refuse_oversized_body)
    app.after_request(_never_stored)
    werkzeug_log = logging.getLogger("werkzeug")  # `flask vigie serve`'s access log
    if not any(isinstance(f, RedactSecretPaths) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactSecretPaths())


def _refuse_oversized_body() -> None:
    """A body announced over the limit is a 413 on every route, read or not by its view.

    (Werkzeug refuses it only when the form is read: a route that never reads it would
    answer as if nothing was wrong.) The upload routes' larger limits are set earlier, by
    their blueprint's URL value preprocessor.
    """
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()


def _never_stored(response: Response) -> Response:
    """``Cache-Control: no-store`` on every dynamic answer that does not set its own.

    Signed-in pages and JSON (an API token shown once, a kiosk or invitation link, a
    member's state) must not be kept by the browser or any cache (ASVS 8.2.1). Public pages
    get it too: they carry a CSRF token bound to the visitor's session, or the name of a
    password link's owner, and are cheap to fetch again. Static files, and the answers that
    chose their policy (the service worker, the offline page, the OpenAPI document), keep it.
    """
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
