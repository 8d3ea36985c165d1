"""Two-factor sign-in: TOTP (an authenticator application) and single-use recovery codes.

A user enrols on the profile: :func:`begin_enrolment` draws a secret (kept encrypted,
never shown again once confirmed) and :func:`confirm_enrolment` turns it on with a first
code, returning ten recovery codes shown once (only their salted PBKDF2 digests are kept).
At sign-in, after the password, :func:`verify` takes a code of the application (the time
step before and after are accepted, ``valid_window=1``; a step already used is refused,
so an observed code cannot be replayed) or an unused recovery code.

It is required (:func:`required_for`) for syndicate staff and member admins when
``ENV`` is ``production``, optional for viewers; a ProConnect sign-in is strong and never
asks for it. Enrolment, disabling, renewing codes, using one and failed second steps are
audit lines. Secrets are encrypted with Fernet under ``TWO_FACTOR_KEYS`` (comma separated
Fernet keys, the first encrypts: rotation), or else a key derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import RecoveryCode
from webapp.models import TwoFactor
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.models.choices import SignInMethod
from webapp.services import audit
from webapp.services import production
from webapp.services import sessions
from webapp.services.errors import Conflict
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

ISSUER = "Vigie"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read from paper
RECOVERY_LENGTH = 10  # shown as two groups of five: ~49 bits each
PBKDF2_ROUNDS = 100_000
_hasher = PasswordHasher()


def _now() -> datetime:
    """The current time (UTC); the tests move it."""
    return datetime.now(UTC)


def now() -> datetime:
    """The clock of the two-factor steps (the pending step's age too)."""
    return _now()


@dataclass(frozen=True)
class Enrolment:
    """A pending enrolment, as the profile page shows it (until confirmed only)."""

    secret: str  # base32
    uri: str  # otpauth://
    qr_data_uri: str  # an SVG QR code of ``uri``, made here

    @property
    def secret_groups(self) -> list[str]:
        """The secret in groups of four characters, for manual entry."""
        return [self.secret[i : i + 4] for i in range(0, len(self.secret), 4)]


# -- Encryption of the secrets -------------------------------------------------------------


def _fernet() -> MultiFernet:
    configured = current_app.config.get("TWO_FACTOR_KEYS") or ""
    keys = [k.strip() for k in str(configured).split(",") if k.strip()]
    if not keys:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"vigie.two-factor.secret"
        ).derive(str(current_app.config["SECRET_KEY"]).encode())
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # A key removed from TWO_FACTOR_KEYS (or a new SECRET_KEY without it): say so.
        logger.error("A two-factor secret cannot be decrypted: check VIGIE_TWO_FACTOR_KEYS")
        raise Conflict(
            "two_factor_unreadable",
            _(
                "Votre double authentification ne peut pas être vérifiée pour le moment. "
                "Contactez le support du syndicat."
            ),
        ) from None


def check_keys(keys: str) -> None:
    """Raise ``ValueError`` unless ``keys`` (comma separated) are all Fernet keys."""
    for key in (k.strip() for k in keys.split(",") if k.strip()):
        Fernet(key)


# -- Who must, who has ---------------------------------------------------------------------


def required_for(user: User) -> bool:
    """Staff and member admins must use a second factor in production; viewers may."""
    return production.is_production() and sessions.is_privileged(user)


def record_for(user: User) -> TwoFactor | None:
    return db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id))


def is_enabled(user: User) -> bool:
    row = record_for(user)
    return row is not None and row.active


def must_enrol(user: User, method: str) -> bool:
    """Whether a session signed in with ``method`` is held to the enrolment page."""
    return method != SignInMethod.PROCONNECT and required_for(user) and not is_enabled(user)


def recovery_codes_left(user: User) -> int:
    row = record_for(user)
    if row is None or not row.active:
        return 0
    return sum(1 for code in row.recovery_codes if code.used_at is None)


# -- Enrolment -----------------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def _enrolment(user: User, secret: str) -> Enrolment:
    uri = _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    return Enrolment(
        secret=secret,
        uri=uri,
        qr_data_uri=qr.svg_data_uri(scale=5, border=4, dark="#000", light="#fff"),
    )


def begin_enrolment(user: User) -> Enrolment:
    """Draw a new secret for ``user`` (pending until :func:`confirm_enrolment`)."""
    row = record_for(user)
    if row is not None and row.active:
        raise Conflict(
            "two_factor_enabled", _("La double authentification est déjà activée sur ce compte.")
        )
    secret = pyotp.random_base32()
    if row is None:
        row = TwoFactor(user_id=user.id, secret=_encrypt(secret))
        db.session.add(row)
    else:
        row.secret = _encrypt(secret)
        row.created_at = _now()
    db.session.commit()
    logger.info("Two-factor enrolment started by user %s", user.id)
    return _enrolment(user, secret)


def pending_enrolment(user: User) -> Enrolment | None:
    """The enrolment ``user`` started and has not confirmed yet, if any."""
    row = record_for(user)
    if row is None or row.active:
        return None
    return _enrolment(user, _decrypt(row.secret))


def _digits(code: str) -> str:
    return "".join(ch for ch in str(code or "") if not ch.isspace())


def _matching_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step (the current one, or one either side) whose code is ``code``."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = _totp(secret)
    current = totp.timecode(_now())
    for step in (current - 1, current, current + 1):  # pyotp's valid_window=1
        if after is not None and step <= after:
            continue  # already used: no replay, nor an older code
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _wrong_code() -> ValidationError:
    return ValidationError(
        {"code": _("Code incorrect ou expiré. Saisissez le code affiché par votre application.")}
    )


def confirm_enrolment(user: User, code: str, *, keep_session: int | None = None) -> list[str]:
    """Turn on the pending enrolment with a first code: the recovery codes (shown once).

    Every other session of the user ends (they were opened with the password alone);
    ``keep_session``, the one used to enrol, stays."""
    row = record_for(user)
    if row is None or row.active:
        raise Conflict(
            "no_pending_enrolment", _("Aucune activation en cours : recommencez l’activation.")
        )
    step = _matching_step(_decrypt(row.secret), _digits(code), None)
    if step is None:
        raise _wrong_code()
    now = _now()
    row.confirmed_at = now
    row.last_step = step
    row.last_used_at = now
    codes = _replace_recovery_codes(row)
    audit.record(AuditKind.TWO_FACTOR_ENABLED, actor=user, member=audit.member_of(user))
    sessions.revoke_all_for(user, except_current=keep_session)  # commits
    logger.info("Two-factor sign-in turned on by user %s", user.id)
    return codes


# -- Recovery codes ------------------------------------------------------------------------


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def _normal_recovery(code: str) -> str:
    return "".join(ch for ch in str(code or "").lower() if ch.isalnum())


def _hash_recovery(code: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", _normal_recovery(code).encode(), salt, PBKDF2_ROUNDS)
    return f"pbkdf2_sha256${PBKDF2_ROUNDS}${salt.hex()}${digest.hex()}"


def _recovery_matches(stored: str, code: str) -> bool:
    try:
        _scheme, rounds, salt, digest = stored.split("$")
        expected = hashlib.pbkdf2_hmac(
            "sha256", _normal_recovery(code).encode(), bytes.fromhex(salt), int(rounds)
        )
    except ValueError:
        return False
    return hmac.compare_digest(expected.hex(), digest)


def _replace_recovery_codes(row: TwoFactor) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    row.recovery_codes.clear()
    db.session.flush()
    row.recovery_codes.extend(RecoveryCode(code_hash=_hash_recovery(code)) for code in codes)
    return codes


def _active_row(user: User) -> TwoFactor:
    row = record_for(user)
    if row is None or not row.active:
        raise Conflict(
            "two_factor_disabled", _("La double authentification n’est pas activée sur ce compte.")
        )
    return row


def renew_recovery_codes(user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), with a current code of the application."""
    row = _active_row(user)
    step = _matching_step(_decrypt(row.secret), _digits(code), row.last_step)
    if step is None:
        raise _wrong_code()
    row.last_step = step
    row.last_used_at = _now()
    codes = _replace_recovery_codes(row)
    audit.record(AuditKind.RECOVERY_CODES_RENEWED, actor=user, member=audit.member_of(user))
    db.session.commit()
    return codes


# -- Second step of a sign-in --------------------------------------------------------------


def verify(user: User, code: str) -> SignInMethod:
    """Check the second step of ``user``'s sign-in: a code of the application (each one
    once) or an unused recovery code (then spent). The method it proves, or
    :class:`ValidationError` (an audit line)."""
    row = _active_row(user)
    typed = _digits(code)
    now = _now()
    step = _matching_step(_decrypt(row.secret), typed, row.last_step)
    if step is not None:
        row.last_step = step
        row.last_used_at = now
        db.session.commit()
        return SignInMethod.PASSWORD_TOTP
    if len(_normal_recovery(typed)) == RECOVERY_LENGTH:
        for recovery in row.recovery_codes:
            if recovery.used_at is None and _recovery_matches(recovery.code_hash, typed):
                recovery.used_at = now
                left = sum(1 for c in row.recovery_codes if c.used_at is None)
                audit.record(
                    AuditKind.RECOVERY_CODE_USED,
                    actor=user,
                    member=audit.member_of(user),
                    detail={"left": left},
                )
                db.session.commit()
                logger.warning("User %s signed in with a recovery code (%d left)", user.id, left)
                return SignInMethod.PASSWORD_RECOVERY
    audit.record(AuditKind.SECOND_STEP_FAILED, actor=user, member=audit.member_of(user))
    db.session.commit()
    raise ValidationError(
        {
            "code": _(
                "Code incorrect, expiré ou déjà utilisé. Saisissez le code affiché par votre "
                "application ou un code de secours inutilisé."
            )
        }
    )


# -- Disabling -----------------------------------------------------------------------------


def disable(user: User, *, password: str, code: str, keep_session: int | None = None) -> None:
    """Turn two-factor off, after the password and a code (of the application or recovery);
    the user's other sessions end (``keep_session`` stays).

    :class:`PermissionDenied` where it is required (staff and member admins in production).
    """
    if required_for(user):
        raise PermissionDenied(
            _("La double authentification est obligatoire pour votre rôle : elle reste activée.")
        )
    row = _active_row(user)
    try:
        _hasher.verify(user.password_hash or "", password or "")
    except (VerificationError, InvalidHashError):
        audit.record(
            AuditKind.SECOND_STEP_FAILED,
            actor=user,
            member=audit.member_of(user),
            detail={"while": "disable", "reason": "password"},
        )
        db.session.commit()
        raise ValidationError({"password": _("Mot de passe incorrect.")}) from None
    typed = _digits(code)
    step = _matching_step(_decrypt(row.secret), typed, row.last_step)
    recovery_ok = any(
        c.used_at is None and _recovery_matches(c.code_hash, typed) for c in row.recovery_codes
    )
    if step is None and not recovery_ok:
        audit.record(
            AuditKind.SECOND_STEP_FAILED,
            actor=user,
            member=audit.member_of(user),
            detail={"while": "disable", "reason": "code"},
        )
        db.session.commit()
        raise _wrong_code()
    db.session.delete(row)
    audit.record(AuditKind.TWO_FACTOR_DISABLED, actor=user, member=audit.member_of(user))
    sessions.revoke_all_for(user, except_current=keep_session)  # commits
    logger.info("Two-factor sign-in turned off by user %s", user.id)


def reset(user: User, *, by: str) -> bool:
    """Remove ``user``'s two-factor (a lost phone, by the syndicate: ``by`` says how) and
    end their sessions; ``False`` if it was not on. The next sign-in enrols again where
    it is required."""
    row = record_for(user)
    if row is None:
        return False
    db.session.delete(row)
    audit.record(
        AuditKind.TWO_FACTOR_DISABLED,
        actor_label=by,
        member=audit.member_of(user),
        target=user.email,
        detail={"reset": True},
    )
    sessions.revoke_all_for(user)  # commits the removal with the audit line
    logger.warning("Two-factor sign-in of user %s reset (%s)", user.id, by)
    return True
