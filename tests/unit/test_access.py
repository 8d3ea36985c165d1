"""The access guard: staff, admin, member admin and kiosk links, on a bare request."""

from types import SimpleNamespace

import pytest
from flask import Flask
from flask import session
from werkzeug.exceptions import Forbidden

from webapp import access
from webapp.models.choices import MemberRole
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied

ACTIVE_LINK = 7
REVOKED_LINK = 8


def _user(staff_role=None, member_role=None):
    return SimpleNamespace(
        is_authenticated=True,
        is_staff=staff_role in ("support", "admin"),
        is_admin=staff_role == "admin",
        role_in=lambda member: member_role,
    )


ANONYMOUS = SimpleNamespace(is_authenticated=False, is_staff=False, is_admin=False)


@pytest.fixture
def request_as(monkeypatch):
    """Enter a request made by ``user``, with ``kiosk_id`` in its session if given."""
    app = Flask(__name__)
    app.secret_key = "test"
    monkeypatch.setattr(access.kiosk, "is_active", lambda link_id: link_id == ACTIVE_LINK)
    contexts = []

    def enter(user, kiosk_id=None):
        monkeypatch.setattr(access, "current_user", user)
        context = app.test_request_context()
        context.push()
        contexts.append(context)
        if kiosk_id is not None:
            session[access.KIOSK_SESSION_KEY] = kiosk_id

    yield enter
    for context in reversed(contexts):
        context.pop()


@pytest.mark.parametrize(
    ("user", "staff", "admin"),
    [
        (ANONYMOUS, False, False),
        (_user(), False, False),
        (_user("support"), True, False),
        (_user("admin"), True, True),
    ],
)
def test_staff_and_admin(request_as, user, staff, admin):
    request_as(user)
    assert access.is_staff() is staff
    assert access.is_admin() is admin


def test_require_staff_is_403_for_a_member_user(request_as):
    request_as(_user(member_role=MemberRole.MEMBER_ADMIN))
    with pytest.raises(Forbidden):
        access.require_staff()


def test_require_staff_admin_only_refuses_support(request_as):
    request_as(_user("support"))
    access.require_staff()
    with pytest.raises(Forbidden):
        access.require_staff(admin_only=True)


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (_user(member_role=MemberRole.MEMBER_ADMIN), True),
        (_user(member_role=MemberRole.VIEWER), False),
        (_user("support"), False),
        (_user("admin"), True),
    ],
)
def test_member_admin(request_as, user, allowed):
    request_as(user)
    member = SimpleNamespace(slug="ville")
    assert access.can_administer(member) is allowed
    if allowed:
        access.require_admin_of(member)
    else:
        with pytest.raises(PermissionDenied):
            access.require_admin_of(member)


def test_staff_sees_the_wall(request_as):
    request_as(_user("support"))
    assert access.wall_viewer() == access.STAFF
    assert access.require_wall_viewer() == access.STAFF
    access.require_wall_staff()


def test_an_active_kiosk_link_sees_the_wall_but_not_its_links(request_as):
    request_as(ANONYMOUS, kiosk_id=ACTIVE_LINK)
    assert access.is_kiosk() and access.kiosk_link_id() == ACTIVE_LINK
    assert access.require_wall_viewer() == access.KIOSK
    with pytest.raises(NotFound):
        access.require_wall_staff()


def test_a_revoked_kiosk_link_is_not_found_and_forgotten(request_as):
    request_as(ANONYMOUS, kiosk_id=REVOKED_LINK)
    assert not access.is_kiosk()
    assert access.wall_viewer() is None
    assert access.KIOSK_SESSION_KEY in session  # only asked, nothing forgotten
    with pytest.raises(NotFound):
        access.require_wall_viewer()
    assert access.KIOSK_SESSION_KEY not in session


def test_a_signed_in_member_user_does_not_see_the_wall(request_as):
    request_as(_user(member_role=MemberRole.MEMBER_ADMIN))
    assert access.wall_viewer() is None
    with pytest.raises(NotFound):
        access.require_wall_viewer()
