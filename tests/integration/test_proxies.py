"""Behind the documented TLS proxy (issue 15, defect 10).

Exactly ``VIGIE_TRUSTED_PROXIES`` hops are trusted (Werkzeug's ProxyFix): without it a
client's own ``X-Forwarded-Proto`` or ``X-Forwarded-For`` changes nothing; with one hop the
proxy's say which scheme and which client. The login is limited per client address and per
account (ASVS 2.2.1: failed attempts on one e-mail address, from any address), and so is
the password-reset request; an unknown address is limited exactly like a known one.
"""

from __future__ import annotations

import contextlib

import pytest

from tests.conftest import _base_config
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import make_user
from webapp import create_app
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.proxies import TrustedProxies

ACCOUNT_LIMITED = "Trop de tentatives de connexion pour cette adresse électronique."
RESETS_LIMITED = "Trop de demandes de lien pour cette adresse électronique."


@contextlib.contextmanager
def app_with(database_url, tmp_path, **settings):
    """Another app on the test's database (the ``app`` fixture empties it afterwards)."""
    other = create_app({**_base_config(database_url, tmp_path), **settings})
    with other.app_context():
        try:
            yield other
        finally:
            db.session.remove()
            db.engine.dispose()


PRODUCTION = {"ENV": "production", "SECRET_KEY": "k" * 48, "SOURCE": "demo"}


# ---- X-Forwarded-Proto --------------------------------------------------------------------


def test_a_client_sent_forwarded_proto_is_ignored_without_trusted_proxies(
    app, database_url, tmp_path
):
    with app_with(database_url, tmp_path, **PRODUCTION, TRUSTED_PROXIES=0) as production:
        client = production.test_client()
        response = client.get("/connexion", headers={"X-Forwarded-Proto": "https"})
        assert response.status_code == 302, "plain http is still sent to https"
        assert response.headers["Location"].startswith("https://")
        assert "Strict-Transport-Security" not in response.headers


def test_the_proxy_forwarded_proto_is_honoured_with_one_hop(app, database_url, tmp_path):
    with app_with(database_url, tmp_path, **PRODUCTION, TRUSTED_PROXIES=1) as production:
        client = production.test_client()
        response = client.get("/connexion", headers={"X-Forwarded-Proto": "https"})
        assert response.status_code == 200
        assert "Strict-Transport-Security" in response.headers
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if "__Host-" in c)
        assert "Secure" in cookie
        plain = client.get("/connexion", headers={"X-Forwarded-Proto": "http"})
        assert plain.status_code == 302 and plain.headers["Location"].startswith("https://")


def test_no_forwarded_header_reaches_the_app():
    seen = {}

    def inner(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "REMOTE_ADDR": "10.0.0.1",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "vigie.example",
        "HTTP_X_FORWARDED_FOR": "203.0.113.7, 198.51.100.2",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_HOST": "evil.example",
        "HTTP_FORWARDED": "for=1.2.3.4",
    }
    TrustedProxies(inner, 1)(dict(environ), lambda *a: None)
    assert seen["REMOTE_ADDR"] == "198.51.100.2", "the last hop's word, not the client's"
    assert seen["wsgi.url_scheme"] == "https"
    assert seen["HTTP_HOST"] == "vigie.example", "X-Forwarded-Host is never used"
    assert not [key for key in seen if "FORWARDED" in key]
    seen.clear()
    TrustedProxies(inner, 0)(dict(environ), lambda *a: None)
    assert seen["REMOTE_ADDR"] == "10.0.0.1" and seen["wsgi.url_scheme"] == "http"
    assert not [key for key in seen if "FORWARDED" in key]


@pytest.mark.parametrize("value", ["un", "-1", "1.5", True])
def test_a_wrong_hop_count_is_refused_in_french(app, database_url, tmp_path, value):
    with pytest.raises(ConfigError, match="VIGIE_TRUSTED_PROXIES"):
        create_app({**_base_config(database_url, tmp_path), "TRUSTED_PROXIES": value})


# ---- X-Forwarded-For: one bucket per client only behind a trusted proxy -------------------


def wrong_login(client, email, forwarded_for=None, address=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    environ = {"REMOTE_ADDR": address} if address else {}
    token = csrf_from(client, "/connexion")
    return client.post(
        "/connexion",
        headers=headers,
        environ_overrides=environ,
        data={"email": email, "password": "not the password", "csrf_token": token},
    )


def test_forwarded_for_is_one_shared_bucket_without_trusted_proxies(app, database_url, tmp_path):
    limit = {"LOGIN_RATE_LIMIT": "3 per minute", "TRUSTED_PROXIES": 0}
    with app_with(database_url, tmp_path, **limit) as direct:
        client = direct.test_client()
        statuses = [
            wrong_login(client, f"user{n}@example.org", f"203.0.113.{n}").status_code
            for n in range(4)
        ]
        assert statuses == [400, 400, 400, 429], "a client cannot choose its own bucket"


def test_forwarded_for_gives_each_client_its_bucket_behind_one_proxy(app, database_url, tmp_path):
    limit = {"LOGIN_RATE_LIMIT": "3 per minute", "TRUSTED_PROXIES": 1}
    with app_with(database_url, tmp_path, **limit) as proxied:
        client = proxied.test_client()
        many = [
            wrong_login(client, f"user{n}@example.org", f"203.0.113.{n}").status_code
            for n in range(6)
        ]
        assert many == [400] * 6, "six clients, one attempt each"
        one = [
            wrong_login(client, f"other{n}@example.org", "198.51.100.9").status_code
            for n in range(4)
        ]
        assert one == [400, 400, 400, 429], "one client, its own limit"
        spoofed = [
            # What the client wrote before the proxy appended its address: ignored.
            wrong_login(client, f"spoof{n}@example.org", f"10.9.9.{n}, 198.51.100.9").status_code
            for n in range(2)
        ]
        assert spoofed == [429, 429]


# ---- per account ----------------------------------------------------------------------


def test_the_account_limit_is_reached_from_many_addresses(app, client):
    app.config["LOGIN_ACCOUNT_LIMIT"] = "3 per hour"
    user = make_user("viewer", email="camille@example.org")
    statuses = [
        wrong_login(client, "Camille@Example.ORG" if n % 2 else user.email, address=f"192.0.2.{n}")
        for n in range(4)
    ]
    assert [r.status_code for r in statuses] == [400, 400, 400, 429]
    page = statuses[-1].get_data(as_text=True)
    assert ACCOUNT_LIMITED in page
    # Even the right password waits: the attempts on this account are suspended.
    token = csrf_from(client, "/connexion")
    right = client.post(
        "/connexion",
        environ_overrides={"REMOTE_ADDR": "192.0.2.200"},
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert right.status_code == 429
    # Another account, from the same addresses, is not concerned.
    other = make_user("viewer")
    assert wrong_login(client, other.email, address="192.0.2.1").status_code == 400


def test_an_unknown_address_is_limited_exactly_like_an_account(app, client):
    app.config["LOGIN_ACCOUNT_LIMIT"] = "3 per hour"
    make_user("viewer", email="known@example.org")
    answers = {}
    for email in ("known@example.org", "unknown@example.org"):
        responses = [wrong_login(client, email, address=f"192.0.2.{n}") for n in range(4)]
        answers[email] = [
            (r.status_code, r.get_data(as_text=True).replace(email, "ADDRESS")) for r in responses
        ]
    known, unknown = answers["known@example.org"], answers["unknown@example.org"]
    assert [s for s, _ in known] == [s for s, _ in unknown] == [400, 400, 400, 429]
    assert known[-1][1].count(ACCOUNT_LIMITED) == unknown[-1][1].count(ACCOUNT_LIMITED) == 1


def test_successful_sign_ins_do_not_count_against_the_account(app):
    app.config["LOGIN_ACCOUNT_LIMIT"] = "2 per hour"
    user = make_user("viewer")
    for n in range(4):
        browser = app.test_client()
        token = csrf_from(browser, "/connexion")
        response = browser.post(
            "/connexion",
            environ_overrides={"REMOTE_ADDR": f"192.0.2.{n}"},
            data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302


def test_the_account_limit_answers_json_to_the_api_minded(app, client):
    app.config["LOGIN_ACCOUNT_LIMIT"] = "1 per hour"
    wrong_login(client, "x@example.org", address="192.0.2.1")
    token = csrf_from(client, "/connexion")
    response = client.post(
        "/connexion",
        headers={"Accept": "application/json"},
        environ_overrides={"REMOTE_ADDR": "192.0.2.2"},
        data={"email": "x@example.org", "password": "nope", "csrf_token": token},
    )
    assert response.status_code == 429 and response.is_json
    assert ACCOUNT_LIMITED in response.json["error"]["message"]


def test_password_reset_requests_are_limited_per_account(app, client):
    app.config["PASSWORD_RESET_ACCOUNT_LIMIT"] = "2 per hour"
    make_user("viewer", email="known@example.org")
    for email in ("known@example.org", "unknown@example.org"):
        statuses = []
        for n in range(3):
            token = csrf_from(client, "/mot-de-passe/oubli")
            response = client.post(
                "/mot-de-passe/oubli",
                environ_overrides={"REMOTE_ADDR": f"192.0.2.{n}"},
                data={"email": email.upper(), "csrf_token": token},
            )
            statuses.append(response.status_code)
        assert statuses == [302, 302, 429], email
        assert RESETS_LIMITED in response.get_data(as_text=True)
