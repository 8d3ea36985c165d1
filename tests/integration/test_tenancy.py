"""Tenant isolation, proved on every route of the URL map (not a hand-picked list)."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_agreement
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.extensions import db
from webapp.models import Member
from webapp.services import attachments
from webapp.services import orders
from webapp.services import tokens

VIEWER_FORBIDDEN_API = {"/api/v1/members/<slug>/contributions/<year>"}
PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")


def member_routes(app):
    """Every rule that takes a member slug, with each of its methods."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "slug" not in rule.arguments:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule, method))
    return routes


def build_path(rule, slug: str, samples: dict | None = None) -> str:
    """Fill a rule: the slug, then real values of that member (``samples``) for the rest."""

    def fill(match):
        converter, name = match.groups()
        if name == "slug":
            return slug
        if samples and name in samples:
            return samples[name]
        return "1" if converter in ("int", "float") else "x"

    return PLACEHOLDER.sub(fill, rule.rule)


def member_samples(slug: str) -> dict:
    """Real ids of ``slug``'s estate (a failed router and its problem) for the other args."""
    from webapp.services import demo

    demo.fail(f"{slug}-routeur")
    source = demo._source()
    router = source.host_by_name(f"{slug}-routeur")
    problem = next(p for p in source.problems() if p.hostid == router.hostid)
    # Its agreement and a pool order waiting for the syndicate (the order pages' ids).
    member = db.session.scalar(select(Member).where(Member.slug == slug))
    agreement = make_agreement(member, signed_on=date(2025, 1, 15))
    order, _created = orders.place(
        member, make_user("member_admin", member=member), pools=1, key=f"tenancy-{slug}"
    )
    author = make_user("viewer", member=member)
    request = make_support_request(member, author, hostid=router.hostid)
    attachment = attachments.add(request, author, b"%PDF-1.4\n%%EOF\n", "x.pdf")
    return {
        "hostid": router.hostid,
        "eventid": problem.eventid,
        "request_id": str(request.id),
        "attachment_id": str(attachment.id),
        "year": "2026",
        "site": router.tag("site"),  # a site of this member's own (the router's)
        "order_id": str(order.id),
        "agreement_id": str(agreement.id),
    }


def test_the_url_map_has_member_routes(app):
    # Guards the enumeration itself: new member routes are picked up automatically.
    assert len(member_routes(app)) >= 4


def test_user_of_a_never_reaches_b_on_any_route(app, client, login):
    member_a = demo_member("sarralbe")
    member_b = demo_member("bitche")
    user = make_user("member_admin", member=member_a)
    login(user)
    token = csrf_from(client, "/profil/")
    staff_client = app.test_client()
    staff = make_user("admin")
    staff_token = csrf_from(staff_client, "/connexion")
    staff_client.post(
        "/connexion", data={"email": staff.email, "password": PASSWORD, "csrf_token": staff_token}
    )
    staff_token = csrf_from(staff_client, "/profil/")
    samples_a, samples_b = member_samples("sarralbe"), member_samples("bitche")
    checked = 0
    for rule, method in member_routes(app):
        # B's real ids in B's URLs: still not found for a user of A.
        response = client.open(
            build_path(rule, member_b.slug, samples_b), method=method, data={"csrf_token": token}
        )
        assert response.status_code == 404, (rule.rule, method, response.status_code)
        body = response.get_data(as_text=True)
        assert member_b.name not in body
        # B's ids under A's slug: not found either.
        mixed = client.open(
            build_path(rule, member_a.slug, samples_b), method=method, data={"csrf_token": token}
        )
        if set(rule.arguments) - {"slug", "year"}:  # a year is nobody's id
            assert mixed.status_code in (403, 404), (rule.rule, method, mixed.status_code)
        own = client.open(
            build_path(rule, member_a.slug, samples_a), method=method, data={"csrf_token": token}
        )
        if own.status_code == 404:  # a staff-only route (the wall): staff must reach it
            own = staff_client.open(
                build_path(rule, member_a.slug, samples_a),
                method=method,
                data={"csrf_token": staff_token},
            )
        assert own.status_code not in (404, 500), (rule.rule, method, own.status_code)
        checked += 1
    assert checked == len(member_routes(app))


def test_token_of_a_never_reaches_b(app, client):
    member_a = demo_member("sarralbe")
    member_b = demo_member("bitche")
    user = make_user("viewer", member=member_a)
    clear, _token = tokens.create(user, "script")
    headers = {"Authorization": f"Bearer {clear}"}
    api_routes = [
        rule
        for rule, method in member_routes(app)
        if method == "GET" and rule.rule.startswith("/api/")
    ]
    assert api_routes
    for rule in api_routes:
        response = client.get(build_path(rule, member_b.slug, {"year": "2026"}), headers=headers)
        assert response.status_code == 404, rule.rule
        own = client.get(build_path(rule, member_a.slug, {"year": "2026"}), headers=headers)
        # A viewer reads its member's state, not its contributions (member admins do).
        expected = 403 if rule.rule in VIEWER_FORBIDDEN_API else 200
        assert own.status_code == expected, rule.rule
    page = client.get(f"/membres/{member_a.slug}/", headers=headers)
    assert page.status_code == 302, "tokens open the JSON API only, not the pages"
    listed = client.get("/api/v1/members", headers=headers).json["members"]
    assert [m["slug"] for m in listed] == ["sarralbe"]


@pytest.mark.parametrize("role", ["support", "admin"])
def test_staff_see_every_member(app, client, login, role):
    demo_member("sarralbe")
    demo_member("bitche")
    login(make_user(role))
    listed = client.get("/api/v1/members").json["members"]
    assert {m["slug"] for m in listed} == {"sarralbe", "bitche"}
    assert client.get("/membres/bitche/").status_code == 200


def test_anonymous_is_sent_to_login_everywhere(app, client):
    demo_member("sarralbe")
    for rule, method in member_routes(app):
        response = client.open(build_path(rule, "sarralbe"), method=method)
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401
            assert response.json["error"]["code"] == "authentication_required"
        elif rule.rule.startswith("/mur/"):
            assert response.status_code == 404, "wall views: staff or kiosk link only"
        elif method == "GET":
            assert response.status_code == 302
            assert "/connexion" in response.headers["Location"]
        else:
            assert response.status_code in (302, 400)


def test_viewer_cannot_manage_users(app, client, login):
    member = demo_member("sarralbe")
    login(make_user("viewer", member=member))
    assert client.get("/membres/sarralbe/utilisateurs").status_code == 403


def test_member_users_cannot_open_admin_pages(app, client, login):
    member = demo_member("sarralbe")
    login(make_user("member_admin", member=member))
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and "GET" in rule.methods:
            path = build_path(rule, member.slug, {"year": "2026"})
            assert client.get(path).status_code == 403, rule.rule
