"""``flask vigie …`` commands, as technicians and scripts use them."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from tests.conftest import ROOT
from tests.conftest import _base_config
from tests.conftest import _truncate
from tests.factories import demo_member
from webapp import create_app
from webapp.extensions import db
from webapp.live.monitor import get_monitor
from webapp.models import Member
from webapp.services import accounts
from webapp.services import demo
from webapp.services import support


def test_member_add_then_list(runner):
    result = runner.invoke(
        args=[
            "vigie",
            "member",
            "add",
            "--name",
            "Mairie de Sarralbe",
            "--slug",
            "sarralbe",
            "--kind",
            "commune",
            "--host-group",
            "Membres/sarralbe",
            "--siren",
            "732829320",
        ]
    )
    assert result.exit_code == 0, result.output
    member = db.session.execute(select(Member).where(Member.slug == "sarralbe")).scalar_one()
    assert member.group_names == ["Membres/sarralbe"]
    assert member.subscription.probes == 100
    listing = runner.invoke(args=["vigie", "member", "list"])
    assert "sarralbe" in listing.output


def test_member_add_refuses_bad_input(runner):
    demo_member("sarralbe")
    for args in (["--slug", "Bad Slug!"], ["--slug", "sarralbe"], ["--siren", "123"]):
        base = {"--name": "X", "--slug": "x-ok", "--kind": "commune", "--host-group": "Membres/x"}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        flat = [item for pair in base.items() for item in pair]
        result = runner.invoke(args=["vigie", "member", "add", *flat])
        assert result.exit_code == 1
        assert "Erreur" in result.output
    assert db.session.execute(select(Member)).scalars().all()[0].slug == "sarralbe"


def test_user_add_prints_a_one_time_link(app, runner, client):
    demo_member("sarralbe")
    result = runner.invoke(
        args=[
            "vigie",
            "user",
            "add",
            "--email",
            "Elu@Example.org",
            "--member",
            "sarralbe",
            "--role",
            "member_admin",
        ]
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"http\S+/mot-de-passe/definir/\S+", result.output).group(0)
    user = accounts.find_user("elu@example.org")
    assert user.memberships[0].role == "member_admin"
    assert client.get(link.removeprefix(app.config["BASE_URL"])).status_code == 200


def test_user_add_errors(runner):
    unknown = runner.invoke(
        args=["vigie", "user", "add", "--email", "a@example.org", "--member", "nope"]
    )
    assert unknown.exit_code == 1 and "membre inconnu" in unknown.output
    no_member = runner.invoke(args=["vigie", "user", "add", "--email", "a@example.org"])
    assert no_member.exit_code == 1


def test_staff_user_add(runner):
    result = runner.invoke(
        args=["vigie", "user", "add", "--email", "tech@example.org", "--staff", "support"]
    )
    assert result.exit_code == 0
    assert accounts.find_user("tech@example.org").is_staff


def test_demo_fail_and_repair_from_outside(app, runner, source):
    result = runner.invoke(args=["vigie", "demo", "fail", "sarralbe-routeur"])
    assert result.exit_code == 0 and "Panne simulée" in result.output
    assert "sarralbe-routeur" in demo.faults()
    # Another process (a new source on the same state file) sees it.
    from webapp.sources.demo import DemoSource

    other = DemoSource(state_file=source.state.path, incidents=False)
    assert [p.name for p in other.problems()] == ["Routeur mairie ne répond plus (ICMP)"]
    result = runner.invoke(args=["vigie", "demo", "repair", "sarralbe-routeur"])
    assert result.exit_code == 0 and "réparé" in result.output
    assert other.problems() == []


def test_demo_unknown_host_fails(runner):
    result = runner.invoke(args=["vigie", "demo", "fail", "nope"])
    assert result.exit_code == 1 and "équipement inconnu" in result.output


def test_demo_load_and_accounts(runner):
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import SupportRequest

    assert runner.invoke(args=["vigie", "demo", "load"]).exit_code == 0
    output = runner.invoke(args=["vigie", "demo", "accounts"]).output
    assert demo.ADMIN_EMAIL in output and demo.DEMO_PASSWORD in output
    # A living support queue: every status but closed, one overdue, one rated, one by phone.
    requests = db.session.scalars(select(SupportRequest)).all()
    assert {r.status for r in requests} >= {"new", "in_progress", "waiting_member", "resolved"}
    assert any(r.rating == "satisfied" for r in requests)
    assert any(r.channel == "phone" for r in requests)
    assert any(support.is_overdue(r) for r in requests)
    assert runner.invoke(args=["vigie", "demo", "load"]).exit_code == 0
    assert len(db.session.scalars(select(SupportRequest)).all()) == len(requests), "once"


def test_demo_outage_and_check_source(runner):
    assert "version 6.0" in runner.invoke(args=["vigie", "check-source"]).output
    runner.invoke(args=["vigie", "demo", "outage", "on"])
    result = runner.invoke(args=["vigie", "check-source"])
    assert result.exit_code == 1 and "injoignable" in result.output
    runner.invoke(args=["vigie", "demo", "outage", "off"])
    assert runner.invoke(args=["vigie", "check-source"]).exit_code == 0


# -- the monitoring source's settings (issue 9, defect 5) ----------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def app_with(database_url, tmp_path, monkeypatch):
    """``app_with(**settings)``: the app with these settings; any HTTP request fails the test."""

    def contacted(*_args, **_kwargs):
        raise AssertionError("the monitoring source was contacted")

    monkeypatch.setattr(requests.Session, "send", contacted)
    contexts = []

    def build(**settings):
        app = create_app({**_base_config(database_url, tmp_path), **settings})
        context = app.app_context()
        context.push()
        contexts.append(context)
        return app

    yield build
    if contexts:
        db.session.remove()
        _truncate()
        db.engine.dispose()
    for context in reversed(contexts):
        context.pop()


NO_TOKEN = {"SOURCE": "zabbix", "ZABBIX_TOKEN": None, "ZABBIX_USER": None}


def test_commands_that_need_no_source_neither_build_nor_contact_it(app_with):
    app = app_with(**NO_TOKEN)
    runner = app.test_cli_runner()
    steps = [
        ["db", "upgrade"],
        ["vigie", "member", "add", "--name", "Mairie de Sarralbe", "--slug", "sarralbe"]
        + ["--kind", "commune", "--host-group", "Membres/sarralbe"],
        ["vigie", "member", "list"],
        ["vigie", "user", "add", "--email", "elu@example.org", "--member", "sarralbe"],
        ["vigie", "demo", "load"],  # the demo estate, offline: the development Zabbix's
        ["vigie", "demo", "accounts"],
    ]
    for args in steps:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    assert get_monitor(app)._source is None
    assert accounts.find_user(demo.ADMIN_EMAIL) is not None


def _flask(tmp_path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """``flask …`` as a technician types it, with only ``settings`` as VIGIE_* variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIGIE_")}
    env.update(
        FLASK_APP="wsgi.py",
        VIGIE_DATABASE_URL=f"sqlite:///{tmp_path / 'vigie.db'}",
        VIGIE_DEMO_STATE_FILE=str(tmp_path / "demo-state.json"),
        **{f"VIGIE_{key}": value for key, value in settings.items()},
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a `serve` that starts anyway fails here instead of hanging
    )


def _error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Erreur : ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["vigie", "check-source"], ["vigie", "serve"]])
def test_a_missing_token_is_one_french_line(tmp_path, command):
    line = _error_line(_flask(tmp_path, *command, SOURCE="zabbix"))
    assert "VIGIE_ZABBIX_TOKEN" in line and "jeton" in line


@pytest.mark.parametrize("command", [["vigie", "check-source"], ["vigie", "serve"]])
def test_an_unreachable_zabbix_url_is_one_french_line(tmp_path, command):
    url = f"http://127.0.0.1:{_free_port()}/api_jsonrpc.php"
    result = _flask(tmp_path, *command, SOURCE="zabbix", ZABBIX_URL=url, ZABBIX_TOKEN="t" * 64)
    line = _error_line(result)
    assert "injoignable" in line and url in line


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"ZABBIX_URL": "zabbix.example", "ZABBIX_TOKEN": "t"}, "VIGIE_ZABBIX_URL"),
        ({"ZABBIX_TIMEOUT": "dix", "ZABBIX_TOKEN": "t"}, "VIGIE_ZABBIX_TIMEOUT"),
        ({"ZABBIX_USER": "vigie", "ZABBIX_PASSWORD": None}, "VIGIE_ZABBIX_PASSWORD"),
        ({}, "VIGIE_ZABBIX_TOKEN"),
    ],
)
def test_a_wrong_zabbix_setting_is_one_french_line(app_with, settings, named):
    app = app_with(**{**NO_TOKEN, **settings})
    runner = app.test_cli_runner()
    for command in (["vigie", "check-source"], ["vigie", "poll", "--once"], ["vigie", "serve"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), command
        lines = result.output.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Erreur : ") and named in lines[0]
    checked = runner.invoke(args=["vigie", "zabbix-check"])
    assert checked.exit_code == 1 and isinstance(checked.exception, SystemExit)
    assert named in checked.output


def test_an_unknown_source_is_one_french_line(tmp_path):
    assert "VIGIE_SOURCE='nope'" in _error_line(_flask(tmp_path, "vigie", "serve", SOURCE="nope"))


def test_gunicorn_stops_at_once_on_a_missing_token(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIGIE_")}
    env.update(
        VIGIE_SOURCE="zabbix",
        VIGIE_BIND=f"127.0.0.1:{_free_port()}",
        VIGIE_DATABASE_URL=f"sqlite:///{tmp_path / 'vigie.db'}",
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "VIGIE_ZABBIX_TOKEN" in _error_line(result)
