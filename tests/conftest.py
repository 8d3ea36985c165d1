"""Shared fixtures: one app per test on every configured database backend.

``VIGIE_TEST_DATABASES`` lists the backends (``sqlite`` and/or PostgreSQL URLs,
comma separated); ``make test`` passes both. A listed PostgreSQL that does not
answer is an error, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import g
from sqlalchemy import create_engine
from sqlalchemy import inspect
from sqlalchemy import text

from tests import factories
from tests.loopback.oidc_provider import oidc_provider  # noqa: F401 - fixture (OpenID provider)
from tests.loopback.smtp import smtp  # noqa: F401 - fixture (loopback SMTP server)
from tests.loopback.smtp import smtp_server  # noqa: F401 - fixture
from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db as _db

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent


def _cheap_hashes() -> None:
    """Test cost factors for the password and recovery-code hashes (same schemes, same code).

    Argon2's defaults (64 MiB, 3 passes) cost ~85 ms per hash or check here, paid at every
    sign-in of thousands of tests; the tests check what is hashed and verified, not its cost.
    The parameters travel in each encoded hash, so verification and ``check_needs_rehash``
    run exactly as in production. Processes the tests start (gunicorn, ``flask``) keep the
    production defaults.
    """
    from argon2 import PasswordHasher

    from webapp.services import accounts
    from webapp.services import two_factor

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts._hasher = two_factor._hasher = cheap
    accounts._DUMMY_HASH = cheap.hash("vigie-dummy-password-for-timing")
    two_factor.PBKDF2_ROUNDS = 1_000


_cheap_hashes()
BACKENDS = [
    b.strip() for b in os.environ.get("VIGIE_TEST_DATABASES", "sqlite").split(",") if b.strip()
]
FIRST_BACKEND = BACKENDS[0] if BACKENDS else "sqlite"


def backend_of(database_url: str) -> str:
    """The entry of ``BACKENDS`` a ``database_url`` fixture value comes from."""
    return "sqlite" if database_url.startswith("sqlite") else database_url


# What does not depend on the database (markup, labels, layout) runs on the first backend
# only. Not a skip: the other backends are simply not parametrized for these tests.
first_backend_only = pytest.mark.parametrize(
    "database_url",
    [FIRST_BACKEND],
    indirect=True,
    ids=["sqlite" if FIRST_BACKEND == "sqlite" else "postgresql"],
)


def _backend_id(url: str) -> str:
    return "sqlite" if url == "sqlite" else "postgresql"


@pytest.fixture(scope="session", params=BACKENDS, ids=[_backend_id(b) for b in BACKENDS])
def database_url(request, tmp_path_factory) -> str:
    """A migrated, empty database per backend (created once per session)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "vigie-test.db"
        url = f"sqlite:///{path}"
    else:
        url = request.param
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        finally:
            engine.dispose()
    app = create_app({**_base_config(url, tmp_path_factory.mktemp("inst"))})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        _db.engine.dispose()
    return url


def _base_config(url: str, tmp: Path) -> dict:
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(
        DATABASE_URL=url,
        DEMO_STATE_FILE=str(tmp / "demo-state.json"),
        SUPPORT_ATTACHMENTS_DIR=str(tmp / "attachments"),
        DEMO_INCIDENTS=False,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )
    return config


def forget_request_globals(app) -> None:
    """Requests reuse the test's app context, hence its ``g``: empty it after each
    one, as a real request would (Flask-Login's user, Flask-WTF's CSRF token...)."""

    @app.teardown_request
    def _forget_request_globals(_exc):
        for key in list(g):
            g.pop(key, None)


def app_in_context(config: dict):
    """The app made from ``config``, in its context for the test; its tables emptied after."""
    app = create_app(config)
    forget_request_globals(app)
    with app.app_context():
        yield app
        _db.session.remove()
        _truncate()
        _db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    yield from app_in_context(_base_config(database_url, tmp_path))


def _truncate() -> None:
    tables = [t for t in inspect(_db.engine).get_table_names() if t != "alembic_version"]
    with _db.engine.begin() as connection:
        if _db.engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def source(app):
    from webapp.live.monitor import get_monitor

    return get_monitor(app).source


# Debian's Chromium, never a downloaded one (bench.browser.chromium: the one launcher, with
# its flags, for tests and benchmarks); one browser for the whole session, shared by
# tests/browser and tests/zabbix (Playwright's sync API runs one loop per thread).
# Playwright and the bench are imported when a test asks for the browser, never here:
# tests/unit runs without them (tests/test_unit_needs_no_browser.py checks it).


def _no_running_loop() -> None:
    """The sync API starts its own loop: it cannot run inside a running asyncio loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    pytest.fail("Playwright's sync API cannot run inside a running asyncio event loop")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from bench.browser import chromium

    _no_running_loop()
    with chromium() as browser:
        yield browser


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(client, url: str) -> str:
    """Read a CSRF token from a page, as a browser would."""
    page = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@pytest.fixture
def csrf(client):
    return lambda url="/connexion": csrf_from(client, url)


@pytest.fixture
def login(client):
    """Log ``user`` in through the real form."""

    def do(user, password: str = factories.PASSWORD):
        token = csrf_from(client, "/connexion")
        response = client.post(
            "/connexion", data={"email": user.email, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return do


@pytest.fixture
def login_as(app, login):
    """Create a user with ``role`` (viewer, member_admin, support, admin) and log in."""

    def do(role: str = "viewer", member=None):
        user = factories.make_user(role=role, member=member)
        return login(user)

    return do
