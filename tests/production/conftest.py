"""The production topology, for real: PostgreSQL, Redis, gunicorn (2 workers), a poller.

Processes are started by :class:`bench.stack.Stack` with the commands of README.md.
``VIGIE_TEST_POSTGRES`` and ``VIGIE_TEST_REDIS`` (set by ``make test``) name the
servers; without them these tests error out (never skip).
"""

from __future__ import annotations

import os

import pytest

from bench.stack import Stack


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through `make test`")
    return value


# What these tests need of the stack (bench.stack.Stack, shared with the benchmarks).
TEST_SETTINGS = {
    "VIGIE_SOURCE": "demo",
    "VIGIE_DEMO_INCIDENTS": "false",
    "VIGIE_POLL_INTERVAL": "0.5",
    "VIGIE_POLLER_LOCK_TIMEOUT": "0.5",
    "VIGIE_LOGIN_RATE_LIMIT": "1000 per minute",
}


@pytest.fixture
def redis_url():
    return _require("VIGIE_TEST_REDIS")


@pytest.fixture
def stack(tmp_path):
    pg = _require("VIGIE_TEST_POSTGRES")
    redis_url = _require("VIGIE_TEST_REDIS")
    stack = Stack(
        tmp_path,
        pg,
        redis_url,
        {**TEST_SETTINGS, "VIGIE_DEMO_STATE_FILE": str(tmp_path / "demo-state.json")},
        label="prod",
    )
    stack.create_database()
    try:
        yield stack
    finally:
        stack.close()
