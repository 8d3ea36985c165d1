"""Tenant isolation: the one place that decides which members a user may see.

Every read of member data starts here. Staff (support, admin) see every member;
other users see the members they belong to. Anything else is reported as *not
found* so that a user of member A cannot even learn that member B exists.
"""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Member
from webapp.models import Membership
from webapp.models import User
from webapp.models.choices import MemberRole
from webapp.services.errors import MemberNotFound
from webapp.services.errors import PermissionDenied


def visible_members_query(user: User) -> Select[tuple[Member]]:
    """Return a ``select(Member)`` limited to what ``user`` may see."""
    query = select(Member).order_by(Member.name)
    if user.is_staff:
        return query
    return query.join(Membership, Membership.member_id == Member.id).where(
        Membership.user_id == user.id
    )


def visible_members(user: User) -> list[Member]:
    return list(db.session.execute(visible_members_query(user)).scalars())


def get_member(user: User, slug: str) -> Member:
    """Return the member ``slug`` if ``user`` may see it, else raise :class:`MemberNotFound`."""
    member = db.session.execute(
        visible_members_query(user).where(Member.slug == slug)
    ).scalar_one_or_none()
    if member is None:
        raise MemberNotFound(slug)
    return member


def can_administer(user: User, member: Member) -> bool:
    """Whether ``user`` may manage ``member`` (its users, subscription...)."""
    return user.is_admin or user.role_in(member) == MemberRole.MEMBER_ADMIN


def require_admin_of(user: User, member: Member) -> None:
    if not can_administer(user, member):
        raise PermissionDenied(member.slug)
