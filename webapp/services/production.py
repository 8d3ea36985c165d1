"""What production refuses at the door: the demo accounts, however they come.

A database where ``flask vigie demo load`` ran keeps its demo accounts (published
passwords) after ``VIGIE_ENV=production`` is set: their sign-in, any session they had
opened before, their API tokens and their sockets are all refused then
(:mod:`webapp.services.accounts`, :mod:`webapp.services.sessions`,
:mod:`webapp.services.tokens`).
"""

from __future__ import annotations

from flask import current_app

from webapp.models import User

__all__ = ["is_production", "refuses"]


def is_production() -> bool:
    return current_app.config.get("ENV") == "production"


def refuses(user: User) -> bool:
    """Whether ``user`` may not act here at all: a demo account, in production."""
    return bool(user.is_demo) and is_production()
