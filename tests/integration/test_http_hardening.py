"""Issue 15's smaller defects: reset links' age, caching, sockets, logs, health, cookies, 405.

(The route-map attack of defect 5 is tests/integration/test_bad_input_everywhere.py.)
"""

from __future__ import annotations

import logging
import re
import runpy
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import _base_config
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_user
from tests.route_samples import fill
from tests.route_samples import samples
from webapp import create_app
from webapp.extensions import db
from webapp.extensions import socketio
from webapp.hardening import redact
from webapp.live.events import NAMESPACE
from webapp.models import Member
from webapp.services import accounts
from webapp.services import members as member_service
from webapp.services.errors import ValidationError
from webapp.services.mail import OUTBOX_KEY

ROOT = Path(__file__).resolve().parents[2]


def sign_in(client, user) -> str:
    token = csrf_from(client, "/connexion")
    response = client.post(
        "/connexion", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return csrf_from(client, "/profil/")


@pytest.fixture
def later(monkeypatch):
    """Move the clock that checks signed links ``seconds`` ahead."""
    real = TimestampSigner.get_timestamp

    def move(seconds: int) -> None:
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + seconds)

    return move


# ---- defect 3: a reset link lives PASSWORD_RESET_MAX_AGE, not the invitation's 7 days ----


def reset_link_path(app, client, user, minutes: int = 60) -> str:
    """Ask for a reset link through the form; its path (the message says how long it lives)."""
    token = csrf_from(client, "/mot-de-passe/oubli")
    client.post("/mot-de-passe/oubli", data={"email": user.email, "csrf_token": token})
    body = app.extensions[OUTBOX_KEY][-1].get_content()
    assert f"valable {minutes} minutes" in body
    return re.search(r"http\S+", body).group(0).removeprefix(app.config["BASE_URL"])


def test_a_reset_link_expires_after_password_reset_max_age(app, client, later):
    user = make_user("viewer")
    path = reset_link_path(app, client, user)
    later(59 * 60)
    assert client.get(path).status_code == 200, "valid within its 60 minutes"
    later(61 * 60)
    page = client.get(path)
    assert page.status_code == 400
    assert "expiré" in page.get_data(as_text=True)
    token = path.rsplit("/", 1)[1]
    with pytest.raises(ValidationError):
        accounts.set_password_with_token(token, "a brand new passphrase")


def test_the_reset_age_is_the_setting_and_an_invitation_keeps_its_own(app, client, later):
    app.config["PASSWORD_RESET_MAX_AGE"] = 600
    user = make_user("viewer")
    reset = reset_link_path(app, client, user, minutes=10)
    invitation = accounts.password_link(user).removeprefix(app.config["BASE_URL"])
    later(11 * 60)
    assert client.get(reset).status_code == 400
    assert client.get(invitation).status_code == 200, "an invitation lives 7 days"
    later(7 * 24 * 3600 + 60)
    assert client.get(invitation).status_code == 400


# ---- defect 6: Cache-Control: no-store ------------------------------------------------------


def test_every_signed_in_answer_is_no_store(app, client):
    values = samples()
    sign_in(client, make_user("admin"))
    anonymous = app.test_client()
    checked = own_policy = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = fill(rule, values)
        response = client.get(path)
        cache = response.headers.get("Cache-Control", "")
        if "no-store" not in cache:
            # Only a public answer may choose its own policy (the service worker, the OpenAPI
            # document, security.txt…): an anonymous visitor gets it too, the same way.
            public = anonymous.get(path)
            where = (rule.rule, response.status_code, cache)
            assert public.status_code == 200, where
            assert public.headers.get("Cache-Control") == cache, where
            own_policy += 1
        checked += 1
    assert checked > 40
    assert own_policy < 10


def test_pages_that_show_a_secret_once_are_no_store(app, client):
    member = demo_member("sarralbe")
    token = sign_in(client, make_user("admin"))
    answers = {
        "api token": client.post(
            "/profil/jetons", data={"token_name": "script", "csrf_token": token}
        ),
        "kiosk link": client.post("/mur/liens", data={"name": "Télé", "csrf_token": token}),
        "invitation": client.post(
            f"/membres/{member.slug}/utilisateurs",
            data={
                "email": "new@example.org",
                "name": "Nouvelle",
                "role": "viewer",
                "csrf_token": token,
            },
        ),
        "json": client.get("/api/v1/members"),
    }
    for what, response in answers.items():
        assert response.status_code < 400, (what, response.status_code)
        assert "no-store" in response.headers.get("Cache-Control", ""), what


def test_public_pages_are_never_kept_by_shared_caches_and_static_files_are(app, client):
    for path in ("/connexion", "/mot-de-passe/oubli", "/healthz", "/nulle-part"):
        assert "no-store" in client.get(path).headers.get("Cache-Control", ""), path
    static = client.get("/static/css/vigie.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


# ---- defect 5: Socket.IO events with missing or strange arguments -------------------------


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_socket_events_with_strange_arguments_are_refused_not_raised(app, client, role):
    member = demo_member("sarralbe")
    sign_in(client, make_user(role, member=member if role == "viewer" else None))
    sio = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)
    assert sio.is_connected(NAMESPACE)
    strange = [
        (),
        (None,),
        ([1, 2],),
        ("sarralbe",),
        (10**30,),
        ({"member": "sarralbe"}, {"member": "sarralbe"}),
        ({"member": ["sarralbe"]},),
        ({"member": "s" * 100_000},),
        ({"request": 10**30},),
        ({"request": "1"},),
        ({"queue": "yes"},),
    ]
    for event in ("subscribe", "subscribe_wall", "subscribe_support", "unsubscribe"):
        for args in strange:
            answer = sio.emit(event, *args, namespace=NAMESPACE, callback=True)
            assert isinstance(answer, dict), (event, args)
            if event != "unsubscribe" and not (event == "subscribe_wall" and role == "admin"):
                assert answer["ok"] is False, (event, args, answer)
    # Still served as before.
    assert sio.emit("subscribe", {"member": "sarralbe"}, namespace=NAMESPACE, callback=True)["ok"]


# ---- defect 11: tokens in the access logs -----------------------------------------------

SECRET = "k_S3cretT0kenValue"


def test_every_rule_with_a_token_is_redacted(app):
    rules = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert len(rules) >= 3
    for rule in rules:
        path = fill(rule, {"token": SECRET, "slug": "sarralbe"})
        line = f'"GET {path}?a=1 HTTP/1.1" 200 "https://vigie.example.org{path}"'
        assert SECRET not in redact(line), rule.rule
        assert path.rsplit("/", 1)[0] + "/[redacted]" in redact(line)


def test_the_development_server_log_has_no_link_token(app, caplog):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in (f"/mur/kiosque/{SECRET}", f"/mot-de-passe/definir/{SECRET}.x.y"):
                with pytest.raises(urllib.error.HTTPError):
                    urllib.request.urlopen(base + path, timeout=10)  # noqa: S310 - loopback
            deadline = time.monotonic() + 5
            while len(caplog.records) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/mur/kiosque/[redacted]" in line for line in lines), lines
    assert any("/mot-de-passe/definir/[redacted]" in line for line in lines), lines
    assert not any(SECRET in line for line in lines), lines


def test_the_gunicorn_access_log_has_no_link_token():
    from gunicorn.config import Config
    from gunicorn.glogging import SafeAtoms

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    config.set("logger_class", settings["logger_class"])
    config.set("access_log_format", settings["access_log_format"])
    logger = config.logger_class(config)
    path = f"/mur/kiosque/{SECRET}"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path + "?kiosque=1",
        "PATH_INFO": path,
        "QUERY_STRING": "kiosque=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_REFERER": f"https://vigie.example.org/mot-de-passe/definir/{SECRET}",
        "HTTP_USER_AGENT": "TV",
    }
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[("Location", "/mur")])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    line = config.access_log_format % SafeAtoms(atoms)
    assert SECRET not in line
    assert "GET /mur/kiosque/[redacted]?kiosque=1 HTTP/1.1" in line
    assert "/mot-de-passe/definir/[redacted]" in line
    assert all(SECRET not in str(value) for value in atoms.values())


# ---- defect 11: /healthz tells a code, the details to administrators only -----------------


def test_healthz_shows_a_code_and_the_source_error_to_admins_only(app, client, source):
    from webapp.live.monitor import get_monitor

    source.set_outage(True)
    get_monitor().interval = 0
    anonymous = client.get("/healthz").json
    assert anonymous["source"] == "error"
    assert anonymous["source_error"] == "source_unavailable"
    assert "source_error_detail" not in anonymous
    assert "arrêtée" not in str(anonymous)
    sign_in(client, make_user("viewer", member=demo_member("sarralbe")))
    assert "source_error_detail" not in client.get("/healthz").json, "a member's user: no"
    admin = app.test_client()
    sign_in(admin, make_user("admin"))
    data = admin.get("/healthz").json
    assert data["source_error"] == "source_unavailable"
    assert "arrêtée" in data["source_error_detail"]


# ---- defect 11: the session cookie is __Host- in production -------------------------------


def test_the_production_session_cookie_has_the_host_prefix(app, database_url, tmp_path):
    production = create_app(
        {
            **_base_config(database_url, tmp_path),
            "TESTING": True,
            "ENV": "production",
            "SECRET_KEY": "x" * 32,
            "ALLOW_DEMO_IN_PRODUCTION": True,
        }
    )
    with production.app_context():
        try:
            production_sign_in(production)
        finally:  # this app's own connections, closed now (not by the garbage collector)
            db.session.remove()
            db.engine.dispose()


def production_sign_in(production) -> None:
    """Sign in over HTTPS on ``production``: the session cookie it sets, and reads back."""
    user = make_user("admin")
    client = production.test_client()
    https = "https://vigie.example.org"
    token = csrf_from_https(client, https)
    response = client.post(
        "/connexion",
        base_url=https,
        headers={"Referer": f"{https}/connexion"},  # Flask-WTF checks it over HTTPS
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("__Host-vigie="))
    attributes = [part.strip().lower() for part in session.split(";")[1:]]
    assert "secure" in attributes and "path=/" in attributes
    assert not any(a.startswith("domain=") for a in attributes)
    assert not any(c.startswith("session=") for c in cookies)
    # read back: signed in (an admin without two-factor, held to its enrolment page)
    assert response.headers["Location"] == "/profil/double-authentification"
    page = client.get("/profil/double-authentification", base_url=https)
    assert page.status_code == 200, "read back"


def csrf_from_https(client, base_url: str) -> str:
    page = client.get("/connexion", base_url=base_url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_outside_production_the_cookie_keeps_its_name(app, client):
    assert app.config["SESSION_COOKIE_NAME"] == "session"


# ---- defect 11: 405 answers say which methods are allowed ---------------------------------


def test_a_405_has_an_allow_header(app, client):
    page = client.get("/deconnexion")
    assert page.status_code == 405
    assert "POST" in page.headers["Allow"]
    assert "Méthode non autorisée" in page.get_data(as_text=True)
    api = client.get("/api/v1/me/push-subscriptions/1/test")
    assert api.status_code == 405
    assert "POST" in api.headers["Allow"] and "GET" not in api.headers["Allow"]
    assert api.json["error"]["code"] == "method_not_allowed"


# ---- defect 11: blank contact fields are no data ---------------------------------------------


def test_blank_contact_fields_are_stored_as_nothing(app, client):
    token = sign_in(client, make_user("admin"))
    response = client.post(
        "/admin/membres/nouveau",
        data={
            "name": "Commune Y",
            "slug": "commune-y",
            "kind": "commune",
            "siren": "   ",
            "host_group": "Membres/commune-y",
            "contact_name": "   ",
            "contact_email": " \t ",
            "contact_phone": "  ",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    member = db.session.execute(select(Member).where(Member.slug == "commune-y")).scalar_one()
    assert (member.siren, member.contact_name, member.contact_email, member.contact_phone) == (
        None,
        None,
        None,
        None,
    )


def test_the_member_service_strips_contact_fields(app):
    member = member_service.create_member(
        name="Commune Z",
        slug="commune-z",
        kind="commune",
        host_groups=["Membres/commune-z"],
        contact_name="  Mme Martin ",
        contact_email="   ",
        contact_phone=" ",
    )
    assert (member.contact_name, member.contact_email, member.contact_phone) == (
        "Mme Martin",
        None,
        None,
    )
