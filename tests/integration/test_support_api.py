"""Support requests through the JSON API: the conversation, who sees what, bad input, races."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from tests import factories
from tests.conftest import csrf_from
from webapp.extensions import db
from webapp.models import SupportAttachment
from webapp.models import SupportEntry
from webapp.models import SupportRequest
from webapp.services import tokens

NEW = {
    "subject": "Plus d'Internet à la mairie",
    "message": "Depuis ce matin, aucun poste ne se connecte.",
    "category": "outage",
    "urgency": "high",
}
HTML = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>gras</b>'


def bearer(user) -> dict:
    clear, _row = tokens.create(user, "tests")
    return {"Authorization": f"Bearer {clear}"}


def requests_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SupportRequest))


def entries_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SupportEntry))


@pytest.fixture
def member(app):
    return factories.make_member()


@pytest.fixture
def people(member):
    """Everyone who may deal with ``member``'s requests, each with a Bearer header."""

    class People:
        admin = factories.make_user("member_admin", member)
        viewer = factories.make_user("viewer", member)
        agent = factories.make_user("support")
        other_agent = factories.make_user("support")
        stranger = factories.make_user("member_admin", factories.make_member())

    for name in ("admin", "viewer", "agent", "other_agent", "stranger"):
        setattr(People, f"{name}_h", bearer(getattr(People, name)))
    return People


def open_one(client, member, headers, **fields) -> dict:
    response = client.post(
        f"/api/v1/members/{member.slug}/support-requests", json={**NEW, **fields}, headers=headers
    )
    assert response.status_code == 201, response.json
    return response.json


def url(request_id: int, action: str = "") -> str:
    return f"/api/v1/support-requests/{request_id}" + (f"/{action}" if action else "")


def error_of(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    return response.json["error"]


# -- opening and listing --------------------------------------------------------------


def test_a_member_opens_a_request_and_lists_them_newest_first(client, member, people):
    first = open_one(client, member, people.admin_h)
    assert first["status"] == "new" and first["channel"] == "api"
    assert first["member"] == member.slug and first["subject"] == NEW["subject"]
    assert first["author"] == {"id": people.admin.id, "name": people.admin.name, "staff": False}
    assert first["response_due_at"].endswith("+00:00") and first["overdue"] is False
    assert first["allowed_statuses"] == ["closed"]
    assert [e["kind"] for e in first["entries"]] == ["opened"]
    second = open_one(client, member, people.viewer_h, subject="Imprimante", urgency="low")
    listed = client.get(f"/api/v1/members/{member.slug}/support-requests", headers=people.viewer_h)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json["requests"]] == [second["id"], first["id"]]
    assert listed.json["total"] == 2 and listed.json["pages"] == 1
    assert "entries" not in listed.json["requests"][0]
    assert listed.json["requests"][0]["allowed_statuses"] == []  # a viewer moves nothing
    paged = client.get(
        f"/api/v1/members/{member.slug}/support-requests?page=2&per_page=1", headers=people.admin_h
    )
    assert [r["id"] for r in paged.json["requests"]] == [first["id"]]
    assert paged.json["pages"] == 2 and paged.json["per_page"] == 1
    for query in ("page=0", "per_page=101", "page=abc", "per_page=-1"):
        response = client.get(
            f"/api/v1/members/{member.slug}/support-requests?{query}", headers=people.admin_h
        )
        assert error_of(response, 400)["code"] == "bad_request", query
    staff_list = client.get(
        f"/api/v1/members/{member.slug}/support-requests", headers=people.agent_h
    )
    assert staff_list.json["total"] == 2


def test_staff_open_a_request_on_the_members_behalf(client, member, people):
    created = open_one(client, member, people.agent_h, contact="Mme Martin, secrétariat")
    assert created["channel"] == "phone" and created["contact"] == "Mme Martin, secrétariat"
    assert created["author"]["staff"] is True
    response = client.get(url(created["id"]), headers=people.admin_h)
    assert response.status_code == 200 and response.json["id"] == created["id"]


def test_the_location_of_a_new_request_is_its_api_address(client, member, people):
    response = client.post(
        f"/api/v1/members/{member.slug}/support-requests", json=NEW, headers=people.admin_h
    )
    assert response.headers["Location"].endswith(url(response.json["id"]))
    assert client.get(response.headers["Location"], headers=people.admin_h).status_code == 200


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "   \n\t "}, "subject"),
        ({"subject": "x" * 100_000}, "subject"),
        ({"message": ""}, "message"),
        ({"message": "x" * 100_000}, "message"),
        ({"subject": ["a", "list"]}, "subject"),
        ({"category": ["outage"]}, "category"),
        ({"category": {"a": 1}}, "category"),
        ({"urgency": ["high"]}, "urgency"),
        ({"urgency": "urgentissime"}, "urgency"),
        ({"category": "pas-une-categorie"}, "category"),
        ({"hostid": 12}, "hostid"),
        ({"contact": "x" * 161}, "contact"),
    ],
)
def test_a_bad_new_request_is_a_clear_400_and_stores_nothing(client, member, people, fields, field):
    response = client.post(
        f"/api/v1/members/{member.slug}/support-requests",
        json={**NEW, **fields},
        headers=people.admin_h,
    )
    error = error_of(response, 400)
    assert error["code"] == "invalid" and error["field"] == field
    assert error["message"] and field in error["errors"]
    assert "x" * 200 not in response.get_data(as_text=True)  # the input is not echoed
    assert requests_count() == 0


def test_a_bad_comment_is_a_clear_400_and_stores_nothing(client, member, people):
    created = open_one(client, member, people.admin_h)
    before = entries_count()
    for body in ({"body": ""}, {"body": "  "}, {"body": "x" * 100_000}, {"body": 12}, {}):
        error = error_of(
            client.post(url(created["id"], "comments"), json=body, headers=people.agent_h), 400
        )
        assert error["code"] == "invalid" and error["field"] == "body", body
    for body, field in (
        ({"body": "ok", "internal": "yes"}, "internal"),
        ({"body": "ok", "version": "1"}, "version"),
        ({"body": "ok", "version": True}, "version"),
    ):
        error = error_of(
            client.post(url(created["id"], "comments"), json=body, headers=people.agent_h), 400
        )
        assert error["field"] == field
    assert entries_count() == before


def test_bodies_that_are_not_a_json_object_are_refused(client, member, people):
    created = open_one(client, member, people.admin_h)
    targets = [
        (f"/api/v1/members/{member.slug}/support-requests", people.admin_h),
        (url(created["id"], "comments"), people.admin_h),
        (url(created["id"], "status"), people.agent_h),
        (url(created["id"], "assignee"), people.agent_h),
        (url(created["id"], "rating"), people.admin_h),
    ]
    before = (requests_count(), entries_count())
    for target, headers in targets:
        for kwargs in (
            {"data": "subject=x&body=y"},
            {"data": "{not json", "content_type": "application/json"},
            {"json": ["body", "x"]},
            {"json": "body"},
            {"json": None},
        ):
            response = client.post(target, headers=headers, **kwargs)
            assert error_of(response, 400)["code"] == "bad_json", (target, kwargs)
    response = client.post(url(created["id"], "assignee"), json={}, headers=people.agent_h)
    assert error_of(response, 400)["code"] == "bad_json"  # assignee_id is required
    assert (requests_count(), entries_count()) == before


def test_a_body_over_the_size_limit_is_a_json_413(client, member, people):
    created = open_one(client, member, people.admin_h)
    huge = json.dumps({"body": "x" * (2 * 1024 * 1024)})
    response = client.post(
        url(created["id"], "comments"),
        data=huge,
        content_type="application/json",
        headers=people.admin_h,
    )
    assert error_of(response, 413)["code"] == "payload_too_large"


def test_html_is_kept_as_typed_and_returned_as_json_strings(client, member, people):
    created = open_one(client, member, people.admin_h, subject=HTML, message=HTML)
    assert created["subject"] == HTML and created["message"] == HTML
    comment = client.post(
        url(created["id"], "comments"), json={"body": HTML}, headers=people.admin_h
    )
    assert comment.status_code == 201 and comment.json["body"] == HTML
    read = client.get(url(created["id"]), headers=people.agent_h)
    assert read.mimetype == "application/json"
    assert read.json["subject"] == HTML and read.json["entries"][-1]["body"] == HTML
    row = db.session.get(SupportRequest, created["id"])
    db.session.refresh(row)
    assert row.subject == HTML and row.entries[-1].body == HTML


# -- who may do what ------------------------------------------------------------------


def test_a_viewer_cannot_change_a_status(client, member, people):
    created = open_one(client, member, people.viewer_h)
    for status in ("closed", "in_progress"):
        response = client.post(
            url(created["id"], "status"), json={"status": status}, headers=people.viewer_h
        )
        assert error_of(response, 403)["code"] == "forbidden"
    assert client.get(url(created["id"]), headers=people.viewer_h).json["status"] == "new"


def test_a_member_admin_moves_only_their_own_moves(client, member, people):
    created = open_one(client, member, people.admin_h)
    response = client.post(
        url(created["id"], "status"), json={"status": "in_progress"}, headers=people.admin_h
    )
    assert error_of(response, 403)["code"] == "forbidden"
    closed = client.post(
        url(created["id"], "status"), json={"status": "closed"}, headers=people.admin_h
    )
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert closed.json["closed_at"] and closed.json["allowed_statuses"] == []


def test_unknown_status_missing_resolution_and_forbidden_transition(client, member, people):
    created = open_one(client, member, people.admin_h)
    for body in ({"status": "done"}, {"status": 3}, {}):
        error = error_of(
            client.post(url(created["id"], "status"), json=body, headers=people.agent_h), 400
        )
        assert error["code"] == "invalid" and error["field"] == "status"
    error = error_of(
        client.post(
            url(created["id"], "status"), json={"status": "resolved"}, headers=people.agent_h
        ),
        400,
    )
    assert error["field"] == "resolution"
    resolved = client.post(
        url(created["id"], "status"),
        json={"status": "resolved", "resolution": "Box redémarrée"},
        headers=people.agent_h,
    )
    assert resolved.status_code == 200 and resolved.json["resolution"] == "Box redémarrée"
    assert resolved.json["resolution_seconds"] is not None
    assert resolved.json["response_seconds"] is not None
    assert resolved.json["allowed_statuses"] == ["in_progress", "closed"]
    for status in ("waiting_member", "new", "resolved"):
        error = error_of(
            client.post(
                url(created["id"], "status"), json={"status": status}, headers=people.agent_h
            ),
            409,
        )
        assert error["code"] == "transition" and error["current_status"] == "resolved"
    # the member's admin may still reopen it
    reopened = client.post(
        url(created["id"], "status"), json={"status": "in_progress"}, headers=people.admin_h
    )
    assert reopened.status_code == 200 and reopened.json["reopened_count"] == 1


def test_another_members_request_is_not_found(client, member, people):
    created = open_one(client, member, people.admin_h)
    h = people.stranger_h
    assert error_of(client.get(url(created["id"]), headers=h), 404)["code"] == "not_found"
    for action, body in (
        ("comments", {"body": "Coucou"}),
        ("status", {"status": "closed"}),
        ("assignee", {"assignee_id": None}),
        ("rating", {"rating": "satisfied"}),
        ("comments", ["not", "an", "object"]),  # 404 before the body is read
    ):
        response = client.post(url(created["id"], action), json=body, headers=h)
        assert error_of(response, 404)["code"] == "not_found", action
    response = client.get(f"/api/v1/members/{member.slug}/support-requests", headers=h)
    assert error_of(response, 404)["code"] == "not_found"
    response = client.post(f"/api/v1/members/{member.slug}/support-requests", json=NEW, headers=h)
    assert error_of(response, 404)["code"] == "not_found"
    assert error_of(client.get(url(999_999), headers=people.agent_h), 404)["code"] == "not_found"
    assert client.get(url(created["id"]), headers=people.admin_h).json["status"] == "new"
    assert requests_count() == 1


def test_a_member_never_reads_an_internal_note(client, member, people):
    created = open_one(client, member, people.admin_h)
    note = client.post(
        url(created["id"], "comments"),
        json={"body": "Secret : le routeur du syndicat est en cause", "internal": True},
        headers=people.agent_h,
    )
    assert note.status_code == 201 and note.json["internal"] is True and note.json["kind"] == "note"
    assigned = client.post(
        url(created["id"], "assignee"),
        json={"assignee_id": people.agent.id},
        headers=people.agent_h,
    )
    assert assigned.status_code == 200
    answer = client.post(
        url(created["id"], "comments"), json={"body": "Nous regardons."}, headers=people.agent_h
    )
    assert answer.status_code == 201
    row = db.session.get(SupportRequest, created["id"])
    public_entry = db.session.get(SupportEntry, answer.json["id"])
    for internal, name in ((True, "schema-reseau-interne.pdf"), (False, "photo-baie.jpg")):
        db.session.add(
            SupportAttachment(
                request=row,
                entry=public_entry,
                name=name,
                content_type="application/pdf",
                size=10,
                sha256="0" * 64,
                storage_key=f"key-{name}",
                internal=internal,
            )
        )
    db.session.commit()

    for headers in (people.admin_h, people.viewer_h):
        response = client.get(url(created["id"]), headers=headers)
        text = response.get_data(as_text=True)
        assert "Secret" not in text and "schema-reseau-interne" not in text
        kinds = [e["kind"] for e in response.json["entries"]]
        assert kinds == ["opened", "comment"]
        assert all(e["internal"] is False for e in response.json["entries"])
        assert [a["name"] for a in response.json["entries"][1]["attachments"]] == ["photo-baie.jpg"]
        assert response.json["assignee"] == {
            "id": people.agent.id,
            "name": people.agent.name,
            "staff": True,
        }
        assert response.json["first_response_at"] is not None
    staff_view = client.get(url(created["id"]), headers=people.other_agent_h)
    assert [e["kind"] for e in staff_view.json["entries"]] == [
        "opened",
        "note",
        "assigned",
        "comment",
    ]
    assert len(staff_view.json["entries"][3]["attachments"]) == 2


def test_a_member_posting_an_internal_note_is_forbidden(client, member, people):
    created = open_one(client, member, people.admin_h)
    before = entries_count()
    for headers in (people.admin_h, people.viewer_h):
        response = client.post(
            url(created["id"], "comments"),
            json={"body": "Je veux voir les notes", "internal": True},
            headers=headers,
        )
        assert error_of(response, 403)["code"] == "forbidden"
    assert entries_count() == before


def test_a_members_comment_takes_a_waiting_request_back_to_support(client, member, people):
    created = open_one(client, member, people.admin_h)
    waiting = client.post(
        url(created["id"], "status"), json={"status": "waiting_member"}, headers=people.agent_h
    )
    assert waiting.json["status"] == "waiting_member" and waiting.json["waiting_since"]
    reply = client.post(
        url(created["id"], "comments"), json={"body": "Voici le numéro."}, headers=people.viewer_h
    )
    assert reply.status_code == 201
    after = client.get(url(created["id"]), headers=people.agent_h).json
    assert after["status"] == "in_progress" and after["waiting_since"] is None
    assert after["version"] == reply.json["request_version"]


def test_no_comment_on_a_closed_request(client, member, people):
    created = open_one(client, member, people.admin_h)
    client.post(url(created["id"], "status"), json={"status": "closed"}, headers=people.admin_h)
    response = client.post(
        url(created["id"], "comments"), json={"body": "Encore"}, headers=people.admin_h
    )
    assert error_of(response, 409)["code"] == "closed"


# -- two people at once ---------------------------------------------------------------


def test_two_agents_changing_one_request_at_once(client, member, people):
    created = open_one(client, member, people.admin_h)
    seen_by_a = client.get(url(created["id"]), headers=people.agent_h).json["version"]
    seen_by_b = client.get(url(created["id"]), headers=people.other_agent_h).json["version"]
    assert seen_by_a == seen_by_b
    first = client.post(
        url(created["id"], "status"),
        json={"status": "in_progress", "version": seen_by_a},
        headers=people.agent_h,
    )
    assert first.status_code == 200 and first.json["version"] > seen_by_a
    second = client.post(
        url(created["id"], "status"),
        json={"status": "waiting_member", "version": seen_by_b},
        headers=people.other_agent_h,
    )
    error = error_of(second, 409)
    assert error["code"] == "changed" and error["version"] == first.json["version"]
    now = client.get(url(created["id"]), headers=people.agent_h).json
    assert now["status"] == "in_progress"  # the first change is there, the second not made
    assert [e["detail"].get("to") for e in now["entries"] if e["kind"] == "status"] == [
        "in_progress"
    ]

    # comments: the second, refused, is sent again after reading; both are kept
    version = now["version"]
    a = client.post(
        url(created["id"], "comments"),
        json={"body": "Réponse de A", "version": version},
        headers=people.agent_h,
    )
    assert a.status_code == 201
    b = client.post(
        url(created["id"], "comments"),
        json={"body": "Réponse de B", "version": version},
        headers=people.other_agent_h,
    )
    assert error_of(b, 409)["code"] == "changed"
    again = client.post(
        url(created["id"], "comments"),
        json={"body": "Réponse de B", "version": a.json["request_version"]},
        headers=people.other_agent_h,
    )
    assert again.status_code == 201
    bodies = [
        e["body"]
        for e in client.get(url(created["id"]), headers=people.admin_h).json["entries"]
        if e["kind"] == "comment"
    ]
    assert bodies == ["Réponse de A", "Réponse de B"]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("comments", {"body": "Perdu ?"}),
        ("status", {"status": "waiting_member"}),
        ("assignee", {"assignee_id": "other_agent"}),
    ],
)
def test_a_change_committed_meanwhile_is_a_409_even_without_version(
    client, member, people, action, body
):
    """Another worker commits between this request's read and its write: nothing is lost."""
    created = open_one(client, member, people.admin_h)
    if body.get("assignee_id") == "other_agent":
        body = {"assignee_id": people.other_agent.id}
    raced = []

    def meanwhile(session, _context, _instances):
        # Just before the comment is written, another connection moves the request on.
        if raced or not any(isinstance(o, SupportEntry) for o in session.new):
            return
        raced.append(True)
        with db.engine.begin() as connection:
            connection.execute(
                update(SupportRequest)
                .where(SupportRequest.id == created["id"])
                .values(version=SupportRequest.version + 1, status="in_progress")
            )

    before = entries_count()
    event.listen(db.session, "before_flush", meanwhile)
    try:
        response = client.post(url(created["id"], action), json=body, headers=people.agent_h)
    finally:
        event.remove(db.session, "before_flush", meanwhile)
    assert raced
    assert error_of(response, 409)["code"] == "changed"
    db.session.expire_all()
    assert entries_count() == before
    row = db.session.get(SupportRequest, created["id"])
    assert row.status == "in_progress" and row.version == created["version"] + 1
    assert row.assignee_id is None


# -- the staff's queue, assignment and rating -----------------------------------------


def test_the_queue_is_the_staffs_with_the_pages_filters(client, member, people):
    first = open_one(client, member, people.admin_h, urgency="critical")
    second = open_one(client, member, people.admin_h, subject="Question de facture", urgency="low")
    other = factories.make_member()
    third = open_one(client, other, people.agent_h)
    client.post(
        url(second["id"], "assignee"), json={"assignee_id": people.agent.id}, headers=people.agent_h
    )
    client.post(url(third["id"], "status"), json={"status": "closed"}, headers=people.agent_h)

    def queue(query="", headers=people.agent_h):
        return client.get(f"/api/v1/support-requests{query}", headers=headers)

    assert {r["id"] for r in queue().json["requests"]} == {first["id"], second["id"]}
    assert queue("?status=all").json["total"] == 3
    assert [r["id"] for r in queue("?status=closed").json["requests"]] == [third["id"]]
    assert queue("?status=new&status=closed").json["total"] == 3
    assert [r["id"] for r in queue(f"?member={other.slug}&status=all").json["requests"]] == [
        third["id"]
    ]
    assert [r["id"] for r in queue("?assignee=me").json["requests"]] == [second["id"]]
    assert [r["id"] for r in queue("?assignee=me", people.other_agent_h).json["requests"]] == []
    assert [r["id"] for r in queue("?assignee=none").json["requests"]] == [first["id"]]
    assert [r["id"] for r in queue("?urgency=low").json["requests"]] == [second["id"]]
    assert [r["id"] for r in queue("?q=FACTURE").json["requests"]] == [second["id"]]
    assert [r["id"] for r in queue("?sort=urgency").json["requests"]] == [first["id"], second["id"]]
    assert queue("?overdue=1").json["total"] == 0
    paged = queue("?per_page=1&page=2").json
    assert paged["total"] == 2 and paged["pages"] == 2 and len(paged["requests"]) == 1
    for query, field in (
        ("?status=done", "status"),
        ("?urgency=x", "urgency"),
        ("?assignee=bob", "assignee"),
        ("?sort=x", "sort"),
        ("?q=" + "x" * 201, "q"),
    ):
        error = error_of(queue(query), 400)
        assert error["code"] == "invalid" and error["field"] == field, query
    assert error_of(queue("?per_page=500"), 400)["code"] == "bad_request"
    for headers in (people.admin_h, people.viewer_h):
        assert error_of(queue("", headers), 403)["code"] == "forbidden"
        assert error_of(queue("?status=done", headers), 403)["code"] == "forbidden"


def test_assigning_a_request(client, member, people):
    created = open_one(client, member, people.admin_h)
    assigned = client.post(
        url(created["id"], "assignee"),
        json={"assignee_id": people.other_agent.id},
        headers=people.agent_h,
    )
    assert assigned.status_code == 200
    assert assigned.json["assignee"]["id"] == people.other_agent.id
    for body, field in (
        ({"assignee_id": people.admin.id}, "assignee"),
        ({"assignee_id": 999_999}, "assignee"),
        ({"assignee_id": "12"}, "assignee_id"),
        ({"assignee_id": True}, "assignee_id"),
    ):
        error = error_of(
            client.post(url(created["id"], "assignee"), json=body, headers=people.agent_h), 400
        )
        assert error["field"] == field, body
    stale = client.post(
        url(created["id"], "assignee"),
        json={"assignee_id": None, "version": created["version"]},
        headers=people.agent_h,
    )
    assert error_of(stale, 409)["code"] == "changed"
    response = client.post(
        url(created["id"], "assignee"), json={"assignee_id": None}, headers=people.admin_h
    )
    assert error_of(response, 403)["code"] == "forbidden"
    cleared = client.post(
        url(created["id"], "assignee"), json={"assignee_id": None}, headers=people.agent_h
    )
    assert cleared.status_code == 200 and cleared.json["assignee"] is None


def test_rating_the_answer(client, member, people):
    created = open_one(client, member, people.admin_h)
    early = client.post(
        url(created["id"], "rating"), json={"rating": "satisfied"}, headers=people.admin_h
    )
    assert error_of(early, 409)["code"] == "not_resolved"
    client.post(
        url(created["id"], "status"),
        json={"status": "resolved", "resolution": "Fait"},
        headers=people.agent_h,
    )
    for body in ({"rating": "bof"}, {"rating": True}, {"rating": 1}, {}):
        error = error_of(
            client.post(url(created["id"], "rating"), json=body, headers=people.admin_h), 400
        )
        assert error["field"] == "rating", body
    error = error_of(
        client.post(
            url(created["id"], "rating"),
            json={"rating": "satisfied", "comment": "x" * 2001},
            headers=people.admin_h,
        ),
        400,
    )
    assert error["field"] == "comment"
    staff = client.post(
        url(created["id"], "rating"), json={"rating": "satisfied"}, headers=people.agent_h
    )
    assert error_of(staff, 403)["code"] == "forbidden"
    rated = client.post(
        url(created["id"], "rating"),
        json={"rating": "unsatisfied", "comment": "Trop long"},
        headers=people.viewer_h,
    )
    assert rated.status_code == 200
    assert rated.json["rating"] == "unsatisfied" and rated.json["rating_comment"] == "Trop long"
    assert rated.json["rated_at"] is not None
    again = client.post(
        url(created["id"], "rating"), json={"rating": "satisfied"}, headers=people.admin_h
    )
    assert error_of(again, 409)["code"] == "already_rated"


# -- authentication -------------------------------------------------------------------


def test_bearer_token_and_session_with_csrf_both_work(client, member, people, login):
    listing = f"/api/v1/members/{member.slug}/support-requests"
    assert error_of(client.get(listing), 401)["code"] == "authentication_required"
    assert error_of(client.post(listing, json=NEW), 401)["code"] == "authentication_required"
    by_token = open_one(client, member, people.admin_h)

    login(people.admin)
    without_csrf = client.post(listing, json=NEW)
    assert error_of(without_csrf, 400)["code"] == "bad_request"
    without_csrf = client.post(url(by_token["id"], "comments"), json={"body": "Sans jeton"})
    assert error_of(without_csrf, 400)["code"] == "bad_request"
    assert requests_count() == 1
    token = csrf_from(client, "/profil/")
    by_session = client.post(listing, json=NEW, headers={"X-CSRFToken": token})
    assert by_session.status_code == 201, by_session.json
    comment = client.post(
        url(by_token["id"], "comments"),
        json={"body": "Avec le jeton"},
        headers={"X-CSRFToken": token},
    )
    assert comment.status_code == 201
    assert client.get(listing).json["total"] == 2  # a read needs no CSRF token
