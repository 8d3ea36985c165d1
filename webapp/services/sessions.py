"""Signed-in sessions: started at login, checked on every request, revocable.

The browser's cookie carries only a random session id; the server keeps its SHA-256
digest in :class:`~webapp.models.UserSession` with the limits of the user's role:

* syndicate staff and member admins (privileged): ``SESSION_PRIVILEGED_MAX_HOURS``
  (12 h) after sign-in, ``SESSION_PRIVILEGED_IDLE_MINUTES`` (30 min) without activity,
  in a cookie that ends with the browser;
* viewers: ``SESSION_VIEWER_MAX_DAYS`` and ``SESSION_VIEWER_IDLE_DAYS`` (30 days), in a
  cookie that stays on the device.

A session also ends when what its user may do changes: its ``stamp`` is a digest of
the password hash, the account's state and every role, so a password reset, a
deactivation or a role given or taken ends it at its next request, whoever wrote the
change. Ending sessions here also closes their sockets: in this process at once (the
hook ``webapp.realtime`` binds), in the others at their next check, and every browser
page hears ``session.ended`` on its session's room. Like every service, this one never
reads the request: the caller passes the user agent and address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select

from webapp.extensions import db
from webapp.live import events
from webapp.models import User
from webapp.models import UserSession
from webapp.models.choices import MemberRole
from webapp.models.choices import SessionEnd
from webapp.models.choices import SignInMethod
from webapp.models.member import as_utc
from webapp.services import production
from webapp.services.errors import NotFound
from webapp.services.push import device_label

logger = logging.getLogger(__name__)

#: ``last_seen_at`` is written at most this often (seconds): one write a minute per device.
TOUCH_EVERY_S = 60
#: The key of ``app.extensions`` holding ``close(ids)``: this process's sockets of ended sessions.
CLOSE_SOCKETS_HOOK = "vigie.close_session_sockets"
_MAX_ID = 2**31


def _now() -> datetime:
    """The current time (UTC); the tests move it."""
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionEnded(Exception):
    """The session is unknown, revoked or past a limit; ``reason`` is a :class:`SessionEnd`
    (``None`` for an id the server never gave or has forgotten)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "unknown")
        self.reason = reason


@dataclass(frozen=True)
class Policy:
    """The limits of a role's sessions."""

    privileged: bool
    max_age: timedelta  # since sign-in, however active
    idle: timedelta  # since the last request
    persistent: bool  # the cookie stays on the device after the browser closes


def is_privileged(user: User) -> bool:
    """Syndicate staff and member admins: the higher-risk accounts (shorter sessions)."""
    return user.is_staff or any(m.role == MemberRole.MEMBER_ADMIN for m in user.memberships)


def policy_for(user: User) -> Policy:
    config = current_app.config
    if is_privileged(user):
        return Policy(
            privileged=True,
            max_age=timedelta(hours=float(config["SESSION_PRIVILEGED_MAX_HOURS"])),
            idle=timedelta(minutes=float(config["SESSION_PRIVILEGED_IDLE_MINUTES"])),
            persistent=False,
        )
    return Policy(
        privileged=False,
        max_age=timedelta(days=float(config["SESSION_VIEWER_MAX_DAYS"])),
        idle=timedelta(days=float(config["SESSION_VIEWER_IDLE_DAYS"])),
        persistent=True,
    )


def credential_stamp(user: User) -> str:
    """A digest of what the user may do: its password, whether active, every role."""
    roles = sorted(f"{m.member_id}:{m.role}" for m in user.memberships)
    parts = [user.password_hash or "", str(bool(user.active)), user.staff_role or "", *roles]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def ip_prefix(address: str | None) -> str | None:
    """The network a device signed in from, never its address: IPv4 /24, IPv6 /48."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def start(
    user: User,
    *,
    user_agent: str | None = None,
    address: str | None = None,
    method: str = SignInMethod.PASSWORD,
) -> tuple[str, UserSession]:
    """Open a session for ``user`` (just authenticated): its clear id (for the cookie only)
    and its row. The limits are the user's role's, fixed now; ``method`` is how the user
    proved who they are (:class:`~webapp.models.choices.SignInMethod`)."""
    policy = policy_for(user)
    now = _now()
    clear = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=_digest(clear),
        user=user,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.max_age,
        idle_seconds=int(policy.idle.total_seconds()),
        persistent=policy.persistent,
        stamp=credential_stamp(user),
        device=device_label(user_agent),
        ip_prefix=ip_prefix(address),
        method=str(SignInMethod(method)),
    )
    db.session.add(row)
    db.session.commit()
    logger.info("Session %s started for user %s (%s, %s)", row.id, user.id, row.device, method)
    return clear, row


def _ended_by_time(row: UserSession, now: datetime) -> str | None:
    if now >= as_utc(row.expires_at):
        return SessionEnd.EXPIRED
    if now - as_utc(row.last_seen_at) > timedelta(seconds=row.idle_seconds):
        return SessionEnd.IDLE
    return None


def _why_ended(row: UserSession, now: datetime) -> str | None:
    """Why ``row`` cannot be used any more, or ``None`` if it can."""
    if row.revoked_at is not None:
        return row.revoked_reason or SessionEnd.LOGOUT
    if not row.user.active or row.stamp != credential_stamp(row.user):
        return SessionEnd.CREDENTIALS
    if production.refuses(row.user):  # opened before VIGIE_ENV=production
        return SessionEnd.DEMO_ACCOUNT
    return _ended_by_time(row, now)


def _commit_unless_busy(busy: bool) -> None:
    """Commit a bookkeeping write, unless the caller has changes of its own pending:
    they are committed (or rolled back) together by the caller, never half-way by us."""
    if not busy:
        db.session.commit()


def resolve(clear: str) -> UserSession:
    """The live session of the cookie id ``clear``, its activity noted (once a minute).

    Raises :class:`SessionEnded` for an unknown id or a session past a limit, revoked,
    or whose user's password, state or roles have changed (it is revoked then).
    """
    if not isinstance(clear, str) or not 20 <= len(clear) <= 128:
        raise SessionEnded(None)
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _digest(clear)))
    if row is None:
        raise SessionEnded(None)
    now = _now()
    reason = _why_ended(row, now)
    busy = bool(db.session.new or db.session.dirty or db.session.deleted)
    if reason is not None:
        if row.revoked_at is None:
            _mark([row], reason, now)
            _commit_unless_busy(busy)
            logger.info("Session %s of user %s ended: %s", row.id, row.user_id, reason)
            _close_sockets([row.id], reason)
        raise SessionEnded(reason)
    if (now - as_utc(row.last_seen_at)).total_seconds() >= TOUCH_EVERY_S:
        row.last_seen_at = now
        _commit_unless_busy(busy)
    return row


def _mark(rows: Iterable[UserSession], reason: str, now: datetime) -> list[int]:
    ids = []
    for row in rows:
        row.revoked_at = now
        row.revoked_reason = reason
        ids.append(row.id)
    return ids


def _close_sockets(ids: list[int], reason: str) -> None:
    """After the commit: close the sockets of ``ids`` (this process at once) and tell
    every page of those sessions, in whatever process, that they are over."""
    if not ids:
        return
    close: Callable[[list[int]], int] | None = current_app.extensions.get(CLOSE_SOCKETS_HOOK)
    for session_id in ids:
        events.publish("session.ended", {"reason": reason}, events.session_room(session_id))
    if close is not None:
        close(ids)


def _active_rows(user: User) -> list[UserSession]:
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()
    now = _now()
    return [row for row in rows if _why_ended(row, now) is None]


def list_for(user: User) -> list[UserSession]:
    """The user's signed-in devices, the most recently active first."""
    return _active_rows(user)


def revoke_one(user: User, session_id: int, reason: str = SessionEnd.ENDED_BY_USER) -> UserSession:
    """End one of ``user``'s sessions; :class:`NotFound` if it is not theirs or is over."""
    row = db.session.get(UserSession, session_id) if 0 < session_id < _MAX_ID else None
    if row is None or row.user_id != user.id or _why_ended(row, _now()) is not None:
        raise NotFound(session_id)
    _mark([row], reason, _now())
    db.session.commit()
    logger.info("Session %s of user %s ended: %s", row.id, user.id, reason)
    _close_sockets([row.id], reason)
    return row


def revoke_all_for(
    user: User,
    *,
    except_current: int | None = None,
    reason: str = SessionEnd.CREDENTIALS,
) -> int:
    """End every session of ``user`` but ``except_current`` (a session id); how many.

    Commits the caller's pending changes with it (a new password and the end of the
    sessions it replaces are one transaction). The session kept, if any, takes the
    user's new stamp: it survives the change it was used to make.
    """
    now = _now()
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ).all()
    kept = [row for row in rows if row.id == except_current]
    ids = _mark([row for row in rows if row.id != except_current], reason, now)
    for row in kept:
        row.stamp = credential_stamp(user)
    db.session.commit()
    if ids:
        logger.info("%d sessions of user %s ended: %s", len(ids), user.id, reason)
    _close_sockets(ids, reason)
    return len(ids)


def alive(ids: Iterable[int]) -> set[int]:
    """Which of the session ids ``ids`` are still usable (the socket check, every process)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    now = _now()
    rows = db.session.scalars(select(UserSession).where(UserSession.id.in_(wanted))).all()
    return {row.id for row in rows if _why_ended(row, now) is None}


def purge_expired(now: datetime | None = None) -> int:
    """Delete ended sessions (revoked, or past their absolute or idle limit); how many."""
    now = now or _now()
    removed = db.session.execute(
        delete(UserSession).where(
            or_(UserSession.revoked_at.is_not(None), UserSession.expires_at <= now)
        )
    ).rowcount
    # Idle ones: at least the shortest idle limit without activity, then checked one by one.
    shortest = min(
        float(current_app.config["SESSION_PRIVILEGED_IDLE_MINUTES"]) * 60,
        float(current_app.config["SESSION_VIEWER_IDLE_DAYS"]) * 86400,
    )
    quiet = db.session.scalars(
        select(UserSession).where(UserSession.last_seen_at < now - timedelta(seconds=shortest))
    ).all()
    idle = [row.id for row in quiet if _ended_by_time(row, now) is not None]
    if idle:
        removed += db.session.execute(delete(UserSession).where(UserSession.id.in_(idle))).rowcount
    db.session.commit()
    if removed:
        logger.info("%d ended sessions purged", removed)
    return removed
