"""Invitations (issue 15, defect 7): a member administrator never learns whether an address
has a Vigie account. Inviting an existing account answers exactly as for a new address; its
owner is told by e-mail and the syndicate opens the access."""

import re

import pyotp
import pytest

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import enable_two_factor
from tests.factories import make_member
from tests.factories import make_user
from webapp.models import AuditEvent
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


def outbox(app) -> list:
    return app.extensions.get(OUTBOX_KEY, [])


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_an_existing_account_answers_exactly_as_a_new_address(app, client, login, production):
    app.config["ENV"] = "production" if production else "development"
    app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks http
    elsewhere = make_user("viewer", make_member(name="Commune voisine"), email="taken@example.org")
    member = make_member(name="Mairie de Sarralbe")
    admin = make_user("member_admin", member)
    if production:  # a member admin signs in with two-factor there
        secret = enable_two_factor(admin)
        client.post(
            "/connexion",
            data={
                "email": admin.email,
                "password": PASSWORD,
                "csrf_token": csrf_from(client, "/connexion"),
            },
        )
        code = pyotp.TOTP(secret).now()
        token = csrf_from(client, "/connexion/verification")
        assert (
            client.post(
                "/connexion/verification", data={"code": code, "csrf_token": token}
            ).status_code
            == 302
        )
    else:
        login(admin)
    # The same address typed twice: once with an account elsewhere, once without any account.
    # The new address is removed again before comparing the user lists (the only difference
    # left would be the row a new account adds, shown on the next visit).
    existing = invite(client, member, "Taken@Example.org")
    new = invite(client, member, "free@example.org")
    assert existing.status_code == new.status_code == 200
    existing_page = page_without_tokens(existing).replace("taken@example.org", "ADDRESS")
    new_page = page_without_tokens(new).replace("free@example.org", "ADDRESS")
    new_row = re.compile(r'<tr><th scope="row">Camille Martin</th>.*?</tr>\s*', re.S)
    new_page = new_row.sub("", new_page)
    assert existing_page == new_page
    assert "Invitation envoyée à ADDRESS." in existing_page
    assert "existe déjà" not in existing_page
    # The account elsewhere was not touched: no membership, its password unchanged.
    assert elsewhere.role_in(member) is None
    assert len(elsewhere.memberships) == 1


def test_the_one_time_link_is_no_longer_shown_to_the_inviter(app, client, login):
    member = make_member()
    login(make_user("member_admin", member))
    page = invite(client, member, "free@example.org").get_data(as_text=True)
    assert "/mot-de-passe/definir/" not in page  # it goes to the invitee by e-mail only
    (message,) = [m for m in outbox(app) if m["To"] == "free@example.org"]
    assert "/mot-de-passe/definir/" in message.get_content()


def test_the_existing_account_is_told_by_email_and_the_syndicate_sees_it(app, client, login):
    elsewhere = make_user("viewer", make_member(), email="taken@example.org", name="Léa Roux")
    member = make_member(name="Mairie de Sarralbe")
    admin = login(make_user("member_admin", member, name="Paul Admin"))
    before = len(outbox(app))
    invite(client, member, "taken@example.org", role="member_admin")
    (message,) = outbox(app)[before:]
    assert message["To"] == "taken@example.org"
    assert "Mairie de Sarralbe" in message["Subject"]
    body = message.get_content()
    assert "Bonjour Léa Roux" in body and "Paul Admin vous a invité" in body
    assert "déjà un compte Vigie" in body and "support du syndicat" in body
    assert "/mot-de-passe/definir/" not in body  # nothing to take over
    rows = AuditEvent.query.filter_by(kind=AuditKind.INVITATION).all()
    assert [(r.actor_id, r.member_id, r.target, r.detail) for r in rows] == [
        (
            admin.id,
            member.id,
            "user taken@example.org",
            {"role": "member_admin", "existing_account": True},
        )
    ]
    assert not AuditEvent.query.filter_by(
        kind=AuditKind.ROLE_CHANGED, member_id=member.id, target="user taken@example.org"
    ).all()
    assert elsewhere.role_in(member) is None


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
