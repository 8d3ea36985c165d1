"""The production topology, for real: PostgreSQL, Redis, gunicorn (2 workers), a poller.

Processes are started with subprocess and the same commands as in README.md.
``VIGIE_TEST_POSTGRES`` and ``VIGIE_TEST_REDIS`` (set by ``make test``) name the
servers; without them these tests error out (never skip).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through `make test`")
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """Processes of one production-like deployment, and helpers to drive it."""

    def __init__(self, tmp: Path, pg_admin_url: str, redis_url: str) -> None:
        self.tmp = tmp
        self.db_name = f"vigie_prod_{uuid.uuid4().hex[:8]}"
        self.pg_admin_url = pg_admin_url
        self.db_url = pg_admin_url.rsplit("/", 1)[0] + "/" + self.db_name
        self.redis_url = redis_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "FLASK_APP": "wsgi.py",
            "VIGIE_ENV": "development",
            "VIGIE_SECRET_KEY": "production-test-secret-" + uuid.uuid4().hex,
            "VIGIE_DATABASE_URL": self.db_url,
            "VIGIE_SOURCE": "demo",
            "VIGIE_DEMO_INCIDENTS": "false",
            "VIGIE_DEMO_STATE_FILE": str(tmp / "demo-state.json"),
            "VIGIE_POLLER": "external",
            "VIGIE_POLL_INTERVAL": "0.5",
            "VIGIE_POLLER_LOCK_TIMEOUT": "0.5",
            "VIGIE_SOCKETIO_MESSAGE_QUEUE": redis_url + "/0",
            "VIGIE_SOCKETIO_CHANNEL": "vigie-test-" + uuid.uuid4().hex[:8],
            "VIGIE_SNAPSHOT_STORE_URL": redis_url + "/1",
            "VIGIE_RATELIMIT_STORAGE_URI": redis_url + "/2",
            "VIGIE_EXPOSE_WORKER_ID": "true",
            "VIGIE_BIND": f"127.0.0.1:{self.port}",
            "VIGIE_WORKERS": "2",
            "VIGIE_BASE_URL": self.url,
            "VIGIE_LOGIN_RATE_LIMIT": "1000 per minute",
        }

    # -- lifecycle ----------------------------------------------------------------------
    def _admin(self, statement: str) -> None:
        engine = create_engine(
            self.pg_admin_url.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def create_database(self) -> None:
        self._admin(f'CREATE DATABASE "{self.db_name}"')
        self.flask("db", "upgrade")
        self.flask("vigie", "demo", "load")

    def drop_database(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "flask"), *args],
            cwd=ROOT,
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.tmp / f"{name}.log", "w") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def start_web(self) -> None:
        self.start("gunicorn", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"])
        self.wait_for(
            lambda: requests.get(self.url + "/healthz", timeout=2).status_code < 600,
            "gunicorn answers",
        )

    def start_poller(self, name: str = "poller") -> subprocess.Popen:
        return self.start(name, [str(BIN / "flask"), "vigie", "poll"])

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    @staticmethod
    def wait_for(predicate, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except Exception as exc:  # noqa: BLE001 - retried until the deadline
                last = exc
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting until {what} ({last!r})")

    # -- clients ------------------------------------------------------------------------
    def login(self, email: str, password: str) -> requests.Session:
        session = requests.Session()
        page = session.get(self.url + "/connexion", timeout=5).text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = session.post(
            self.url + "/connexion",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:300]
        return session


@pytest.fixture
def redis_url():
    return _require("VIGIE_TEST_REDIS")


@pytest.fixture
def stack(tmp_path):
    pg = _require("VIGIE_TEST_POSTGRES")
    redis_url = _require("VIGIE_TEST_REDIS")
    stack = Stack(tmp_path, pg, redis_url)
    stack.create_database()
    try:
        yield stack
    finally:
        stack.stop_all()
        stack.drop_database()
