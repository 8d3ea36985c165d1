"""Bad input on every write route of the URL map: never a 500 (issue 15, defect 5).

Like the tenancy proof does for reads, the routes come from ``app.url_map``, not from a
hand-picked list: a route added later is attacked too. Each is sent, as an anonymous visitor
and as a signed-in syndicate admin (with a valid CSRF token, so the input reaches the form):

(a) a file part in every field name any form of the portal has (and a few generic ones);
(b) a body over the size limit: 413;
(c) 25-digit values for its integer arguments: 404 (on every method, reads too);
(d) CR/LF in ``next`` (form and query string): never a header of the attacker's.
"""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import pytest
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter
from werkzeug.test import encode_multipart
from wtforms.fields.core import UnboundField

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.route_samples import fill
from tests.route_samples import samples

API_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
GENERIC_FIELDS = {"name", "email", "password", "message", "body", "comment", "text", "next"}
CRLF_NEXT = "/membres/\r\nSet-Cookie: vigie-injected=1\r\nX-Injected: 1"
# The upload routes accept their file's size plus MAX_CONTENT_LENGTH: kept small here, so that
# one body is over every route's limit.
SMALL_UPLOAD = 1024


def write_routes(app) -> list[tuple]:
    """Every rule with POST (and PUT, PATCH, DELETE under /api/), with each such method."""
    routes = []
    for rule in app.url_map.iter_rules():
        wanted = API_WRITES if rule.rule.startswith("/api/") else {"POST"}
        for method in sorted(rule.methods & wanted):
            routes.append((rule, method))
    # Signing out last: the admin's client stays signed in for the others.
    return sorted(routes, key=lambda item: item[0].endpoint == "auth.logout")


def int_routes(app) -> list[tuple]:
    """Every rule with an integer argument, with each of its methods."""
    return [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values())
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def form_field_names() -> set[str]:
    """The field names of every form of the portal (the forms' modules are imported)."""
    names = set(GENERIC_FIELDS)
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        names.update(
            name for name in dir(form) if isinstance(getattr(form, name, None), UnboundField)
        )
    names.discard("csrf_token")
    return names


class Visitor:
    """A client (anonymous, or signed in as ``user``) with a valid CSRF token."""

    def __init__(self, app, user=None) -> None:
        self.app, self.user = app, user
        self.sign_in()

    def sign_in(self) -> None:
        self.client = self.app.test_client()
        self.token = csrf_from(self.client, "/connexion")
        if self.user is not None:
            response = self.client.post(
                "/connexion",
                data={"email": self.user.email, "password": PASSWORD, "csrf_token": self.token},
            )
            assert response.status_code == 302
            self.token = csrf_from(self.client, "/profil/")

    def open(self, path: str, method: str, **kwargs):
        headers = {"X-CSRFToken": self.token, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    @property
    def label(self) -> str:
        return "anonymous" if self.user is None else "admin"


@pytest.fixture
def visitors(app):
    app.config.update(AGREEMENT_MAX_BYTES=SMALL_UPLOAD, SUPPORT_ATTACHMENT_MAX_BYTES=SMALL_UPLOAD)
    return [Visitor(app), Visitor(app, make_user("admin"))]


def problem(response, rule, method: str, visitor: Visitor, expected=None) -> str | None:
    """What is wrong with ``response`` (None: nothing): a 5xx, not the status expected, or
    an API answer that is not its JSON error."""
    status = response.status_code
    wrong = status >= 500 or (expected is not None and status not in expected)
    if rule.rule.startswith("/api/") and status >= 400:
        wrong = wrong or not response.is_json or response.json["error"]["status"] != status
    return f"{visitor.label} {method} {rule.rule}: {status}" if wrong else None


def assert_none(problems: list[str | None]) -> None:
    found = [p for p in problems if p]
    assert not found, "\n".join(found)


def after(visitor: Visitor, rule) -> None:
    if rule.endpoint == "auth.logout" and visitor.user is not None:
        visitor.sign_in()


def test_the_url_map_has_write_routes(app):
    # Guards the enumeration itself.
    assert len(write_routes(app)) >= 40
    assert len(int_routes(app)) >= 30
    assert {"email", "password", "name", "body", "token_name", "next"} <= form_field_names()


def test_a_file_where_text_is_expected_is_never_a_500(app, visitors):
    values = samples()
    names = sorted(form_field_names())
    problems = []
    for rule, method in write_routes(app):
        for visitor in visitors:
            data = {name: (io.BytesIO(b"not text"), "file.txt") for name in names}
            data["csrf_token"] = visitor.token
            response = visitor.open(fill(rule, values), method, data=data)
            problems.append(problem(response, rule, method, visitor))
            after(visitor, rule)
    assert_none(problems)


def test_a_body_over_the_limit_is_a_413_everywhere(app, visitors):
    values = samples()
    body = "x" * (app.config["MAX_CONTENT_LENGTH"] + 64 * 1024)
    problems = []
    for rule, method in write_routes(app):
        for visitor in visitors:
            fields = {"csrf_token": visitor.token, "message": body}
            boundary, multipart = encode_multipart(fields)  # in memory: no temporary file
            bodies = {
                "form": (urlencode(fields), "application/x-www-form-urlencoded"),
                "multipart": (multipart, f"multipart/form-data; boundary={boundary}"),
                "json": (json.dumps(fields), "application/json"),
            }
            for kind, (data, content_type) in bodies.items():
                response = visitor.open(
                    fill(rule, values), method, data=data, content_type=content_type
                )
                found = problem(response, rule, method, visitor, expected={413})
                problems.append(found and f"{kind}: {found}")
                after(visitor, rule)
    assert_none(problems)


def test_25_digit_ids_are_a_404_everywhere(app, visitors):
    values = samples()
    problems = []
    for rule, method in int_routes(app):
        path = fill(rule, values, huge=True)
        for visitor in visitors:
            response = visitor.open(path, method, data={"csrf_token": visitor.token})
            problems.append(problem(response, rule, method, visitor, expected={404}))
    assert_none(problems)


def test_crlf_in_next_is_never_a_500_nor_a_header(app, visitors):
    values = samples()
    problems = []
    for rule, method in write_routes(app):
        for visitor in visitors:
            response = visitor.open(
                fill(rule, values),
                method,
                query_string={"next": CRLF_NEXT},
                data={"csrf_token": visitor.token, "next": CRLF_NEXT, "lang": "fr"},
            )
            problems.append(problem(response, rule, method, visitor))
            location = response.headers.get("Location", "")
            if "X-Injected" in response.headers or "\n" in location or "\r" in location:
                problems.append(f"{visitor.label} {method} {rule.rule}: header {location!r}")
            after(visitor, rule)
    assert_none(problems)


def test_signing_in_with_crlf_in_next_goes_home(client, csrf):
    user = make_user("admin")
    response = client.post(
        "/connexion",
        data={"email": user.email, "password": PASSWORD, "next": CRLF_NEXT, "csrf_token": csrf()},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_api_values_of_the_wrong_type_are_never_a_500(app, visitors):
    values = samples()
    names = sorted(form_field_names() | {"status", "assignee", "rating", "pools", "endpoint"})
    problems = []
    for rule, method in write_routes(app):
        if not rule.rule.startswith("/api/"):
            continue
        for visitor in visitors:
            for wrong in ({"x": 1}, [1, "a"], 10**30, "9" * 25, None, True, "x" * 10_000):
                response = visitor.open(
                    fill(rule, values), method, json={name: wrong for name in names}
                )
                problems.append(problem(response, rule, method, visitor))
            response = visitor.open(fill(rule, values), method, json=[1, 2])
            problems.append(problem(response, rule, method, visitor))
    assert_none(problems)
