"""Socket.IO handlers: authenticated rooms per member and for the wall.

Clients connect to the ``/live`` namespace with their session cookie (the same
origin only: Engine.IO refuses other origins). They then ``subscribe`` to a
member they may see — the same scoping as pages, so a user of member A asking
for member B gets an error and joins nothing. Rooms and publishing live in
:mod:`webapp.live.events`.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

from flask import Flask
from flask import current_app
from flask import request
from flask import session
from flask_login import current_user
from flask_socketio import ConnectionRefusedError
from flask_socketio import join_room
from flask_socketio import leave_room

from webapp import access
from webapp import scoping
from webapp import security
from webapp.extensions import db
from webapp.extensions import socketio
from webapp.live import events
from webapp.live.events import NAMESPACE
from webapp.live.events import WALL_ROOM
from webapp.live.events import member_room
from webapp.services import kiosk
from webapp.services import overview
from webapp.services import sessions
from webapp.services import support
from webapp.services import wall
from webapp.services.errors import MemberNotFound
from webapp.services.errors import NotFound

logger = logging.getLogger(__name__)


def async_mode(configured: str | None = None) -> str:
    """``gevent`` in a gevent-patched process (gunicorn ``-k gevent``), else ``threading``.

    Not Socket.IO's own guess, which takes gevent as soon as it is installed, even
    in a process that is not patched (the development server, the poller, tests).
    """
    if configured:
        return configured
    try:
        from gevent import monkey
    except ImportError:
        return "threading"
    return "gevent" if monkey.is_module_patched("socket") else "threading"


def init_app(app: Flask) -> None:
    queue = app.config.get("SOCKETIO_MESSAGE_QUEUE") or None
    origins = app.config.get("SOCKETIO_ALLOWED_ORIGINS") or None
    if isinstance(origins, str):
        origins = [item.strip() for item in origins.split(",")]
    socketio.init_app(
        app,
        message_queue=queue,
        channel=app.config.get("SOCKETIO_CHANNEL", "vigie"),
        async_mode=async_mode(app.config.get("SOCKETIO_ASYNC_MODE")),
        cors_allowed_origins=origins,  # None: same origin only
        manage_session=False,
        logger=False,
        engineio_logger=False,
    )
    events.init(events.SocketIOPublisher(socketio))
    # Ending sessions (webapp.services.sessions) closes this process's sockets of them at once.
    app.extensions[sessions.CLOSE_SOCKETS_HOOK] = close_session_sockets


def _join(room: str) -> bool:
    """Join ``room``; False if the client went away meanwhile (a closed tab, a reload)."""
    try:
        join_room(room)
    except (ValueError, KeyError):  # python-socketio raises either for a sid just gone
        return False
    return True


def _origin_allowed(origin: str) -> bool:
    """Same host as the request, or one of ``SOCKETIO_ALLOWED_ORIGINS``."""
    allowed = current_app.config.get("SOCKETIO_ALLOWED_ORIGINS") or []
    if isinstance(allowed, str):
        allowed = [item.strip() for item in allowed.split(",")]
    return urlsplit(origin).netloc == request.host or origin in allowed


@socketio.on("connect", namespace=NAMESPACE)
def on_connect(auth=None):
    origin = request.headers.get("Origin")
    if origin and not _origin_allowed(origin):
        # Engine.IO already refuses foreign origins; checked again here, at the door.
        logger.warning("Refused Socket.IO connection from origin %r", origin[:200])
        raise ConnectionRefusedError("origin_not_allowed")
    if not (current_user.is_authenticated or access.is_kiosk()):
        logger.info("Refused anonymous Socket.IO connection from %s", request.remote_addr)
        raise ConnectionRefusedError("authentication_required")
    signed_in = security.current_session()
    if signed_in is not None and security.must_enrol():
        raise ConnectionRefusedError("two_factor_enrolment_required")
    if signed_in is not None:  # ends with its session: logout, reset, limits, new roles
        _watch_session(request.sid, signed_in.id)
        _join(events.session_room(signed_in.id))
    return True


def _argument(args: tuple) -> dict | None:
    """The one object a client sent with an event; None for nothing, several or a non-object.

    Handlers take ``*args``: an event with no argument, or two, is a ``bad_request``
    answer, never a ``TypeError`` in the server.
    """
    return args[0] if len(args) == 1 and isinstance(args[0], dict) else None


@socketio.on("subscribe", namespace=NAMESPACE)
def on_subscribe(*args):
    """Join a member's room; answer with its state if the client's version is behind."""
    data = _argument(args)
    if data is None or not isinstance(data.get("member"), str) or len(data["member"]) > 200:
        return {"ok": False, "error": "bad_request"}
    try:
        if current_user.is_authenticated:
            member = scoping.get_member(current_user, data["member"])
        elif access.is_kiosk():  # the wall's screen: every member, read-only
            member = wall.member_by_slug(data["member"])
            _watch_kiosk(request.sid, session[access.KIOSK_SESSION_KEY])
        else:
            return {"ok": False, "error": "not_found"}
    except (MemberNotFound, NotFound):
        who = current_user.id if current_user.is_authenticated else "kiosk"
        logger.info("%s asked for unknown or foreign member %r", who, data["member"][:80])
        return {"ok": False, "error": "not_found"}
    if not _join(member_room(member.slug)):
        return {"ok": False, "error": "disconnected"}
    version = data.get("version") if isinstance(data.get("version"), str) else None
    state = overview.live_state(member, version, nodes=not data.get("summary"))
    if current_app.config.get("EXPOSE_WORKER_ID"):  # production tests: which worker answered
        state["worker"] = os.getpid()
        state["async_mode"] = socketio.async_mode
    return {"ok": True, **state}


@socketio.on("unsubscribe", namespace=NAMESPACE)
def on_unsubscribe(*args):
    data = _argument(args)
    if data is not None and isinstance(data.get("member"), str):
        leave_room(member_room(data["member"]))
    return {"ok": True}


@socketio.on("subscribe_wall", namespace=NAMESPACE)
def on_subscribe_wall(*_args):
    """The wall room: staff and kiosk links only (whatever the client sends with it)."""
    viewer = access.wall_viewer()
    if viewer is None:
        return {"ok": False, "error": "not_found"}
    if not _join(WALL_ROOM):
        return {"ok": False, "error": "disconnected"}
    if viewer == access.KIOSK:
        _watch_kiosk(request.sid, session[access.KIOSK_SESSION_KEY])
    return {"ok": True, **overview.source_state()}


@socketio.on("subscribe_support", namespace=NAMESPACE)
def on_subscribe_support(*args):
    """The support queue (staff) or one request's thread (whoever may read it)."""
    data = _argument(args)
    if not current_user.is_authenticated or data is None:
        return {"ok": False, "error": "bad_request"}
    if data.get("queue") is True:
        if not current_user.is_staff:
            return {"ok": False, "error": "not_found"}
        room = events.SUPPORT_ROOM
    else:
        request_id = data.get("request")
        if (
            not isinstance(request_id, int)
            or isinstance(request_id, bool)
            or not 0 < request_id < 2**31
        ):
            return {"ok": False, "error": "bad_request"}
        try:
            found = support.get_for(current_user, request_id)
        except NotFound:
            return {"ok": False, "error": "not_found"}
        room = events.support_request_room(found.id)
    if not _join(room):
        return {"ok": False, "error": "disconnected"}
    return {"ok": True}


# Sockets of this process (per app) that must close when their access ends, whatever the
# client does: sid -> kiosk link id, sid -> signed-in session id. The watcher below checks
# them every few seconds (a link revoked, or a session ended, by any process, or expired).
KIOSK_SOCKETS_KEY = "vigie.kiosk_sockets"
SESSION_SOCKETS_KEY = "vigie.session_sockets"
WATCHER_KEY = "vigie.socket_watcher"
KIOSK_RECHECK_S = 10.0
SESSION_RECHECK_S = 5.0


def _kiosk_sockets() -> dict[str, int]:
    return current_app.extensions.setdefault(KIOSK_SOCKETS_KEY, {})


def _session_sockets() -> dict[str, int]:
    return current_app.extensions.setdefault(SESSION_SOCKETS_KEY, {})


def _watch_kiosk(sid: str, link_id: int) -> None:
    _kiosk_sockets()[sid] = link_id
    _start_watcher()


def _watch_session(sid: str, session_id: int) -> None:
    _session_sockets()[sid] = session_id
    _start_watcher()


def _start_watcher() -> None:
    if not current_app.extensions.get(WATCHER_KEY):
        current_app.extensions[WATCHER_KEY] = True
        socketio.start_background_task(_socket_watcher, current_app._get_current_object())


def _socket_watcher(app: Flask) -> None:
    rounds = 0
    every = max(1, round(KIOSK_RECHECK_S / SESSION_RECHECK_S))
    while True:
        socketio.sleep(SESSION_RECHECK_S)
        rounds += 1
        with app.app_context():
            try:
                close_ended_session_sockets()
                if rounds % every == 0:
                    close_revoked_kiosk_sockets()
            except Exception:  # noqa: BLE001 - the watcher must outlive a database outage
                logger.exception("Socket access check failed")
            finally:
                db.session.remove()


def close_session_sockets(session_ids: list[int]) -> int:
    """Disconnect this process's sockets of the sessions ``session_ids``; return how many."""
    ended = set(session_ids)
    closed = 0
    sockets = _session_sockets()
    for sid, session_id in list(sockets.items()):
        if session_id in ended:
            sockets.pop(sid, None)
            socketio.server.disconnect(sid, namespace=NAMESPACE)
            closed += 1
    return closed


def close_ended_session_sockets() -> int:
    """Disconnect this process's sockets whose session has ended (anywhere); return how many."""
    watched = set(dict(_session_sockets()).values())  # a copy: handlers change it meanwhile
    if not watched:
        return 0
    alive = sessions.alive(watched)
    ended = sorted(watched - alive)
    if ended:
        logger.info("Sessions %s ended: closing their sockets", ended)
    return close_session_sockets(ended)


def close_revoked_kiosk_sockets() -> int:
    """Disconnect this process's sockets of revoked kiosk links; return how many."""
    closed = 0
    sockets = _kiosk_sockets()
    for sid, link_id in list(sockets.items()):
        if not kiosk.is_active(link_id):
            logger.info("Kiosk link %s revoked: closing its socket", link_id)
            sockets.pop(sid, None)
            socketio.server.disconnect(sid, namespace=NAMESPACE)
            closed += 1
    db.session.remove()
    return closed


@socketio.on("disconnect", namespace=NAMESPACE)
def on_disconnect(*_args):
    _kiosk_sockets().pop(request.sid, None)
    _session_sockets().pop(request.sid, None)
