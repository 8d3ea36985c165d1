"""Factories with sensible defaults; override anything with keyword arguments."""

from __future__ import annotations

import itertools

from webapp.extensions import db
from webapp.models import Member
from webapp.models import User
from webapp.services import accounts
from webapp.services import members as member_service

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
_hash_cache: dict[str, str] = {}


def make_member(**overrides) -> Member:
    n = next(_counter)
    values = {
        "name": f"Commune test {n}",
        "slug": f"commune-test-{n}",
        "kind": "commune",
        "host_groups": [f"Tests/commune-{n}"],
    }
    values.update(overrides)
    return member_service.create_member(**values)


def demo_estate(count: int) -> dict[str, Member]:
    """The first ``count`` demo members under their real names, bound to their groups.

    ``count`` is the estate the app was given (``app.config["DEMO_MEMBERS"]``: the
    six small members in the suite, eight with the large ones).
    """
    from webapp.sources.demo import make_members

    return {
        m.slug: make_member(name=m.name, slug=m.slug, kind=m.kind, host_groups=[m.group])
        for m in make_members(count)
    }


def demo_member(slug: str = "sarralbe") -> Member:
    """A member bound to a host group of the demo estate."""
    return make_member(name=f"Démo {slug}", slug=slug, host_groups=[f"Membres/{slug}"])


def make_user(role: str = "viewer", member: Member | None = None, **overrides) -> User:
    """``role``: viewer or member_admin (of ``member``, created if needed), support or admin."""
    n = next(_counter)
    staff = role if role in ("support", "admin") else None
    if staff is None and member is None:
        member = make_member()
    password = overrides.pop("password", PASSWORD)
    user = accounts.create_user(
        overrides.pop("email", f"user{n}@example.org"),
        overrides.pop("name", f"Utilisateur {n}"),
        member=member if staff is None else None,
        role=role if staff is None else "viewer",
        staff_role=staff,
        **overrides,
    )
    if password not in _hash_cache:
        _hash_cache[password] = accounts.hash_password(password)
    user.password_hash = _hash_cache[password]
    db.session.commit()
    return user


TINY_PDF = b"%PDF-1.7\n%test\n"


def make_agreement(member: Member, **overrides):
    """A current supervision agreement of ``member`` (without one, no pool can be ordered)."""
    from datetime import date

    from webapp.services import agreements

    values = {
        "signed_on": date(2024, 1, 15),
        "renewal_on": date(2030, 12, 31),
        "package_probes": 100,
        "document_name": "convention.pdf",
        "document": TINY_PDF,
    }
    values.update(overrides)
    return agreements.record(member, make_user("admin"), **values)


def make_support_request(member: Member, author: User, **fields):
    """A support request opened through the service (subject, message; any other field)."""
    from webapp.services import support

    values = {"subject": "Caméra", "message": "Elle ne répond plus.", **fields}
    return support.open_request(member, author, support.parse_new(values))


def enable_two_factor(user: User) -> str:
    """Turn on ``user``'s two-factor sign-in (confirmed, no code used yet): its secret."""
    from datetime import UTC
    from datetime import datetime

    import pyotp

    from webapp.models import TwoFactor
    from webapp.services import two_factor

    secret = pyotp.random_base32()
    db.session.add(
        TwoFactor(
            user_id=user.id, secret=two_factor._encrypt(secret), confirmed_at=datetime.now(UTC)
        )
    )
    db.session.commit()
    return secret
