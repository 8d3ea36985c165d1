"""The OpenAPI document against the code: support requests and their conversation.

As ``test_openapi_pools``: each documented response is produced by really calling the
endpoint, and its body is checked against the documented schema (exactly the documented
properties, types, enums, formats; errors follow ``Error`` with their code and extra keys
named in the description). Each test also checks that it produced every response its
operations document, so a documented answer no test reaches is noticed.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests import factories
from tests.conftest import csrf_from
from tests.integration.test_openapi_pools import DOCUMENT
from tests.integration.test_openapi_pools import Api
from tests.integration.test_openapi_pools import bearer
from tests.integration.test_openapi_pools import check
from tests.integration.test_openapi_pools import check_error
from webapp.extensions import db
from webapp.models import SupportAttachment
from webapp.models import SupportRequest
from webapp.models.member import utcnow
from webapp.presenters import support_api

LIST = "/api/v1/members/{slug}/support-requests"
QUEUE = "/api/v1/support-requests"
ONE = "/api/v1/support-requests/{id}"
COMMENTS = "/api/v1/support-requests/{id}/comments"
STATUS = "/api/v1/support-requests/{id}/status"
ASSIGNEE = "/api/v1/support-requests/{id}/assignee"
RATING = "/api/v1/support-requests/{id}/rating"
ATTACHMENTS = "/api/v1/support-requests/{id}/attachments"
OPERATIONS = {
    LIST: {"get", "post"},
    QUEUE: {"get"},
    ONE: {"get"},
    COMMENTS: {"post"},
    STATUS: {"post"},
    ASSIGNEE: {"post"},
    RATING: {"post"},
    ATTACHMENTS: {"post"},
}
ANSWERS = (
    "SupportRequest",
    "SupportRequestDetail",
    "SupportRequestList",
    "SupportEntry",
    "SupportCommentCreated",
    "SupportAttachment",
)
NEW = {"subject": "Téléphonie en panne", "message": "Plus de tonalité.", "urgency": "high"}
TOO_BIG = {"body": "x" * (1024 * 1024 + 1)}


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


class TouringApi(Api):
    """``Api`` that remembers which documented answers were produced."""

    def __init__(self, client, spec: dict) -> None:
        super().__init__(client, spec)
        self.seen: set[tuple[str, str, str]] = set()

    def call(self, method, template, status, *, headers=None, json=None, query="", **args):
        """``Api.call``, with a query string (``query``) and the answer remembered."""
        operation = self.spec["paths"][template][method]
        response = self.client.open(
            template.format(**args) + query, method=method.upper(), headers=headers, json=json
        )
        body = response.get_json()
        assert response.status_code == status, (method, template, response.status_code, body)
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{method} {template}: {status} is not documented"
        if status >= 400:
            check_error(self.spec, documented, body, status)
        else:
            check(self.spec, documented["content"]["application/json"]["schema"], body)
        self.seen.add((template, method, str(status)))
        return body

    def raw(self, method, template, status, *, headers=None, **args):
        """A body that is not JSON (or not an object): only its error answer is checked."""
        data = args.pop("data")
        operation = self.spec["paths"][template][method]
        response = self.client.open(
            template.format(**args),
            method=method.upper(),
            headers=headers,
            data=data,
            content_type=args.pop("content_type", "text/plain"),
        )
        assert response.status_code == status, response.get_data(as_text=True)
        check_error(self.spec, operation["responses"][str(status)], response.json, status)
        self.seen.add((template, method, str(status)))
        return response.json

    def covered(self, *templates: str) -> None:
        for template in templates:
            for method in OPERATIONS[template]:
                documented = set(self.spec["paths"][template][method]["responses"])
                done = {s for t, m, s in self.seen if (t, m) == (template, method)}
                assert documented <= done, (method, template, sorted(documented - done))


@pytest.fixture
def api(client, spec):
    return TouringApi(client, spec)


@pytest.fixture
def member(app):
    return factories.make_member()


@pytest.fixture
def cast(member):
    """Bearer headers of a member admin, a viewer, two agents and another member's admin."""
    return {
        "admin": bearer(factories.make_user("member_admin", member)),
        "viewer": bearer(factories.make_user("viewer", member)),
        "agent": bearer(factories.make_user("support")),
        "agent_2": bearer(factories.make_user("support")),
        "stranger": bearer(factories.make_user("member_admin", factories.make_member())),
    }


def opened(api, member, headers, **fields) -> dict:
    return api.call("post", LIST, 201, headers=headers, json={**NEW, **fields}, slug=member.slug)


# -- the document ---------------------------------------------------------------------


def test_the_support_paths_are_documented(spec):
    for path, methods in OPERATIONS.items():
        assert set(spec["paths"][path]) == methods, path
        for method in methods:
            operation = spec["paths"][path][method]
            declared = {
                p.get("name") or p["$ref"].rsplit("/", 1)[-1]
                for p in operation.get("parameters", [])
            }
            placeholders = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert placeholders <= declared, (path, method)
            assert "401" in operation["responses"], (path, method)
            if method == "post":
                assert "CsrfToken" in declared, path
                assert "400" in operation["responses"], path
    for name in ANSWERS:  # every field of an answer is always there (null when empty)
        schema = spec["components"]["schemas"][name]
        assert schema["required"] == list(schema["properties"]), name
    upload = spec["paths"][ATTACHMENTS]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = spec["components"]["schemas"][form["$ref"].rsplit("/", 1)[-1]]
    assert form["required"] == ["file"] and set(form["properties"]) == {"file", "internal"}
    assert {"201", "400", "401", "403", "404", "413"} <= set(upload["responses"])
    created = upload["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/SupportAttachment"}


def test_an_attachment_is_described_as_documented(spec, member):
    """The shape the thread gives an attachment is the upload's documented 201 answer."""
    admin = factories.make_user("member_admin", member)
    row = SupportRequest(member=member, author=admin, subject="s", message="m")
    db.session.add(row)
    db.session.flush()
    attachment = SupportAttachment(
        request=row,
        name="photo.jpg",
        content_type="image/jpeg",
        size=1234,
        sha256="ab" * 32,
        storage_key="k-photo",
        internal=False,
    )
    db.session.add(attachment)
    db.session.commit()
    check(
        spec,
        {"$ref": "#/components/schemas/SupportAttachment"},
        support_api.attachment_json(attachment),
    )


# -- each endpoint, each documented answer --------------------------------------------


def test_opening_and_listing(api, member, cast, login):
    first = opened(api, member, cast["admin"])
    assert first["channel"] == "api" and first["entries"][0]["kind"] == "opened"
    on_behalf = opened(api, member, cast["agent"], contact="M. Weber")
    assert on_behalf["channel"] == "phone"
    listed = api.call("get", LIST, 200, headers=cast["viewer"], slug=member.slug)
    assert [r["id"] for r in listed["requests"]] == [on_behalf["id"], first["id"]]
    api.call("get", LIST, 200, headers=cast["agent"], slug=member.slug)
    api.call("get", LIST, 400, headers=cast["admin"], query="?per_page=0", slug=member.slug)
    api.call("get", LIST, 401, slug=member.slug)
    api.call("get", LIST, 404, headers=cast["stranger"], slug=member.slug)

    api.call(
        "post", LIST, 400, headers=cast["admin"], json={**NEW, "subject": ""}, slug=member.slug
    )
    api.call(
        "post",
        LIST,
        400,
        headers=cast["admin"],
        json={**NEW, "message": "x" * 100_000},
        slug=member.slug,
    )
    api.raw("post", LIST, 400, headers=cast["admin"], data="subject=x", slug=member.slug)
    api.call("post", LIST, 400, headers=cast["admin"], json=[NEW], slug=member.slug)
    api.call("post", LIST, 401, json=NEW, slug=member.slug)
    api.call("post", LIST, 404, headers=cast["stranger"], json=NEW, slug=member.slug)
    api.call("post", LIST, 413, headers=cast["admin"], json=TOO_BIG, slug=member.slug)
    login(factories.make_user("member_admin", member))
    api.call("post", LIST, 400, json=NEW, slug=member.slug)  # the session, without CSRF
    token = csrf_from(api.client, "/profil/")
    opened(api, member, {"X-CSRFToken": token})
    api.covered(LIST)


def test_the_queue(api, member, cast):
    opened(api, member, cast["admin"], urgency="critical")
    page = api.call("get", QUEUE, 200, headers=cast["agent"])
    assert page["total"] == 1 and page["requests"][0]["urgency"] == "critical"
    api.call("get", QUEUE, 200, headers=cast["agent"], query="?status=all&sort=urgency&per_page=5")
    error = api.call("get", QUEUE, 400, headers=cast["agent"], query="?status=done")
    assert error["error"]["field"] == "status"
    api.call("get", QUEUE, 400, headers=cast["agent"], query="?page=0")
    api.call("get", QUEUE, 401)
    api.call("get", QUEUE, 403, headers=cast["admin"])
    api.covered(QUEUE)


def test_reading_one_request(api, member, cast):
    created = opened(api, member, cast["admin"])
    api.call(
        "post",
        COMMENTS,
        201,
        headers=cast["agent"],
        json={"body": "Note", "internal": True},
        id=created["id"],
    )
    as_member = api.call("get", ONE, 200, headers=cast["viewer"], id=created["id"])
    assert [e["kind"] for e in as_member["entries"]] == ["opened"]
    as_staff = api.call("get", ONE, 200, headers=cast["agent"], id=created["id"])
    assert [e["kind"] for e in as_staff["entries"]] == ["opened", "note"]
    api.call("get", ONE, 401, id=created["id"])
    api.call("get", ONE, 404, headers=cast["stranger"], id=created["id"])
    api.call("get", ONE, 404, headers=cast["agent"], id=999_999)
    api.covered(ONE)


def test_comments(api, member, cast):
    created = opened(api, member, cast["admin"])
    rid = created["id"]
    comment = api.call(
        "post",
        COMMENTS,
        201,
        headers=cast["agent"],
        json={"body": "Nous regardons", "version": created["version"]},
        id=rid,
    )
    assert comment["request_version"] > created["version"]
    api.call("post", COMMENTS, 400, headers=cast["admin"], json={"body": ""}, id=rid)
    api.call("post", COMMENTS, 400, headers=cast["admin"], json={"body": "x" * 100_000}, id=rid)
    api.raw("post", COMMENTS, 400, headers=cast["admin"], data="body=x", id=rid)
    api.call("post", COMMENTS, 401, json={"body": "x"}, id=rid)
    api.call(
        "post", COMMENTS, 403, headers=cast["admin"], json={"body": "x", "internal": True}, id=rid
    )
    api.call("post", COMMENTS, 404, headers=cast["stranger"], json={"body": "x"}, id=rid)
    stale = api.call(
        "post",
        COMMENTS,
        409,
        headers=cast["agent_2"],
        json={"body": "x", "version": created["version"]},
        id=rid,
    )
    assert stale["error"]["code"] == "changed"
    assert stale["error"]["version"] == comment["request_version"]
    api.call("post", COMMENTS, 413, headers=cast["admin"], json=TOO_BIG, id=rid)
    api.call("post", STATUS, 200, headers=cast["admin"], json={"status": "closed"}, id=rid)
    closed = api.call("post", COMMENTS, 409, headers=cast["admin"], json={"body": "x"}, id=rid)
    assert closed["error"]["code"] == "closed"
    api.covered(COMMENTS)


def test_status_changes(api, member, cast):
    created = opened(api, member, cast["admin"])
    rid = created["id"]
    moved = api.call(
        "post",
        STATUS,
        200,
        headers=cast["agent"],
        json={"status": "in_progress", "version": created["version"]},
        id=rid,
    )
    assert moved["status"] == "in_progress" and moved["first_response_at"]
    api.call("post", STATUS, 400, headers=cast["agent"], json={"status": "done"}, id=rid)
    api.call("post", STATUS, 400, headers=cast["agent"], json={"status": "resolved"}, id=rid)
    api.raw(
        "post",
        STATUS,
        400,
        headers=cast["agent"],
        data="[]",
        content_type="application/json",
        id=rid,
    )
    api.call("post", STATUS, 401, json={"status": "closed"}, id=rid)
    api.call("post", STATUS, 403, headers=cast["viewer"], json={"status": "closed"}, id=rid)
    api.call("post", STATUS, 404, headers=cast["stranger"], json={"status": "closed"}, id=rid)
    stale = api.call(
        "post",
        STATUS,
        409,
        headers=cast["agent_2"],
        json={"status": "waiting_member", "version": created["version"]},
        id=rid,
    )
    assert stale["error"]["code"] == "changed" and stale["error"]["version"] == moved["version"]
    resolved = api.call(
        "post",
        STATUS,
        200,
        headers=cast["agent"],
        json={"status": "resolved", "resolution": "Ligne rétablie"},
        id=rid,
    )
    assert resolved["resolution"] == "Ligne rétablie"
    refused = api.call(
        "post", STATUS, 409, headers=cast["agent"], json={"status": "waiting_member"}, id=rid
    )
    assert refused["error"]["code"] == "transition"
    assert refused["error"]["current_status"] == "resolved"
    row = db.session.get(SupportRequest, rid)
    row.resolved_at = utcnow() - timedelta(days=30)
    db.session.commit()
    late = api.call(
        "post", STATUS, 409, headers=cast["admin"], json={"status": "in_progress"}, id=rid
    )
    assert late["error"]["code"] == "reopen_too_late"
    api.call("post", STATUS, 413, headers=cast["agent"], json=TOO_BIG, id=rid)
    api.covered(STATUS)


def test_assigning(api, member, cast):
    from webapp.models import User

    created = opened(api, member, cast["admin"])
    rid = created["id"]
    agent = db.session.scalar(db.select(User).where(User.staff_role.is_not(None)))
    assigned = api.call(
        "post",
        ASSIGNEE,
        200,
        headers=cast["agent"],
        json={"assignee_id": agent.id, "version": created["version"]},
        id=rid,
    )
    assert assigned["assignee"]["id"] == agent.id
    api.call("post", ASSIGNEE, 400, headers=cast["agent"], json={"assignee_id": "x"}, id=rid)
    api.call("post", ASSIGNEE, 400, headers=cast["agent"], json={}, id=rid)
    api.call("post", ASSIGNEE, 401, json={"assignee_id": None}, id=rid)
    api.call("post", ASSIGNEE, 403, headers=cast["admin"], json={"assignee_id": None}, id=rid)
    api.call("post", ASSIGNEE, 404, headers=cast["stranger"], json={"assignee_id": None}, id=rid)
    api.call(
        "post",
        ASSIGNEE,
        409,
        headers=cast["agent_2"],
        json={"assignee_id": None, "version": created["version"]},
        id=rid,
    )
    cleared = api.call(
        "post", ASSIGNEE, 200, headers=cast["agent"], json={"assignee_id": None}, id=rid
    )
    assert cleared["assignee"] is None
    api.covered(ASSIGNEE)


def test_rating(api, member, cast):
    created = opened(api, member, cast["admin"])
    rid = created["id"]
    early = api.call(
        "post", RATING, 409, headers=cast["admin"], json={"rating": "satisfied"}, id=rid
    )
    assert early["error"]["code"] == "not_resolved"
    api.call(
        "post",
        STATUS,
        200,
        headers=cast["agent"],
        json={"status": "resolved", "resolution": "Fait"},
        id=rid,
    )
    api.call("post", RATING, 400, headers=cast["admin"], json={"rating": "bof"}, id=rid)
    api.call("post", RATING, 401, json={"rating": "satisfied"}, id=rid)
    api.call("post", RATING, 403, headers=cast["agent"], json={"rating": "satisfied"}, id=rid)
    api.call("post", RATING, 404, headers=cast["stranger"], json={"rating": "satisfied"}, id=rid)
    rated = api.call(
        "post",
        RATING,
        200,
        headers=cast["admin"],
        json={"rating": "satisfied", "comment": "Merci"},
        id=rid,
    )
    assert rated["rating"] == "satisfied" and rated["rated_at"]
    again = api.call(
        "post", RATING, 409, headers=cast["viewer"], json={"rating": "satisfied"}, id=rid
    )
    assert again["error"]["code"] == "already_rated"
    api.covered(RATING)
