"""Only one active poller: each lock is taken, lost, and taken over when its holder dies.

The flock runs anywhere. The PostgreSQL and Redis locks need the project's servers:
``VIGIE_TEST_POSTGRES`` and ``VIGIE_TEST_REDIS``, set by ``make test``; without them these
tests fail (never skip), and the fast suite leaves them out (marked ``production``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from webapp.live.leader import FileLeaderLock
from webapp.live.leader import PostgresLeaderLock
from webapp.live.leader import RedisLeaderLock


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through `make test`")
    return value


def _until(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out: {what}")
        time.sleep(0.05)


# -- flock (SQLite, one machine) -------------------------------------------------------------


def test_file_lock_is_taken_once_and_released(tmp_path):
    path = str(tmp_path / "poller.lock")
    first, second = FileLeaderLock(path), FileLeaderLock(path)
    assert first.acquire() and first.still_held()
    assert not second.acquire() and not second.still_held()
    first.release()
    assert not first.still_held()
    assert second.acquire(), "free again once released"
    second.release()


def test_file_lock_is_taken_over_when_its_holder_dies(tmp_path):
    path = str(tmp_path / "poller.lock")
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"h = open({path!r}, 'a'); fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            waiting = FileLeaderLock(path)
            assert not waiting.acquire(), "another process holds it"
            holder.kill()  # dies without releasing anything
            holder.wait(timeout=10)
            assert waiting.acquire(), "the kernel dropped the dead holder's lock"
            waiting.release()
        finally:
            holder.kill()


# -- PostgreSQL advisory lock ----------------------------------------------------------------


@pytest.fixture
def pg_url() -> str:
    return _require("VIGIE_TEST_POSTGRES").replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.mark.production
@pytest.mark.postgres
def test_postgres_lock_is_taken_once_lost_and_taken_over(pg_url):
    first, second = PostgresLeaderLock(pg_url), PostgresLeaderLock(pg_url)
    admin = create_engine(pg_url)
    try:
        assert first.acquire() and first.still_held()
        assert not second.acquire(), "one holder at a time"
        assert first.acquire(), "its holder may ask again"
        first.release()
        assert not first.still_held()
        assert second.acquire(), "free again once released"
        # The holder's connection dies (a killed process, a cut network): the server
        # drops its session lock at once, and the waiting poller takes over.
        pid = second.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        second.connection.commit()
        with admin.connect() as connection:
            assert connection.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
            ).scalar()
        assert not second.still_held(), "its holder learns it lost the lock"
        _until(first.acquire, "the lock of a dead session is free")
        assert first.still_held()
    finally:
        first.release()
        second.release()
        for engine in (first.engine, second.engine, admin):
            engine.dispose()


# -- Redis -------------------------------------------------------------------------------------


@pytest.fixture
def redis_lock():
    """Locks on a key of their own (never the one of a running poller), a short TTL."""
    url = _require("VIGIE_TEST_REDIS") + "/5"
    key = f"vigie:test:leader:{uuid.uuid4().hex[:8]}"
    made = []

    def make(ttl_s: float = 0.5) -> RedisLeaderLock:
        lock = type("TestLock", (RedisLeaderLock,), {"KEY": key})(url, ttl_s=ttl_s)
        made.append(lock)
        return lock

    yield make
    for lock in made:
        lock.release()
        lock.redis.delete(key)
        lock.redis.close()


@pytest.mark.production
def test_redis_lock_is_taken_once_renewed_and_released(redis_lock):
    first, second = redis_lock(ttl_s=0.5), redis_lock(ttl_s=0.5)
    assert first.acquire()
    assert first.redis.get(first.KEY) == first.me.encode(), "who holds it, readable"
    assert not second.acquire() and not second.still_held()
    for _ in range(4):  # renewed every cycle: held well past its TTL
        time.sleep(0.2)
        assert first.still_held()
    assert not second.acquire()
    first.release()
    assert not first.still_held()
    assert second.acquire(), "free again once released"


@pytest.mark.production
def test_redis_lock_is_taken_over_when_its_holder_stops_renewing(redis_lock):
    first, second = redis_lock(ttl_s=0.5), redis_lock(ttl_s=0.5)
    assert first.acquire()
    assert not second.acquire()
    # The holder dies: nobody renews its key, which expires; the waiting one takes it.
    _until(second.acquire, "the dead holder's key expires", timeout=5)
    assert not first.still_held(), "a holder back from a pause learns it lost the lock"
    assert not first.acquire(), "and cannot take it back while the new holder renews it"
    first.release()  # releasing a lost lock leaves the new holder's key alone
    assert second.still_held()


def test_redis_lock_is_not_held_while_redis_is_away():
    lock = RedisLeaderLock("redis://127.0.0.1:1/0", ttl_s=1.0)  # nothing listens there
    assert not lock.acquire() and not lock.still_held()
    lock.release()
