"""Who may do what, for the request at hand: the one access guard of views, API and sockets.

:mod:`webapp.scoping` decides, from plain values, which members a user may see and
manage (services use it). This module reads the request's ``current_user`` and
``session`` and answers the questions views, the JSON API and the Socket.IO
handlers ask: is this syndicate staff (or an admin), a member's administrator, or a
screen opened by a kiosk link that is still active? Its ``require_*`` guards refuse
the way pages always have: 403 for a signed-in user lacking a staff role, *not
found* where even the existence of the thing is hidden (the wall, a foreign member).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Literal

from flask import abort
from flask import session
from flask_login import current_user
from flask_login import login_required

from webapp import scoping
from webapp.models import Member
from webapp.services import kiosk
from webapp.services.errors import NotFound

STAFF = "staff"
KIOSK = "kiosk"
KIOSK_SESSION_KEY = "kiosk_id"

Viewer = Literal["staff", "kiosk"]


# ---- questions ------------------------------------------------------------------------


def is_staff() -> bool:
    """Whether the caller is signed in with a syndicate role (support or admin)."""
    return bool(current_user.is_authenticated and current_user.is_staff)


def is_admin() -> bool:
    """Whether the caller is signed in as a syndicate administrator."""
    return bool(current_user.is_authenticated and current_user.is_admin)


def kiosk_link_id() -> int | None:
    """The id of the kiosk link this session was opened with, if the link is still active."""
    link_id = session.get(KIOSK_SESSION_KEY)
    return link_id if kiosk.is_active(link_id) else None


def is_kiosk() -> bool:
    """Whether this session is a screen opened by a kiosk link that is still active."""
    return kiosk_link_id() is not None


def wall_viewer(*, forget_revoked: bool = False) -> Viewer | None:
    """``staff``, ``kiosk`` (a link still active) or ``None``: who may look at the wall.

    With ``forget_revoked``, a session holding a revoked link's id drops it.
    """
    if is_staff():
        return STAFF
    if kiosk_link_id() is not None:
        return KIOSK
    if forget_revoked:
        session.pop(KIOSK_SESSION_KEY, None)
    return None


def can_administer(member: Member) -> bool:
    """Whether the signed-in caller may manage ``member`` (a member admin or a syndicate admin)."""
    return bool(current_user.is_authenticated and scoping.can_administer(current_user, member))


# ---- guards ---------------------------------------------------------------------------


def require_staff(*, admin_only: bool = False) -> None:
    """403 unless the signed-in caller is staff (an admin with ``admin_only``)."""
    if not (is_admin() if admin_only else is_staff()):
        abort(403)


def staff_required(admin_only: bool = False) -> Callable:
    """Decorator: sign-in required, then :func:`require_staff`."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            require_staff(admin_only=admin_only)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_admin_of(member: Member) -> None:
    """Raise :class:`PermissionDenied` unless the caller may manage ``member``."""
    scoping.require_admin_of(current_user, member)


def require_wall_viewer(*, forget_revoked: bool = True) -> Viewer:
    """Staff or an active kiosk link, else *not found* (the wall's existence is not told)."""
    viewer = wall_viewer(forget_revoked=forget_revoked)
    if viewer is None:
        raise NotFound("wall")
    return viewer


def require_wall_staff() -> None:
    """Staff only, else *not found*: the wall's own administration (kiosk links)."""
    if require_wall_viewer() != STAFF:
        raise NotFound("wall")
