"""Accounts: login, logout, rate limit, password links, demo accounts, headers."""

import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_user
from webapp import create_app
from webapp.services import accounts
from webapp.services import demo
from webapp.services.mail import OUTBOX_KEY


def post_login(client, email, password):
    return client.post(
        "/connexion",
        data={"email": email, "password": password, "csrf_token": csrf_from(client, "/connexion")},
    )


def test_login_then_logout(app, client):
    user = make_user("viewer", member=demo_member("sarralbe"))
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # single member: straight to its home
    token = csrf_from(client, "/profil/")
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 302
    assert client.get("/profil/").status_code == 302


def test_wrong_password_is_refused_in_french(app, client):
    user = make_user("viewer")
    response = post_login(client, user.email, "not the password")
    assert response.status_code == 400
    assert "Adresse électronique ou mot de passe incorrect." in response.get_data(as_text=True)
    unknown = post_login(client, "nobody@example.org", "whatever")
    assert "Adresse électronique ou mot de passe incorrect." in unknown.get_data(as_text=True)


def test_inactive_user_cannot_log_in(app, client, db):
    user = make_user("viewer")
    user.active = False
    db.session.commit()
    assert post_login(client, user.email, PASSWORD).status_code == 400


def test_login_is_rate_limited(app, client):
    user = make_user("viewer")
    statuses = [post_login(client, user.email, "wrong").status_code for _ in range(12)]
    assert statuses[:10] == [400] * 10
    assert statuses[-1] == 429
    page = post_login(client, user.email, PASSWORD).get_data(as_text=True)
    assert "Trop de tentatives" in page


def test_open_redirect_is_refused(app, client):
    user = make_user("viewer")
    token = csrf_from(client, "/connexion")
    response = client.post(
        "/connexion",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/"


def test_password_reset_link_is_single_use(app, client):
    user = make_user("viewer")
    token = csrf_from(client, "/mot-de-passe/oubli")
    client.post("/mot-de-passe/oubli", data={"email": user.email, "csrf_token": token})
    message = app.extensions[OUTBOX_KEY][-1]
    link = re.search(r"http\S+", message.get_content()).group(0)
    path = link.removeprefix(app.config["BASE_URL"])
    form = csrf_from(client, path)
    new = "a brand new passphrase"
    response = client.post(path, data={"password": new, "confirm": new, "csrf_token": form})
    assert response.status_code == 302
    assert accounts.authenticate(user.email, new) is not None
    again = client.get(path)
    assert again.status_code == 400
    assert "déjà été utilisé" in again.get_data(as_text=True)


def test_reset_for_unknown_address_says_the_same(app, client):
    token = csrf_from(client, "/mot-de-passe/oubli")
    response = client.post(
        "/mot-de-passe/oubli",
        data={"email": "ghost@example.org", "csrf_token": token},
        follow_redirects=True,
    )
    assert "Si un compte existe" in response.get_data(as_text=True)
    assert not app.extensions.get(OUTBOX_KEY)


def test_expired_and_forged_links_are_refused(app, client):
    user = make_user("viewer")
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=accounts.RESET_SALT)
    forged = serializer.dumps({"uid": user.id, "fp": "0" * 16})
    assert "plus valide" in client.get(f"/mot-de-passe/definir/{forged}").get_data(as_text=True)
    assert client.get("/mot-de-passe/definir/garbage").status_code == 400
    app.config["INVITATION_MAX_AGE"] = -1
    expired = accounts.make_password_token(user)
    assert "expiré" in client.get(f"/mot-de-passe/definir/{expired}").get_data(as_text=True)


def test_demo_accounts_are_refused_in_production(app, client):
    demo.load()
    assert post_login(client, demo.ADMIN_EMAIL, demo.DEMO_PASSWORD).status_code == 302
    app.config["ENV"] = "production"
    other = app.test_client()
    response = post_login(other, demo.SUPPORT_EMAIL, demo.DEMO_PASSWORD)
    assert response.status_code == 400
    with pytest.raises(RuntimeError):
        demo.load()


def test_demo_load_is_idempotent(app):
    first = demo.load()
    assert first > 0
    assert demo.load() == 0


def test_security_headers_and_cookies(app, client):
    response = client.get("/connexion")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    page = response.get_data(as_text=True)
    assert "<script>" not in page and " style=" not in page
    user = make_user("viewer")
    login = post_login(client, user.email, PASSWORD)
    cookie = next(c for c in login.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "ENV": "production",
            "SECRET_KEY": "x" * 32,
            "DATABASE_URL": database_url,
            "DEMO_STATE_FILE": str(tmp_path / "s"),
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/connexion", base_url="https://vigie.example.org")
    assert "Strict-Transport-Security" in response.headers


def test_secret_key_is_generated_once(tmp_path, monkeypatch):
    from webapp.config import load_or_create_secret

    first = load_or_create_secret(str(tmp_path))
    assert len(first) > 40
    assert load_or_create_secret(str(tmp_path)) == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_language_switch(app, client):
    token = csrf_from(client, "/connexion")
    client.post("/langue", data={"lang": "en", "next": "/connexion", "csrf_token": token})
    assert 'lang="en"' in client.get("/connexion").get_data(as_text=True)


def test_no_proconnect_button_unless_configured(client):
    page = client.get("/connexion").get_data(as_text=True)
    assert "ProConnect" not in page
    assert "form-action 'self';" in client.get("/connexion").headers["Content-Security-Policy"]
    token = csrf_from(client, "/connexion")
    response = client.post("/connexion/proconnect", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert client.get("/connexion/proconnect/retour?code=c&state=s").status_code == 302
