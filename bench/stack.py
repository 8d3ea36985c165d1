"""The production topology as processes: a throw-away database, gunicorn (2 workers), pollers.

One helper for ``tests/production`` and the benchmarks (:mod:`bench.fanout`,
:mod:`bench.zabbix_defaults`). It needs only what the tests already have
(requests, SQLAlchemy, tenacity; psutil for :meth:`Stack.web_processes`, imported
there): the tests import it without the bench's load generator or browser.
The processes are started with the commands of README.md.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import requests
import tenacity

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_PORT = int(os.environ.get("VIGIE_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("VIGIE_REDIS_PORT", "63790"))
PG_ADMIN_URL = f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}"

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    what: str,
    timeout: float = 20.0,
    interval: float = 0.1,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
) -> T:
    """Call ``predicate`` until it returns a true value (returned) or ``timeout`` passes.

    An exception of ``retry_on`` counts as "not yet"; any other propagates. On
    timeout: an ``AssertionError`` naming ``what`` and the last result or error.
    """
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_fixed(interval),
        retry=tenacity.retry_if_result(lambda value: not value)
        | tenacity.retry_if_exception_type(retry_on),
    )
    try:
        return retrying(predicate)
    except tenacity.RetryError as error:
        last = error.last_attempt
        seen = last.exception() if last.failed else last.result()
        raise AssertionError(f"timed out waiting until {what} ({seen!r})") from None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def script(*args: str, timeout: float = 900) -> str:
    """Run ``scripts/<args>``; stdout+stderr, or an error carrying their tail."""
    done = subprocess.run(
        [str(ROOT / "scripts" / args[0]), *args[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    out = (done.stdout + done.stderr).strip()
    if done.returncode:
        raise RuntimeError(f"scripts/{' '.join(args)} failed ({done.returncode}): {out[-1500:]}")
    return out


class Services:
    """Start PostgreSQL and Redis (and Zabbix) if they are down; stop what was started."""

    def __init__(self, zabbix: bool = False) -> None:
        self.zabbix = zabbix
        self.started: list[str] = []

    def __enter__(self) -> Services:
        if not port_open(PG_PORT):
            script("pg.sh", "up")
            self.started.append("pg")
        if not port_open(REDIS_PORT):
            script("redis.sh", "up")
            self.started.append("redis")
        if (
            self.zabbix
            and subprocess.run(
                [str(ROOT / "scripts" / "zabbix.sh"), "status"], cwd=ROOT, capture_output=True
            ).returncode
        ):
            self.started.append("zabbix")  # up/reset is the caller's business
        return self

    def __exit__(self, *exc) -> None:
        for name in reversed(self.started):
            try:
                script(f"{name}.sh", "down", timeout=120)
            except Exception as error:  # noqa: BLE001 - stop the others anyway
                print(f"[bench] could not stop {name}: {error}", file=sys.stderr)


def raise_nofile() -> None:
    """Soft limit of open files up to the hard one (thousands of websockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Stack:
    """Processes of one production-like deployment, and helpers to drive it.

    ``env`` adds ``VIGIE_*`` settings to the common ones (a value of ``None``
    leaves a setting unset: the app's default applies); the ``VIGIE_*`` variables
    of the calling environment are not passed on. ``label`` names the database
    (``vigie_<label>_<random>``) and the Socket.IO channel.
    """

    def __init__(
        self,
        tmp: Path,
        pg_admin_url: str,
        redis_url: str,
        env: Mapping[str, str | None] | None = None,
        label: str = "stack",
    ) -> None:
        self.tmp = tmp
        self.pg_admin_url = pg_admin_url
        self.db_name = f"vigie_{label}_{uuid.uuid4().hex[:8]}"
        self.db_url = pg_admin_url.rsplit("/", 1)[0] + "/" + self.db_name
        self.redis_url = redis_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.channel = f"vigie-{label}-" + uuid.uuid4().hex[:8]
        self.processes: dict[str, subprocess.Popen] = {}
        settings = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")},
            "FLASK_APP": "wsgi.py",
            "VIGIE_ENV": "development",
            "VIGIE_SECRET_KEY": f"{label}-secret-" + uuid.uuid4().hex,
            "VIGIE_DATABASE_URL": self.db_url,
            "VIGIE_POLLER": "external",
            "VIGIE_SOCKETIO_MESSAGE_QUEUE": redis_url + "/0",
            "VIGIE_SOCKETIO_CHANNEL": self.channel,
            "VIGIE_SNAPSHOT_STORE_URL": redis_url + "/1",
            "VIGIE_RATELIMIT_STORAGE_URI": redis_url + "/2",
            "VIGIE_EXPOSE_WORKER_ID": "true",
            "VIGIE_BIND": f"127.0.0.1:{self.port}",
            "VIGIE_WORKERS": "2",
            "VIGIE_BASE_URL": self.url,
            **(env or {}),
        }
        self.env = {key: value for key, value in settings.items() if value is not None}

    # -- database -----------------------------------------------------------------------
    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy import text

        engine = create_engine(
            self.pg_admin_url.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def create_database(self, **env: str) -> None:
        """Create, migrate, and load the demo members and accounts (with ``env`` overrides)."""
        self._admin(f'CREATE DATABASE "{self.db_name}"')
        self.flask("db", "upgrade")
        self.flask("vigie", "demo", "load", **env)

    def drop_database(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def flask(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """``flask <args>`` in the stack's environment; an error carrying its output tail."""
        done = subprocess.run(
            [str(BIN / "flask"), *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(args)}: {(done.stdout + done.stderr)[-1500:]}")
        return done

    # -- processes ----------------------------------------------------------------------
    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.tmp / f"{name}.log", "w") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=raise_nofile,
            )
        self.processes[name] = process
        return process

    def start_web(self) -> None:
        """``gunicorn -c gunicorn.conf.py wsgi:app``, then wait until it answers."""
        self.start("gunicorn", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"])
        self.wait_for(
            lambda: requests.get(self.url + "/healthz", timeout=2).status_code < 600,
            "gunicorn answers",
            timeout=60,
        )

    def start_poller(
        self, name: str = "poller", command: list[str] | None = None, *, ready: bool = False
    ) -> subprocess.Popen:
        """``flask vigie poll`` (or ``command``); with ``ready``, wait for its first snapshot."""
        process = self.start(name, command or [str(BIN / "flask"), "vigie", "poll"])
        if ready:
            self.wait_for(
                lambda: requests.get(self.url + "/healthz", timeout=2).json()["status"] == "ok",
                "the poller's first snapshot",
                timeout=120,
            )
        return process

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, sig)
        self._reap(process)

    def stop_all(self) -> None:
        """SIGTERM to every process at once, then wait for each (SIGKILL after 20 s)."""
        processes = list(self.processes.values())
        self.processes.clear()
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            self._reap(process)

    @staticmethod
    def _reap(process: subprocess.Popen) -> None:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def close(self) -> None:
        try:
            self.stop_all()
        finally:
            self.drop_database()

    def web_processes(self) -> dict[int, dict]:
        """The gunicorn master and workers: RSS (kB), threads and open files of each."""
        import psutil

        master = psutil.Process(self.processes["gunicorn"].pid)
        out = {}
        for process in [master, *master.children()]:
            try:
                with process.oneshot():
                    out[process.pid] = {
                        "rss_kb": process.memory_info().rss // 1024,
                        "threads": process.num_threads(),
                        "fds": process.num_fds(),
                    }
            except psutil.Error:
                out[process.pid] = {"rss_kb": None, "threads": None, "fds": None}
        return out

    # -- clients ------------------------------------------------------------------------
    @staticmethod
    def wait_for(predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
        wait_until(predicate, what, timeout=timeout)

    def login(self, email: str, password: str) -> requests.Session:
        """A session signed in through the login form."""
        session = requests.Session()
        page = session.get(self.url + "/connexion", timeout=10).text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = session.post(
            self.url + "/connexion",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, f"login of {email}: {response.text[:300]}"
        return session


# What the benchmarks add to the common settings (``env`` of :func:`bench_stack` on top).
BENCH_SETTINGS = {
    "VIGIE_POLL_INTERVAL": "1",
    "VIGIE_LOGIN_RATE_LIMIT": "10000 per minute",
    "VIGIE_LOG_LEVEL": "WARNING",
}


def bench_stack(name: str, env: Mapping[str, str | None]) -> Stack:
    """A stack on the project's PostgreSQL and Redis, in a scratch folder removed at exit."""
    from bench.common import temp_dir

    return Stack(temp_dir(name), PG_ADMIN_URL, REDIS_URL, {**BENCH_SETTINGS, **env}, label="bench")
