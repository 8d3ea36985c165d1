"""Only one active poller: a lock that dies with its holder.

PostgreSQL: a session advisory lock on a dedicated connection (released by
the server as soon as the process or its connection dies). Redis: redis-py's
:class:`redis.lock.Lock`, a key with a short TTL renewed every cycle. SQLite
(single machine): an ``flock`` on a file of the instance folder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import uuid
from typing import Protocol

import redis
from redis.exceptions import LockError
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

ADVISORY_KEY = 0x56_69_67_69_65  # "Vigie"


class LeaderLock(Protocol):
    """What :meth:`webapp.live.poller.Poller.run` needs of a lock."""

    def acquire(self) -> bool:
        """Take the lock if it is free (True also when this holder has it already)."""
        ...

    def still_held(self) -> bool:
        """Whether this holder still has it (renewing it where it expires)."""
        ...

    def release(self) -> None: ...


class PostgresLeaderLock:
    def __init__(self, url: str) -> None:
        # No pool: closing the connection ends the session, and the lock with it.
        self.engine = create_engine(url, poolclass=NullPool)
        self.connection = None

    def acquire(self) -> bool:
        try:
            if self.connection is None:
                self.connection = self.engine.connect()
            got = self.connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
            self.connection.commit()
            return bool(got)
        except Exception as exc:  # noqa: BLE001 - database down: not the leader
            logger.warning("Poller lock unavailable: %s", exc)
            self._drop()
            return False

    def still_held(self) -> bool:
        if self.connection is None:
            return False
        try:
            self.connection.execute(text("SELECT 1"))
            self.connection.commit()
            return True
        except Exception:  # noqa: BLE001 - connection lost: the lock is gone with it
            self._drop()
            return False

    def release(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001
                pass
        self.connection = None


class RedisLeaderLock:
    """A Redis key that expires ``ttl_s`` after its last renewal (a dead holder's too)."""

    KEY = "vigie:poller:leader"

    def __init__(self, url: str, ttl_s: float) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # Who holds it, readable in Redis; thread_local=False: renewed from any thread.
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock = self.redis.lock(self.KEY, timeout=ttl_s, thread_local=False)

    def acquire(self) -> bool:
        try:
            if self.lock.acquire(blocking=False, token=self.me):
                return True
            return self.still_held()
        except Exception as exc:  # noqa: BLE001 - Redis down: not the leader
            logger.warning("Poller lock unavailable: %s", exc)
            return False

    def still_held(self) -> bool:
        try:
            return bool(self.lock.reacquire())  # only while the key still holds our token
        except (LockError, redis.RedisError):  # expired, taken by another, or Redis away
            return False

    def release(self) -> None:
        try:
            self.lock.release()
        except (LockError, redis.RedisError):  # already lost: nothing to give back
            pass


class FileLeaderLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.handle = None

    def acquire(self) -> bool:
        handle = open(self.path, "a")  # noqa: SIM115 - kept open while leading
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    def still_held(self) -> bool:
        return self.handle is not None

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def make_lock(config, instance_path: str) -> LeaderLock:
    """The best lock for this deployment."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):
        return PostgresLeaderLock(url)
    if config.get("SNAPSHOT_STORE_URL"):
        return RedisLeaderLock(
            config["SNAPSHOT_STORE_URL"], ttl_s=max(3 * float(config["POLL_INTERVAL"]), 5.0)
        )
    return FileLeaderLock(os.path.join(instance_path, "poller.lock"))
