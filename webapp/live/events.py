"""Live events: the rooms, ``publish()`` and the publishers behind it.

A leaf module: it imports nothing of the application, so services, the poller
and the socket handlers may all import it. Services call :func:`publish` after
they commit; the process's publisher (bound by :func:`init`, from
``webapp.realtime.init_app``) hands the event to Socket.IO, which relays it
through its message queue when one is configured. A separate poller process
publishes with a :class:`QueuePublisher`: write-only Redis, batched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from typing import Any
from typing import Protocol

import socketio as socketio_server

NAMESPACE = "/live"
WALL_ROOM = "wall"
SUPPORT_ROOM = "support"  # the syndicate's staff looking at the support queue


def member_room(slug: str) -> str:
    """The room of one member's live clients."""
    return f"member:{slug}"


def support_request_room(request_id: int) -> str:
    """The room of the pages showing one support request's thread (either side)."""
    return f"support-request:{request_id}"


def session_room(session_id: int) -> str:
    """The room of one signed-in session's sockets (told ``session.ended`` when it ends)."""
    return f"session:{session_id}"


class Publisher(Protocol):
    """Sends events to a room (or everyone); ``batch()`` groups a cycle's events."""

    def publish(self, event: str, data: dict, room: str | None = None) -> None: ...

    def batch(self) -> AbstractContextManager[None]: ...


class SocketIOPublisher:
    """In-process: Flask-SocketIO's ``emit`` (through its message queue, if any)."""

    def __init__(self, socketio: Any) -> None:  # a flask_socketio.SocketIO
        self.socketio = socketio

    def publish(self, event: str, data: dict, room: str | None = None) -> None:
        self.socketio.emit(event, data, to=room, namespace=NAMESPACE)

    def batch(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()


class PublishError(RuntimeError):
    """Live events could not be handed to the message queue."""


class BatchingRedisManager(socketio_server.RedisManager):
    """A write-only Redis client manager that can send many emits in one round trip.

    ``with manager.batch(): ...`` holds the messages emitted inside, then sends
    them through one Redis pipeline: a poll cycle that changes 300 rooms reaches
    Redis at once, instead of over 300 round trips competing for the CPU with
    the workers already relaying the first ones.
    """

    def __init__(self, url: str, channel: str) -> None:
        # Timeouts: a half-open connection must not hang the poller.
        options = {"socket_timeout": 5, "socket_connect_timeout": 5}
        super().__init__(url, channel=channel, write_only=True, redis_options=options)
        self._held: list[dict] | None = None

    def _publish(self, data):  # PubSubManager's hook for sending one message
        if self._held is not None:
            self._held.append(data)
            return None
        return super()._publish(data)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the emits made inside; send them together at the end.

        Raises :class:`PublishError` if Redis cannot take them (after one retry
        on a new connection): the caller keeps them to send again.
        """
        self._held = []
        try:
            yield
            held = self._held
        finally:
            self._held = None
        if held:
            self._send_all(held)

    def _send_all(self, messages: list[dict]) -> None:
        encoded = [self.json.dumps(message) for message in messages]
        for attempt in (1, 2):
            try:
                if not self.connected:
                    self._redis_connect()  # the parent's: URL schemes, sentinel, options
                pipe = self.redis.pipeline(transaction=False)
                for payload in encoded:
                    pipe.publish(self.channel, payload)
                pipe.execute()
                return
            except Exception as exc:  # noqa: BLE001 - any client error: reconnect once
                self.connected = False
                if attempt == 2:
                    raise PublishError(f"{len(encoded)} live events not sent: {exc}") from exc


class QueuePublisher:
    """What a separate poller process publishes with: Redis, write-only, batched."""

    def __init__(self, url: str, channel: str) -> None:
        self.manager = BatchingRedisManager(url, channel)

    def publish(self, event: str, data: dict, room: str | None = None) -> None:
        self.manager.emit(event, data, namespace=NAMESPACE, room=room)

    def batch(self) -> AbstractContextManager[None]:
        return self.manager.batch()


_publisher: Publisher | None = None


def init(publisher: Publisher) -> None:
    """Bind the publisher :func:`publish` sends through (one per process)."""
    global _publisher
    _publisher = publisher


def publish(event: str, data: dict, room: str | None = None) -> None:
    """Send ``event`` to ``room`` (or everyone) through the process's publisher."""
    if _publisher is None:
        raise RuntimeError("No live publisher: webapp.realtime.init_app binds one")
    _publisher.publish(event, data, room)
