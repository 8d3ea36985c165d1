"""Invitations (issue 15, defect 7): a member administrator never learns whether an address
has a Vigie account. Inviting an existing account answers exactly as for a new address, and
is listed the same; the syndicate staff approve or refuse it, and only an approval tells the
account's owner, by e-mail."""

import re

import pyotp
import pytest

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import enable_two_factor
from tests.factories import make_member
from tests.factories import make_user
from webapp.models import AuditEvent
from webapp.models import MembershipRequest
from webapp.models.choices import AuditKind
from webapp.services import accounts
from webapp.services.mail import OUTBOX_KEY

CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]+(")')


def invite(client, member, email, name="Camille Martin", role="viewer"):
    path = f"/membres/{member.slug}/utilisateurs"
    token = csrf_from(client, path)
    return client.post(path, data={"email": email, "name": name, "role": role, "csrf_token": token})


def page_without_tokens(response) -> str:
    """The page as the inviter sees it, less what changes on every request (CSRF tokens)."""
    return CSRF_VALUE.sub(r"\1…\2", response.get_data(as_text=True))


def staff_login(browser, user):
    token = csrf_from(browser, "/connexion")
    response = browser.post(
        "/connexion", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return user


def outbox(app) -> list:
    return app.extensions.get(OUTBOX_KEY, [])


def invited_pages(app, client, login, email):
    """A fresh member whose administrator invites ``email`` as Camille Martin: the answer,
    then the user list on the next visit, less what differs between two members."""
    member = make_member()
    admin = make_user("member_admin", member, name="Paul Admin")
    if app.config["ENV"] == "production":  # a member admin signs in with two-factor there
        secret = enable_two_factor(admin)
        client.post(
            "/connexion",
            data={
                "email": admin.email,
                "password": PASSWORD,
                "csrf_token": csrf_from(client, "/connexion"),
            },
        )
        token = csrf_from(client, "/connexion/verification")
        verified = client.post(
            "/connexion/verification",
            data={"code": pyotp.TOTP(secret).now(), "csrf_token": token},
        )
        assert verified.status_code == 302
    else:
        login(admin)
    answer = invite(client, member, email.title())
    later = client.get(f"/membres/{member.slug}/utilisateurs")
    pages = []
    for response in (answer, later):
        page = page_without_tokens(response)
        for value, neutral in (
            (email, "ADDRESS"),
            (admin.email, "ADMIN"),
            (member.slug, "SLUG"),
            (member.name, "MEMBER"),
        ):
            page = page.replace(value, neutral)
        pages.append((response.status_code, page))
    token = csrf_from(client, "/profil/")
    client.post("/deconnexion", data={"csrf_token": token})
    return pages


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_an_existing_account_answers_exactly_as_a_new_address(app, client, login, production):
    app.config["ENV"] = "production" if production else "development"
    app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks http
    elsewhere = make_user("viewer", make_member(name="Commune voisine"), email="taken@example.org")
    existing = invited_pages(app, client, login, "taken@example.org")
    new = invited_pages(app, client, login, "free@example.org")
    assert existing == new, "the answer and the user list: the same, word for word"
    (status, answer), (_status, later) = existing
    assert status == 200
    assert "Invitation envoyée à ADDRESS." in answer
    assert "existe déjà" not in answer
    row = re.compile(
        r'<tr><th scope="row">Camille Martin</th><td>ADDRESS</td><td>[^<]+</td>\s*'
        r"<td>invitation en attente</td></tr>"
    )
    assert row.search(later), "listed as a pending invitation, under the name typed"
    # The account elsewhere was not touched: no membership, its password unchanged.
    assert len(elsewhere.memberships) == 1


def test_the_one_time_link_is_no_longer_shown_to_the_inviter(app, client, login):
    member = make_member()
    login(make_user("member_admin", member))
    page = invite(client, member, "free@example.org").get_data(as_text=True)
    assert "/mot-de-passe/definir/" not in page  # it goes to the invitee by e-mail only
    (message,) = [m for m in outbox(app) if m["To"] == "free@example.org"]
    assert "/mot-de-passe/definir/" in message.get_content()


def test_the_existing_account_waits_for_the_syndicate_and_is_told_after_approval(
    app, client, login
):
    elsewhere = make_user("viewer", make_member(), email="taken@example.org", name="Léa Roux")
    member = make_member(name="Mairie de Sarralbe")
    admin = login(make_user("member_admin", member, name="Paul Admin"))
    before = len(outbox(app))
    invite(client, member, "taken@example.org", role="member_admin")
    assert outbox(app)[before:] == [], "nobody is told before the syndicate decides"
    assert elsewhere.role_in(member) is None
    (request,) = MembershipRequest.query.all()
    assert (request.status, request.role, request.name) == (
        "pending",
        "member_admin",
        "Camille Martin",
    )
    rows = AuditEvent.query.filter_by(kind=AuditKind.INVITATION).all()
    assert [(r.actor_id, r.member_id, r.target, r.detail) for r in rows] == [
        (
            admin.id,
            member.id,
            "user taken@example.org",
            {"role": "member_admin", "existing_account": True},
        )
    ]
    # The staff's list shows it; support staff may decide.
    staff = app.test_client()
    staff_login(staff, make_user("support"))
    queue = staff.get("/admin/acces")
    assert queue.status_code == 200
    page = queue.get_data(as_text=True)
    assert "taken@example.org" in page and "Mairie de Sarralbe" in page and "Paul Admin" in page
    assert "1 compte existant invité par un membre" in staff.get("/admin/").get_data(as_text=True)
    token = csrf_from(staff, "/admin/acces")
    done = staff.post(f"/admin/acces/{request.id}/accepter", data={"csrf_token": token})
    assert done.status_code == 303
    assert elsewhere.role_in(member) == "member_admin"
    (message,) = outbox(app)[before:]
    assert message["To"] == "taken@example.org"
    body = message.get_content()
    assert "Bonjour Léa Roux" in body and "a maintenant accès à Mairie de Sarralbe" in body
    kinds = [r.kind for r in AuditEvent.query.filter_by(member_id=member.id).all()]
    assert AuditKind.ACCESS_APPROVED in kinds and AuditKind.ROLE_CHANGED in kinds
    assert "Aucune demande d’accès" in staff.get("/admin/acces").get_data(as_text=True)
    again = staff.post(f"/admin/acces/{request.id}/refuser", data={"csrf_token": token})
    assert "déjà été traitée" in staff.get(again.headers["Location"]).get_data(as_text=True)


def test_a_refused_request_adds_nothing_and_tells_nobody(app, client, login):
    elsewhere = make_user("viewer", make_member(), email="taken@example.org")
    member = make_member()
    login(make_user("member_admin", member))
    before = len(outbox(app))
    invite(client, member, "taken@example.org")
    (request,) = MembershipRequest.query.all()
    staff = app.test_client()
    decider = staff_login(staff, make_user("admin"))
    token = csrf_from(staff, "/admin/acces")
    assert (
        staff.post(f"/admin/acces/{request.id}/refuser", data={"csrf_token": token}).status_code
        == 303
    )
    assert elsewhere.role_in(member) is None
    assert outbox(app)[before:] == []
    (line,) = AuditEvent.query.filter_by(kind=AuditKind.ACCESS_REFUSED).all()
    assert (line.actor_id, line.member_id, line.target) == (
        decider.id,
        member.id,
        "user taken@example.org",
    )
    assert request.status == "refused" and request.decided_by_id == decider.id


def test_invited_twice_answers_as_a_new_address_invited_twice(app, client, login):
    make_user("viewer", make_member(), email="taken@example.org")
    member = make_member(name="Mairie de Sarralbe")
    login(make_user("member_admin", member))
    for email in ("taken@example.org", "free@example.org"):
        assert invite(client, member, email).status_code == 200
        second = invite(client, member, email)
        assert second.status_code == 400
        assert "Cette adresse a déjà accès à Mairie de Sarralbe." in second.get_data(as_text=True)
    assert MembershipRequest.query.count() == 1


def test_only_staff_see_and_decide_the_requests(app, client, login):
    make_user("viewer", make_member(), email="taken@example.org")
    member = make_member()
    login(make_user("member_admin", member))
    invite(client, member, "taken@example.org")
    (request,) = MembershipRequest.query.all()
    assert client.get("/admin/acces").status_code == 403
    token = csrf_from(client, f"/membres/{member.slug}/utilisateurs")
    refused = client.post(f"/admin/acces/{request.id}/accepter", data={"csrf_token": token})
    assert refused.status_code == 403
    assert request.status == "pending"
    staff = app.test_client()
    staff_login(staff, make_user("support"))
    token = csrf_from(staff, "/admin/acces")
    assert (
        staff.post("/admin/acces/2147483647/accepter", data={"csrf_token": token}).status_code
        == 404
    )
    assert staff.post(f"/admin/acces/{request.id}/accepter", data={}).status_code == 400
    assert request.status == "pending", "no CSRF token, no decision"


def test_a_syndicate_admin_adds_the_existing_account(app, client, login):
    """The syndicate sees every account: its invitation opens the access at once."""
    elsewhere = make_user("viewer", make_member(), email="taken@example.org")
    member = make_member(name="Mairie de Sarralbe")
    login(make_user("admin"))
    response = invite(client, member, "taken@example.org", role="member_admin")
    assert response.status_code == 200
    assert "Invitation envoyée à taken@example.org." in response.get_data(as_text=True)
    assert elsewhere.role_in(member) == "member_admin"
    message = outbox(app)[-1]
    assert message["To"] == "taken@example.org"
    assert "a maintenant accès à Mairie de Sarralbe" in message.get_content()
    kinds = {r.kind for r in AuditEvent.query.filter_by(member_id=member.id).all()}
    assert {AuditKind.INVITATION, AuditKind.ROLE_CHANGED} <= kinds


def test_a_syndicate_admin_cannot_add_a_staff_account_to_a_member(app, client, login):
    support = make_user("support", email="support@example.org")
    member = make_member()
    login(make_user("admin"))
    response = invite(client, member, "support@example.org")
    assert response.status_code == 400
    assert "compte du syndicat" in response.get_data(as_text=True)
    assert support.memberships == []


def test_an_address_already_in_the_list_is_told(app, client, login):
    """Not a secret: the member's own user list shows it."""
    member = make_member(name="Mairie de Sarralbe")
    login(make_user("member_admin", member))
    colleague = make_user("viewer", member, email="colleague@example.org")
    response = invite(client, member, "colleague@example.org")
    assert response.status_code == 400
    assert "Cette adresse a déjà accès à Mairie de Sarralbe." in response.get_data(as_text=True)
    assert colleague.role_in(member) == "viewer"


def test_an_inactive_account_elsewhere_is_not_mailed(app, client, login, db):
    elsewhere = make_user("viewer", make_member(), email="gone@example.org")
    elsewhere.active = False
    db.session.commit()
    member = make_member()
    login(make_user("member_admin", member))
    before = len(outbox(app))
    response = invite(client, member, "gone@example.org")
    assert response.status_code == 200
    assert "Invitation envoyée à gone@example.org." in response.get_data(as_text=True)
    assert len(outbox(app)) == before


def test_a_new_address_still_gets_an_account_and_its_link(app, client, login):
    member = make_member()
    login(make_user("member_admin", member))
    assert invite(client, member, "New@Example.org").status_code == 200
    user = accounts.find_user("new@example.org")
    assert user.role_in(member) == "viewer" and user.password_hash is None
    message = outbox(app)[-1]
    link = re.search(r"http\S+/mot-de-passe/definir/\S+", message.get_content()).group(0)
    assert accounts.user_for_token(link.rsplit("/", 1)[1]) == user
