"""Only one active poller: a lock that dies with its holder.

PostgreSQL: a session advisory lock on a dedicated connection (released by
the server as soon as the process or its connection dies). Redis: a key with a
short TTL renewed every cycle. SQLite (single machine): an ``flock`` on a file
of the instance folder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import uuid

from sqlalchemy import create_engine
from sqlalchemy import text

logger = logging.getLogger(__name__)

ADVISORY_KEY = 0x56_69_67_69_65  # "Vigie"


class PostgresLeaderLock:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=None, pool_pre_ping=True)
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
    KEY = "vigie:poller:leader"

    def __init__(self, url: str, ttl_s: float) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.ttl_ms = int(ttl_s * 1000)
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        try:
            if self.redis.set(self.KEY, self.me, nx=True, px=self.ttl_ms):
                return True
            return self.still_held()
        except Exception as exc:  # noqa: BLE001
            logger.warning("Poller lock unavailable: %s", exc)
            return False

    def still_held(self) -> bool:
        script = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
        )
        try:
            return bool(self.redis.eval(script, 1, self.KEY, self.me, self.ttl_ms))
        except Exception:  # noqa: BLE001
            return False

    def release(self) -> None:
        script = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) else return 0 end"
        )
        try:
            self.redis.eval(script, 1, self.KEY, self.me)
        except Exception:  # noqa: BLE001
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


def make_lock(config, instance_path: str):
    """The best lock for this deployment."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):
        return PostgresLeaderLock(url)
    if config.get("SNAPSHOT_STORE_URL"):
        return RedisLeaderLock(
            config["SNAPSHOT_STORE_URL"], ttl_s=max(3 * float(config["POLL_INTERVAL"]), 5.0)
        )
    return FileLeaderLock(os.path.join(instance_path, "poller.lock"))
