"""Production refuses the demo (issue 15, defect 9).

On a database where the demo was loaded, ``VIGIE_ENV=production`` refuses the demo
accounts everywhere: their sign-in, a session cookie they had before, their API tokens and
their sockets. ``flask vigie serve`` and gunicorn refuse to start in production without
``VIGIE_SECRET_KEY`` or with the demo source, in one French line.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.integration.test_cli import _error_line
from tests.integration.test_cli import _flask
from tests.integration.test_cli import _free_port
from webapp.config import ConfigError
from webapp.config import check_production
from webapp.extensions import socketio
from webapp.live.events import NAMESPACE
from webapp.models import Member
from webapp.models.choices import SessionEnd
from webapp.services import accounts
from webapp.services import demo
from webapp.services import sessions
from webapp.services import tokens

ROOT = Path(__file__).resolve().parents[2]


def sign_in(app, email, password=PASSWORD):
    browser = app.test_client()
    response = browser.post(
        "/connexion",
        data={"email": email, "password": password, "csrf_token": csrf_from(browser, "/connexion")},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def signed_in(browser) -> bool:
    # The two-factor page: the one a staff account without 2FA still reaches in production.
    response = browser.get("/profil/double-authentification")
    assert response.status_code in (200, 302)
    return response.status_code == 200


@pytest.fixture
def demo_db(app):
    """The demo loaded, then the installation switched to production."""
    demo.load()
    yield app


def test_a_demo_session_opened_before_production_is_refused_on_pages(demo_db):
    app = demo_db
    admin = sign_in(app, demo.ADMIN_EMAIL, demo.DEMO_PASSWORD)
    real = make_user("admin")
    staff = sign_in(app, real.email)
    assert signed_in(admin) and signed_in(staff)
    app.config["ENV"] = "production"
    assert not signed_in(admin), "the demo admin's cookie no longer opens a page"
    page = admin.get("/profil/", follow_redirects=True).get_data(as_text=True)
    assert "Les comptes de démonstration sont refusés" in page
    assert signed_in(staff), "a real account's session goes on"
    demo_admin = accounts.find_user(demo.ADMIN_EMAIL)
    assert sessions.list_for(demo_admin) == [], "ended on the server, not only skipped"
    # And it stays refused if the installation is (wrongly) switched back for a moment.
    app.config["ENV"] = "development"
    assert not signed_in(admin)


def test_the_api_token_of_a_demo_account_is_refused_in_production(demo_db):
    app = demo_db
    clear, _row = tokens.create(accounts.find_user(demo.ADMIN_EMAIL), "script")
    real_clear, _real = tokens.create(make_user("admin"), "script")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {clear}"}
    assert client.get("/api/v1/members", headers=headers).status_code == 200
    app.config["ENV"] = "production"
    refused = client.get("/api/v1/members", headers=headers)
    assert refused.status_code == 401 and refused.is_json
    assert refused.json["error"]["code"] == "authentication_required"
    real = client.get("/api/v1/members", headers={"Authorization": f"Bearer {real_clear}"})
    assert real.status_code == 200


def test_a_demo_session_cannot_use_the_api_in_production(demo_db):
    app = demo_db
    viewer = sign_in(app, "elu@sarralbe.demo.example.org", demo.DEMO_PASSWORD)
    assert viewer.get("/api/v1/members").status_code == 200
    app.config["ENV"] = "production"
    response = viewer.get("/api/v1/members")
    assert response.status_code == 401 and response.is_json


def test_demo_sockets_are_refused_and_closed_in_production(demo_db, db):
    from webapp.realtime import close_ended_session_sockets

    app = demo_db
    viewer = sign_in(app, "elu@sarralbe.demo.example.org", demo.DEMO_PASSWORD)
    before = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=viewer)
    assert before.is_connected(NAMESPACE)
    sarralbe = db.session.scalar(select(Member).where(Member.slug == "sarralbe"))
    real = sign_in(app, make_user("viewer", member=sarralbe).email)
    kept = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=real)
    app.config["ENV"] = "production"
    assert close_ended_session_sockets() == 1, "the open demo socket is closed by the check"
    assert not before.is_connected(NAMESPACE)
    assert kept.is_connected(NAMESPACE)
    again = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=viewer)
    assert not again.is_connected(NAMESPACE), "a new connection is refused"


def test_a_demo_account_gets_no_reset_link_in_production(demo_db):
    from webapp.services.mail import OUTBOX_KEY

    app = demo_db
    app.config["ENV"] = "production"
    client = app.test_client()
    before = len(app.extensions.get(OUTBOX_KEY, []))
    for email in (demo.ADMIN_EMAIL, make_user("admin").email):
        token = csrf_from(client, "/mot-de-passe/oubli")
        answer = client.post("/mot-de-passe/oubli", data={"email": email, "csrf_token": token})
        assert answer.status_code == 302, "the same answer for both"
    sent = app.extensions.get(OUTBOX_KEY, [])[before:]
    assert [m["To"] for m in sent] != [] and demo.ADMIN_EMAIL not in [m["To"] for m in sent]


def test_a_demo_session_ends_with_its_own_reason(demo_db, db):
    app = demo_db
    browser = sign_in(app, demo.SUPPORT_EMAIL, demo.DEMO_PASSWORD)
    user = accounts.find_user(demo.SUPPORT_EMAIL)
    (row,) = sessions.list_for(user)
    app.config["ENV"] = "production"
    assert sessions.alive([row.id]) == set(), "what the socket check of every process reads"
    assert not signed_in(browser)
    db.session.refresh(row)
    assert row.revoked_at is not None and row.revoked_reason == SessionEnd.DEMO_ACCOUNT


# ---- start-up ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"ENV": "production", "SOURCE": "zabbix", "ZABBIX_TOKEN": "t"}, "VIGIE_SECRET_KEY"),
        ({"ENV": "production", "SECRET_KEY": "k" * 48, "SOURCE": "demo"}, "VIGIE_SOURCE"),
        ({"ENV": "production", "SECRET_KEY": "", "SOURCE": "zabbix"}, "VIGIE_SECRET_KEY"),
    ],
)
def test_the_production_check_names_the_setting(settings, named):
    with pytest.raises(ConfigError) as refused:
        check_production(settings)
    assert named in str(refused.value) and "\n" not in str(refused.value)


def test_a_generated_secret_key_is_not_a_production_one():
    generated = {"ENV": "production", "SECRET_KEY": "k" * 48, "SECRET_KEY_GENERATED": True}
    with pytest.raises(ConfigError, match="VIGIE_SECRET_KEY"):
        check_production({**generated, "SOURCE": "zabbix"})
    check_production({"ENV": "production", "SECRET_KEY": "k" * 48, "SOURCE": "zabbix"})
    check_production({"ENV": "development", "SOURCE": "demo"})  # development: anything goes


def test_serve_refuses_production_without_a_secret_key(tmp_path):
    result = _flask(tmp_path, "vigie", "serve", ENV="production")
    line = _error_line(result)
    assert "VIGIE_SECRET_KEY" in line and "production" in line


def test_serve_refuses_production_with_the_demo_source(tmp_path):
    result = _flask(tmp_path, "vigie", "serve", ENV="production", SECRET_KEY="k" * 48)
    line = _error_line(result)
    assert "VIGIE_SOURCE" in line and "démonstration" in line


def _gunicorn(tmp_path, **settings) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIGIE_")}
    env.update(
        VIGIE_BIND=f"127.0.0.1:{_free_port()}",
        VIGIE_DATABASE_URL=f"sqlite:///{tmp_path / 'vigie.db'}",
        **{f"VIGIE_{key}": value for key, value in settings.items()},
    )
    return subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_gunicorn_refuses_production_without_a_secret_key(tmp_path):
    line = _error_line(_gunicorn(tmp_path, ENV="production", SOURCE="zabbix", ZABBIX_TOKEN="t"))
    assert "VIGIE_SECRET_KEY" in line


def test_gunicorn_refuses_production_with_the_demo_source(tmp_path):
    line = _error_line(_gunicorn(tmp_path, ENV="production", SECRET_KEY="k" * 48))
    assert "VIGIE_SOURCE" in line and "démonstration" in line


def test_gunicorn_refuses_a_wrong_hop_count(tmp_path):
    line = _error_line(_gunicorn(tmp_path, TRUSTED_PROXIES="un"))
    assert "VIGIE_TRUSTED_PROXIES" in line
