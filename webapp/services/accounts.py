"""Users: creation, passwords (argon2), login checks and single-use reset links."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Member
from webapp.models import Membership
from webapp.models import MembershipRequest
from webapp.models import User
from webapp.models.choices import AccessRequestStatus
from webapp.models.choices import AuditKind
from webapp.models.choices import MemberRole
from webapp.models.choices import SessionEnd
from webapp.models.choices import StaffRole
from webapp.services import audit
from webapp.services import mail
from webapp.services import passwords
from webapp.services import phones
from webapp.services import production
from webapp.services import sessions
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("vigie-dummy-password-for-timing")
RESET_SALT = "vigie.password-link"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def account_key(email: str) -> str:
    """A stable, opaque key of the account an address names (known or not): a digest of
    the normalised address, for counters that must not store it (rate limits)."""
    return hashlib.sha256(normalise_email(str(email)).encode()).hexdigest()[:32]


def find_user(email: str) -> User | None:
    return db.session.execute(
        select(User).where(func.lower(User.email) == normalise_email(email))
    ).scalar_one_or_none()


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or ``None``.

    Unknown e-mails pay the same hashing cost as known ones. Demo accounts are
    refused when ``ENV`` is ``production``. Each attempt is an audit line: a refusal
    keeps the e-mail as typed (never the password) and why.
    """
    user = find_user(email)
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return _refused(email, "credentials")
    if user is None or not user.password_hash or not user.active:
        return _refused(email, "inactive")
    if production.refuses(user):
        logger.warning("Refused demo account %s in production", user.email)
        return _refused(email, "demo_in_production")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    audit.record(AuditKind.LOGIN, actor=user, member=audit.member_of(user))
    db.session.commit()
    return user


def _refused(email: str, reason: str) -> None:
    """Record a refused login (the typed address, why) and answer ``None``."""
    audit.record(
        AuditKind.LOGIN_FAILED, actor_label=normalise_email(email), detail={"reason": reason}
    )
    db.session.commit()
    return None


class SignInRefused(Exception):
    """A sign-in through an identity federation refused; ``message`` is for the agent."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


def user_for_proconnect(claims: dict) -> User:
    """The active Vigie account of the agent ProConnect identified, matched by e-mail.

    ProConnect vouches for the address its identity providers give; one it says is not
    verified (``email_verified`` false) is refused. Nobody gets an account here: an agent
    Vigie does not know is sent to their member's administrator. Each outcome is an audit
    line (a success tells the method, the SIRET and identity provider ProConnect gave).
    """
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        refuse_proconnect("email_unverified", email=email if isinstance(email, str) else None)
        raise SignInRefused(
            "email_unverified",
            _(
                "ProConnect n’a pas transmis d’adresse électronique vérifiée : la connexion "
                "à Vigie est impossible."
            ),
        )
    user = find_user(email)
    if user is None or not user.active or production.refuses(user):
        refuse_proconnect("unknown_account", email=email)
        raise SignInRefused(
            "unknown_account",
            _(
                "Aucun compte Vigie n’est ouvert pour l’adresse %(email)s. Demandez à "
                "l’administrateur de votre membre de vous inviter, puis reconnectez-vous "
                "avec ProConnect.",
                email=normalise_email(email),
            ),
        )
    user.last_login_at = datetime.now(UTC)
    audit.record(
        AuditKind.LOGIN,
        actor=user,
        member=audit.member_of(user),
        detail={
            "method": "proconnect",
            "siret": str(claims.get("siret") or ""),
            "idp_id": str(claims.get("idp_id") or ""),
        },
    )
    db.session.commit()
    return user


def refuse_proconnect(reason: str, *, email: str | None = None) -> None:
    """Record a refused ProConnect sign-in (why, and the address ProConnect gave if any)."""
    audit.record(
        AuditKind.LOGIN_FAILED,
        actor_label=normalise_email(email) if email else "proconnect",
        detail={"reason": reason, "method": "proconnect"},
    )
    db.session.commit()


def validate_password(
    password: str, *, email: str | None = None, name: str | None = None, strength: bool = True
) -> None:
    """Raise :class:`ValidationError` unless the password policy accepts ``password``.

    ``email`` and ``name`` are the user's (context words); see :mod:`webapp.services.passwords`.
    """
    passwords.check(password, email=email, name=name, strength=strength)


def create_user(
    email: str,
    name: str,
    *,
    member: Member | None = None,
    role: str = MemberRole.VIEWER,
    staff_role: str | None = None,
    phone: str | None = None,
    password: str | None = None,
    is_demo: bool = False,
    actor: User | None = None,
    via: str | None = None,
) -> User:
    """Create a user (and its membership); it has no password until it follows its link.

    The role given is an audit line (by ``actor``; ``via="cli"`` from the command line).
    """
    user = _new_user(
        email,
        name,
        member=member,
        role=role,
        staff_role=staff_role,
        phone=phone,
        password=password,
        is_demo=is_demo,
        actor=actor,
        via=via,
    )
    db.session.commit()
    logger.info("User %s created (member %s, role %s)", user.email, member and member.slug, role)
    return user


def _new_user(
    email: str,
    name: str,
    *,
    member: Member | None,
    role: str,
    staff_role: str | None,
    phone: str | None = None,
    password: str | None = None,
    is_demo: bool = False,
    actor: User | None = None,
    via: str | None = None,
) -> User:
    """Add a user and the audit line of its role to the session (the caller commits)."""
    email = normalise_email(email)
    if find_user(email):
        raise ValidationError({"email": _("Un compte existe déjà avec cette adresse.")})
    if role not in set(MemberRole):
        raise ValidationError({"role": _("Rôle inconnu.")})
    if staff_role is not None and staff_role not in set(StaffRole):
        raise ValidationError({"staff_role": _("Rôle du syndicat inconnu.")})
    if member is None and staff_role is None:
        raise ValidationError({"member": _("Choisissez le membre de cet utilisateur.")})
    user = User(email=email, name=name.strip(), phone=phone, staff_role=staff_role, is_demo=is_demo)
    if password:  # demo accounts (refused in production) keep their published password
        validate_password(password, email=email, name=name, strength=not is_demo)
        user.password_hash = hash_password(password)
    if member is not None:
        user.memberships.append(Membership(member=member, role=role))
    db.session.add(user)
    detail = {"role": role} if member is not None else {}
    if staff_role is not None:
        detail["staff_role"] = staff_role
    if via:
        detail["via"] = via
    audit.record(
        AuditKind.ROLE_CHANGED, actor=actor, member=member, target=f"user {email}", detail=detail
    )
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


# What a password link is for, and the setting that says how long it lives.
INVITATION, RESET = "invitation", "reset"
LINK_MAX_AGE = {INVITATION: "INVITATION_MAX_AGE", RESET: "PASSWORD_RESET_MAX_AGE"}


def make_password_token(user: User, purpose: str = INVITATION) -> str:
    """A signed token valid until used (it embeds a fingerprint of the current hash) and for
    its ``purpose``'s lifetime (:data:`LINK_MAX_AGE`)."""
    return _serializer().dumps({"uid": user.id, "fp": _password_fingerprint(user), "p": purpose})


def password_link(user: User, purpose: str = INVITATION) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    path = current_app.url_map.bind("vigie").build(
        "auth.set_password", {"token": make_password_token(user, purpose)}
    )
    return base + path


def user_for_token(token: str, max_age: int | None = None) -> User:
    """Return the user of a password link, or raise :class:`ValidationError`.

    A reset link lives ``PASSWORD_RESET_MAX_AGE``, an invitation ``INVITATION_MAX_AGE``
    (a link signed before links said what they were for counts as an invitation).
    """
    serializer = _serializer()
    try:
        data = serializer.loads(token)  # the signature first, then the age for its purpose
        purpose = data.get("p", INVITATION) if isinstance(data, dict) else None
        if purpose not in LINK_MAX_AGE:
            raise BadSignature("unknown purpose")
        data = serializer.loads(token, max_age=max_age or current_app.config[LINK_MAX_AGE[purpose]])
    except SignatureExpired:
        raise ValidationError({"token": _("Ce lien a expiré. Demandez-en un nouveau.")}) from None
    except BadSignature:
        raise ValidationError({"token": _("Ce lien n'est pas valide.")}) from None
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("fp") != _password_fingerprint(user):
        raise ValidationError({"token": _("Ce lien a déjà été utilisé ou n'est plus valide.")})
    return user


def set_password_with_token(token: str, password: str) -> User:
    user = user_for_token(token)
    validate_password(password, email=user.email, name=user.name)
    user.password_hash = hash_password(password)
    # One commit: the new password and the end of every session opened before it.
    sessions.revoke_all_for(user, reason=SessionEnd.PASSWORD)
    logger.info("Password set for %s", user.email)
    return user


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the account exists; say nothing either way (a demo account
    in production gets none: it could not sign in with it anyway)."""
    user = find_user(email)
    if user is None or not user.active:
        logger.info("Password reset asked for unknown or inactive %s", normalise_email(email))
        return
    if production.refuses(user):
        logger.warning("Password reset refused to demo account %s in production", user.email)
        return
    link = password_link(user, RESET)
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    mail.send(
        user.email,
        _("Vigie : réinitialisation de votre mot de passe"),
        _(
            "Bonjour %(name)s,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien "
            "(valable %(minutes)d minutes, une seule fois) :\n%(link)s\n\n"
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.",
            name=user.name,
            minutes=minutes,
            link=link,
        ),
    )


def update_profile(user: User, *, name: str, phone: str | None, locale: str) -> None:
    if locale not in current_app.config["LANGUAGES"]:
        raise ValidationError({"locale": _("Langue inconnue.")})
    phone = (phone or "").strip() or None
    if phone != user.phone:  # a new number: E.164, and unconfirmed until a code is typed
        phones.set_number(user, phones.normalise(phone) if phone else None)
    user.name = name.strip()
    user.locale = locale
    db.session.commit()


def invite(member: Member, *, email: str, name: str, role: str, actor: User | None = None) -> None:
    """Invite ``email`` to ``member``; the caller answers the same whether it has an account.

    A new address gets an account (and membership) and its one-time password link by e-mail.
    An address that already has a Vigie account is never revealed to a member administrator:
    a :class:`~webapp.models.MembershipRequest` waits for the syndicate staff, who approve it
    (the access is added, its owner told by e-mail only then) or refuse it
    (:mod:`webapp.services.invitations`); meanwhile the member's user list shows it as any
    pending invitation (:func:`user_rows`). A syndicate administrator's invitation adds an
    existing account to ``member`` directly: they see every account anyway.
    Raises :class:`ValidationError` (nothing recorded) for an unknown role, or for an address
    that already has access to ``member`` or is already invited to it (its user list shows it).
    The invitation (by ``actor``) and any role given are audit lines of the same commit.
    """
    email = normalise_email(email)
    if role not in set(MemberRole):
        raise ValidationError({"role": _("Rôle inconnu.")})
    existing = find_user(email)
    if existing is None:
        user = _new_user(email, name, member=member, role=role, staff_role=None, actor=actor)
        _record_invitation(member, user.email, role, actor)
        db.session.commit()
        logger.info("User %s invited to %s (role %s)", user.email, member.slug, role)
        send_invitation(user, member, password_link(user))
        return
    if existing.role_in(member) is not None or _pending_request(member, existing) is not None:
        raise ValidationError(
            {"email": _("Cette adresse a déjà accès à %(member)s.", member=member.name)}
        )
    if actor is not None and actor.is_admin:
        _add_existing(member, existing, role, actor)
        return
    db.session.add(
        MembershipRequest(
            member=member, user=existing, name=name.strip(), role=role, requested_by=actor
        )
    )
    _record_invitation(member, existing.email, role, actor, existing_account=True)
    db.session.commit()
    logger.info("Existing account %s invited to %s: left to the syndicate", email, member.slug)


def _pending_request(member: Member, user: User) -> MembershipRequest | None:
    return db.session.scalar(
        select(MembershipRequest).where(
            MembershipRequest.member_id == member.id,
            MembershipRequest.user_id == user.id,
            MembershipRequest.status == AccessRequestStatus.PENDING,
        )
    )


@dataclass(frozen=True)
class UserRow:
    """A line of a member's user list: a membership, or an invitation not yet accepted."""

    name: str
    email: str
    role: str
    active: bool  # False: « invitation en attente »


def user_rows(member: Member) -> list[UserRow]:
    """The member's users as its administrator sees them, by name.

    An existing account's pending request is a row exactly like a new address's pending
    invitation: the name the administrator typed, the address, the role, not active.
    """
    rows = [
        UserRow(m.user.name, m.user.email, m.role, bool(m.user.password_hash))
        for m in member.memberships
    ]
    pending = db.session.scalars(
        select(MembershipRequest).where(
            MembershipRequest.member_id == member.id,
            MembershipRequest.status == AccessRequestStatus.PENDING,
        )
    )
    rows += [UserRow(r.name, r.user.email, r.role, False) for r in pending]
    return sorted(rows, key=lambda row: (row.name.casefold(), row.email))


def _record_invitation(
    member: Member, email: str, role: str, actor: User | None, existing_account: bool = False
) -> None:
    detail: dict = {"role": role}
    if existing_account:
        detail["existing_account"] = True
    audit.record(
        AuditKind.INVITATION, actor=actor, member=member, target=f"user {email}", detail=detail
    )


def _add_existing(member: Member, user: User, role: str, actor: User) -> None:
    """A syndicate administrator gives an existing (non-staff) account access to ``member``."""
    if user.is_staff:
        raise ValidationError({"email": staff_account_message()})
    _record_invitation(member, user.email, role, actor, existing_account=True)
    give_access(member, user, role, actor)
    db.session.commit()
    logger.info("Existing account %s added to %s (role %s)", user.email, member.slug, role)
    tell_access_opened(user, member)


def staff_account_message() -> str:
    return _("Ce compte est un compte du syndicat : il voit déjà tous les membres.")


def give_access(member: Member, user: User, role: str, actor: User) -> None:
    """Add ``user`` to ``member`` with ``role`` and its audit line (the caller commits)."""
    user.memberships.append(Membership(member=member, role=role))
    audit.record(
        AuditKind.ROLE_CHANGED,
        actor=actor,
        member=member,
        target=f"user {user.email}",
        detail={"role": role},
    )


def tell_access_opened(user: User, member: Member) -> None:
    """E-mail ``user`` (an existing account, now in ``member``) that the access is open."""
    if not user.active:
        return
    if user.password_hash is None:  # invited elsewhere, no password chosen yet
        send_invitation(user, member, password_link(user))
        return
    mail.send(
        user.email,
        _("Vigie : votre accès au portail de supervision"),
        _(
            "Bonjour %(name)s,\n\nVotre compte Vigie a maintenant accès à %(where)s.\n"
            "Connectez-vous comme d’habitude : %(link)s\n",
            name=user.name,
            where=member.name,
            link=current_app.config["BASE_URL"].rstrip("/")
            + current_app.url_map.bind("vigie").build("auth.login"),
        ),
    )


def send_invitation(user: User, member: Member | None, link: str) -> None:
    """E-mail an invitation with its one-time password link."""
    where = member.name if member else _("le syndicat")
    mail.send(
        user.email,
        _("Vigie : votre accès au portail de supervision"),
        _(
            "Bonjour %(name)s,\n\nUn accès à Vigie vous a été ouvert pour %(where)s.\n"
            "Choisissez votre mot de passe avec ce lien (une seule utilisation) :\n%(link)s\n",
            name=user.name,
            where=where,
            link=link,
        ),
    )
