"""Vigie itself (app, poller, pages, API) on the project's real Zabbix 6.0."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from dotenv import dotenv_values
from pyzabbix import ZabbixAPI

from bench.stack import wait_until
from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db as _db

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = Path(os.environ.get("VIGIE_ZABBIX_ENV_FILE", "/var/tmp/vigie-zabbix/vigie.env"))


def read_env() -> dict[str, str]:
    if not ENV_FILE.is_file():
        pytest.fail(f"no {ENV_FILE}: run `make zabbix-up` first (make test does)")
    return {key: value for key, value in dotenv_values(ENV_FILE).items() if value is not None}


def send(host: str, key: str, value: str) -> None:
    subprocess.run(
        [str(ROOT / "scripts/zabbix.sh"), "send", host, key, value],
        check=True,
        capture_output=True,
        timeout=30,
    )


def wait_for(predicate, timeout: float = 15.0, what: str = "condition"):
    """``predicate()``'s first true value; an error of the predicate is not retried."""
    return wait_until(predicate, what, timeout=timeout, interval=0.2, retry_on=())


@pytest.fixture(scope="session")
def zabbix_env() -> dict[str, str]:
    return read_env()


@pytest.fixture
def admin_api(zabbix_env):
    """Zabbix's own Admin account: to check what Vigie did, as Zabbix sees it."""
    api = ZabbixAPI(zabbix_env["VIGIE_ZABBIX_URL"].removesuffix("/api_jsonrpc.php"), timeout=10)
    api.login("Admin", "zabbix")
    yield api
    api.user.logout()


@pytest.fixture
def zapp(zabbix_env, tmp_path):
    """The app on the real Zabbix, SQLite in a temp dir, the demo members created."""
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'vigie.db'}",
        SOURCE="zabbix",
        ZABBIX_URL=zabbix_env["VIGIE_ZABBIX_URL"],
        ZABBIX_TOKEN=zabbix_env["VIGIE_ZABBIX_TOKEN"],
        ZABBIX_GROUPS_PREFIX=zabbix_env.get("VIGIE_ZABBIX_GROUPS_PREFIX", "Membres/"),
        ZABBIX_CACHE_TTL=0,
        POLL_INTERVAL=0.5,
    )
    app = create_app(config)

    @app.teardown_request
    def _forget(_exc):
        from flask import g

        for key in list(g):
            g.pop(key, None)

    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        from webapp.services import members
        from webapp.sources.demo import make_members

        for member in make_members(6):  # what scripts/zabbix.sh provisions (--scale 6)
            members.create_member(
                name=member.name, slug=member.slug, kind=member.kind, host_groups=[member.group]
            )
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def running_poller(zapp):
    from webapp.live.poller import Poller

    poller = Poller(zapp)
    thread = threading.Thread(target=poller.run, kwargs={"interval": 0.5}, daemon=True)
    thread.start()
    yield poller
    poller.stop()
    thread.join(timeout=10)
