"""Render a full page, or only its fragment for an htmx request."""

from __future__ import annotations

from flask import make_response
from flask import render_template
from flask import request


def is_htmx_fragment_request() -> bool:
    """True for an htmx request that is not boosted navigation."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def render_page_or_fragment(page: str, fragment: str, **context):
    """Render ``fragment`` for htmx requests, ``page`` otherwise; vary on ``HX-Request``."""
    template = fragment if is_htmx_fragment_request() else page
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response
