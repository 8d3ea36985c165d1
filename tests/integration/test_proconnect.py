"""Sign-in with ProConnect, end to end against a real OpenID provider on loopback.

The provider is panva's certified ``oidc-provider`` run by Node
(``tests/loopback/oidc_provider.py``); Vigie runs in-process behind Flask's test client and
reaches the provider's discovery, token, userinfo and JWKS endpoints over loopback HTTP,
while :class:`ProviderBrowser` plays the agent's browser at the provider.
"""

from __future__ import annotations

import base64
import json
import socket

import pytest
import requests
from flask import current_app
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from tests import factories
from tests.conftest import _base_config
from tests.conftest import _truncate
from tests.conftest import app_in_context
from tests.conftest import csrf_from
from tests.conftest import forget_request_globals
from tests.loopback.oidc_provider import POST_LOGOUT_URI
from tests.loopback.oidc_provider import REDIRECT_URI
from tests.loopback.oidc_provider import ProviderBrowser
from tests.loopback.oidc_provider import query_of
from webapp import create_app
from webapp import proconnect
from webapp.extensions import db as _db
from webapp.models import AuditEvent
from webapp.models import UserSession

pytestmark = pytest.mark.oidc

AGENT = "agent@metz.fr"


def _app(database_url, tmp_path, **config):
    app = create_app({**_base_config(database_url, tmp_path), **config})
    forget_request_globals(app)
    return app


@pytest.fixture
def app(database_url, tmp_path, oidc_provider):
    yield from app_in_context(
        {
            **_base_config(database_url, tmp_path),
            "OIDC_ISSUER": oidc_provider.issuer,
            "OIDC_CLIENT_ID": oidc_provider.client_id,
            "OIDC_CLIENT_SECRET": oidc_provider.client_secret,
        }
    )


@pytest.fixture
def agent(app):
    return factories.make_user(role="member_admin", email=AGENT)


@pytest.fixture
def browser():
    return ProviderBrowser()


def _start(client) -> str:
    """Press « S’identifier avec ProConnect »: the provider's authorization URL."""
    response = client.post(
        "/connexion/proconnect", data={"csrf_token": csrf_from(client, "/connexion")}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def _audit(kind: str) -> list[AuditEvent]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


def test_the_login_page_offers_proconnect(client):
    page = client.get("/connexion").get_data(as_text=True)
    assert "S’identifier avec" in page and "ProConnect</span>" in page
    assert 'href="https://www.proconnect.gouv.fr/"' in page
    assert "Qu’est-ce que ProConnect ?" in page
    # Its button and the logout go to the provider: the CSP lets those forms lead there.
    policy = client.get("/connexion").headers["Content-Security-Policy"]
    assert f"form-action 'self' {current_app.config['OIDC_ISSUER']}" in policy


def test_the_authorization_request(client, oidc_provider):
    params = query_of(_start(client))
    assert params["scope"] == "openid given_name usual_name email uid siret idp_id"
    assert params["client_id"] == oidc_provider.client_id
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["response_type"] == "code"
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert _start(client).startswith(oidc_provider.metadata()["authorization_endpoint"] + "?")


def test_an_agent_with_an_account_signs_in(client, agent, browser):
    callback = browser.authorize(_start(client), AGENT)
    assert callback.startswith("/connexion/proconnect/retour?")
    response = client.get(callback)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert response.headers["Location"] == "/"
    landing = client.get("/", follow_redirects=True)
    assert landing.status_code == 200 and "/connexion" not in landing.request.path
    profile = client.get("/profil/")
    assert profile.status_code == 200 and AGENT in profile.get_data(as_text=True)
    (row,) = _db.session.scalars(select(UserSession).where(UserSession.user_id == agent.id))
    assert row.method == "proconnect" and row.revoked_at is None
    (line,) = _audit("login")
    # siret and idp_id only come in the userinfo (the id_token has no profile claims):
    # the signed userinfo JWT was read and verified.
    assert line.actor_id == agent.id
    assert line.detail == {"method": "proconnect", "siret": "21570463000015", "idp_id": "fia1v2"}
    with client.session_transaction() as session:
        assert session[proconnect.ID_TOKEN_KEY].count(".") == 2
        assert not [k for k in session if k.startswith("_state_")]  # state used once


def test_the_userinfo_arrives_as_a_signed_jwt(client, agent, browser, oidc_provider):
    code = query_of(browser.authorize(_start(client), AGENT))["code"]
    tokens = oidc_provider.exchange(code).json()
    answer = requests.get(
        oidc_provider.metadata()["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert answer.headers["Content-Type"].startswith("application/jwt")
    signed = answer.text
    with current_app.test_request_context():
        claims = proconnect.verify_userinfo_jwt(signed)
        assert claims["email"] == AGENT and claims["usual_name"] == "Durand"

        header, payload, signature = signed.split(".")
        forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        forged["email"] = "admin@vigie.invalid"
        forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=")
        with pytest.raises(proconnect.ProConnectError) as tampered:
            proconnect.verify_userinfo_jwt(f"{header}.{forged_payload.decode()}.{signature}")
        assert tampered.value.reason == "userinfo"

        other_key = RSAKey.generate_key(2048, parameters={"kid": "test-rs256"})
        resigned = jwt.encode({"alg": "RS256", "kid": "test-rs256"}, forged, other_key)
        with pytest.raises(proconnect.ProConnectError):
            proconnect.verify_userinfo_jwt(resigned)

        none = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        with pytest.raises(proconnect.ProConnectError):  # unsigned
            proconnect.verify_userinfo_jwt(f"{none}.{forged_payload.decode()}.")


def test_an_unknown_agent_is_sent_to_their_administrator(client, agent, browser):
    response = client.get(browser.authorize(_start(client), "inconnu@exemple.fr"))
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Aucun compte Vigie n’est ouvert pour l’adresse inconnu@exemple.fr" in page
    assert "administrateur de votre membre" in page
    assert _db.session.scalars(select(UserSession)).first() is None
    (line,) = _audit("login_failed")
    assert line.actor_label == "inconnu@exemple.fr"
    assert line.detail == {"reason": "unknown_account", "method": "proconnect"}


def test_an_unverified_address_is_refused(client, browser):
    factories.make_user(email="non-verifie@metz.fr")
    response = client.get(browser.authorize(_start(client), "non-verifie@metz.fr"))
    assert response.status_code == 403
    assert "adresse électronique vérifiée" in response.get_data(as_text=True)
    assert _db.session.scalars(select(UserSession)).first() is None


def test_a_wrong_state_is_refused(client, agent, browser):
    callback = browser.authorize(_start(client), AGENT)
    params = query_of(callback)
    response = client.get(
        "/connexion/proconnect/retour",
        query_string={"code": params["code"], "state": "x" * 43, "iss": params["iss"]},
    )
    assert response.status_code == 400
    assert "n’est plus valable" in response.get_data(as_text=True)
    assert _db.session.scalars(select(UserSession)).first() is None
    assert _audit("login_failed")[0].detail == {"reason": "state", "method": "proconnect"}
    # The real state, used once, is spent as well: the same answer again is refused.
    client.get(callback)
    assert client.get(callback).status_code == 400


def test_an_answer_from_another_issuer_is_refused(client, agent, browser):
    params = query_of(browser.authorize(_start(client), AGENT))
    response = client.get(
        "/connexion/proconnect/retour", query_string={**params, "iss": "https://idp.invalid"}
    )
    assert response.status_code == 400
    assert _audit("login_failed")[0].detail == {"reason": "issuer", "method": "proconnect"}


def test_a_wrong_nonce_is_refused(client, agent, browser):
    authorization = _start(client)
    with client.session_transaction() as session:
        (key,) = [k for k in session if k.startswith("_state_proconnect_")]
        stored = session[key]
        assert stored["data"]["nonce"] == query_of(authorization)["nonce"]
        stored["data"]["nonce"] = "n" * 43  # what the app expects is not what was sent
        session[key] = stored
    response = client.get(browser.authorize(authorization, AGENT))
    assert response.status_code == 400
    assert "n’a pas pu être vérifiée" in response.get_data(as_text=True)
    assert _db.session.scalars(select(UserSession)).first() is None
    assert _audit("login_failed")[0].detail == {"reason": "nonce", "method": "proconnect"}


def test_a_used_code_is_refused(client, agent, browser, oidc_provider):
    callback = browser.authorize(_start(client), AGENT)
    assert oidc_provider.exchange(query_of(callback)["code"]).status_code == 200  # stolen
    response = client.get(callback)
    assert response.status_code == 400
    assert "a expiré ou a déjà servi" in response.get_data(as_text=True)
    assert _db.session.scalars(select(UserSession)).first() is None
    assert _audit("login_failed")[0].detail == {"reason": "code", "method": "proconnect"}


def test_a_client_the_provider_refuses(database_url, tmp_path, oidc_provider, browser):
    app = _app(
        database_url,
        tmp_path,
        OIDC_ISSUER=oidc_provider.issuer,
        OIDC_CLIENT_ID=oidc_provider.client_id,
        OIDC_CLIENT_SECRET="not-the-registered-secret",
    )
    with app.app_context():
        try:
            factories.make_user(email=AGENT)
            client = app.test_client()
            response = client.get(browser.authorize(_start(client), AGENT))
            assert response.status_code == 503
            assert "ProConnect refuse pour le moment" in response.get_data(as_text=True)
            assert _audit("login_failed")[0].detail == {"reason": "client", "method": "proconnect"}
        finally:
            _db.session.remove()
            _truncate()
            _db.engine.dispose()


def test_an_error_from_the_provider(client, agent):
    _start(client)
    response = client.get(
        "/connexion/proconnect/retour",
        query_string={"error": "access_denied", "error_description": "refusé", "state": "s"},
    )
    assert response.status_code == 400
    assert "ProConnect n’a pas pu vous identifier" in response.get_data(as_text=True)


def test_logout_ends_the_session_here_and_at_the_provider(client, agent, browser, oidc_provider):
    assert client.get(browser.authorize(_start(client), AGENT)).status_code == 302
    with client.session_transaction() as session:
        id_token = session[proconnect.ID_TOKEN_KEY]
    response = client.post("/deconnexion", data={"csrf_token": csrf_from(client, "/profil/")})
    assert response.status_code == 302
    end_session = response.headers["Location"]
    assert end_session.startswith(oidc_provider.metadata()["end_session_endpoint"] + "?")
    params = query_of(end_session)
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == POST_LOGOUT_URI
    assert len(params["state"]) >= 32
    (row,) = _db.session.scalars(select(UserSession))
    _db.session.refresh(row)
    assert row.revoked_at is not None and row.revoked_reason == "logout"
    assert client.get("/profil/").status_code == 302  # signed out of Vigie
    with client.session_transaction() as session:
        assert proconnect.ID_TOKEN_KEY not in session

    back = browser.end_session(end_session)
    assert back.startswith("/connexion?") and query_of(back)["state"] == params["state"]
    with client.session_transaction() as session:
        assert [k for k in session if k.startswith("_state_proconnect_")]  # the logout's
    assert "Vous êtes déconnecté" in client.get(back).get_data(as_text=True)
    with client.session_transaction() as session:
        assert not [k for k in session if k.startswith("_state_proconnect_")]
    # The provider forgot the agent: a new sign-in asks them to log in again there.
    again = browser.http.get(_start(client), allow_redirects=False, timeout=5)
    assert "/interaction/" in again.headers["Location"]


def test_a_password_session_logs_out_here_only(client, login):
    login(factories.make_user())
    response = client.post("/deconnexion", data={"csrf_token": csrf_from(client, "/profil/")})
    assert response.headers["Location"] == "/connexion"
    (row,) = _db.session.scalars(select(UserSession))
    assert row.method == "password"


def test_an_unreachable_provider(database_url, tmp_path):
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        app = _app(
            database_url,
            tmp_path,
            OIDC_ISSUER=f"http://127.0.0.1:{port}",
            OIDC_CLIENT_ID="vigie",
            OIDC_CLIENT_SECRET="secret",
        )
        with app.app_context():
            try:
                client = app.test_client()
                response = client.post(
                    "/connexion/proconnect", data={"csrf_token": csrf_from(client, "/connexion")}
                )
                assert response.status_code == 503
                assert "ProConnect ne répond pas" in response.get_data(as_text=True)
                response = client.get("/connexion/proconnect/retour?code=c&state=s")
                assert response.status_code == 503
            finally:
                _db.session.remove()
                _truncate()
                _db.engine.dispose()
