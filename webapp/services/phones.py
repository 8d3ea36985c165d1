"""Users' mobile numbers: E.164 normalisation and confirmation by a code sent by SMS.

A number receives alerts only once confirmed: :func:`request_code` stores the number
(unconfirmed) and queues a 6-digit code to it through the outbox; :func:`confirm`
checks what the user types (5 tries, 10 minutes). Only an HMAC of the code is kept,
bound to the user and the number, so a code sent to one number never confirms another.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from phonenumbers import NumberParseException
from phonenumbers import PhoneNumberFormat
from phonenumbers import PhoneNumberType
from sqlalchemy import func
from sqlalchemy import select

from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models import User
from webapp.models.member import as_utc
from webapp.models.member import utcnow
from webapp.services import outbox
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "CODE_KIND",
    "CODE_LENGTH",
    "CODE_MAX_ATTEMPTS",
    "CODE_RESEND_AFTER",
    "CODE_VALIDITY",
    "CODES_PER_DAY",
    "PhoneStatus",
    "confirm",
    "display",
    "normalise",
    "request_code",
    "set_number",
    "status",
]

DEFAULT_REGION = "FR"
CODE_KIND = "phone_code"
CODE_LENGTH = 6
CODE_MAX_ATTEMPTS = 5
CODE_VALIDITY = timedelta(minutes=10)
CODE_RESEND_AFTER = timedelta(seconds=60)
CODES_PER_DAY = 10  # an SMS costs: a user cannot make the server text anyone all day
# What people type in a number: digits, a leading +, and separators (no letters, no
# « ext. », which phonenumbers would otherwise read).
_TYPED = re.compile(r"^\+?[0-9 .()/\u00a0\u202f-]+$")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


@dataclass(frozen=True)
class PhoneStatus:
    """What the profile shows about the user's number."""

    number: str | None  # E.164
    display: str | None  # « 06 12 34 56 78 » in France, international format elsewhere
    confirmed: bool
    code_pending: bool  # a code was sent and may still be typed
    resend_in_s: int  # seconds before another code may be asked (0: now)
    sms_available: bool  # an SMS provider is configured on this server


def normalise(raw: str | None, region: str = DEFAULT_REGION) -> str:
    """The E.164 form of a mobile number typed by a person (« 06 12 34 56 78 »).

    Raises :class:`ValidationError` (field ``phone``) with a French message.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError({"phone": _("Indiquez un numéro de téléphone mobile.")})
    invalid = _("Numéro de téléphone invalide : écrivez par exemple 06 12 34 56 78.")
    if len(text) > 32 or not _TYPED.match(text):
        raise ValidationError({"phone": invalid})
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise ValidationError({"phone": invalid}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": invalid})
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValidationError(
            {"phone": _("Ce numéro n’est pas un mobile : les SMS ne peuvent pas y être envoyés.")}
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display(e164: str | None) -> str | None:
    """A stored number as people read it: national in France, international elsewhere."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164  # a legacy value: shown as it is
    region = phonenumbers.region_code_for_number(number)
    fmt = (
        PhoneNumberFormat.NATIONAL if region == DEFAULT_REGION else PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def _sms_available() -> bool:
    return bool(current_app.config.get("SMS_PROVIDER"))


def _code_live(user: User, now: datetime) -> bool:
    return (
        user.phone_code_hash is not None
        and user.phone_code_sent_at is not None
        and as_utc(user.phone_code_sent_at) + CODE_VALIDITY > now
        and (user.phone_code_attempts or 0) < CODE_MAX_ATTEMPTS
    )


def status(user: User, now: datetime | None = None) -> PhoneStatus:
    """The state of ``user``'s number for the profile pages."""
    now = now or utcnow()
    wait = 0
    if user.phone_code_sent_at is not None:
        remaining = as_utc(user.phone_code_sent_at) + CODE_RESEND_AFTER - now
        wait = max(0, int(remaining.total_seconds() + 0.999))
    return PhoneStatus(
        number=user.phone,
        display=display(user.phone),
        confirmed=bool(user.phone and user.phone_confirmed_at),
        code_pending=bool(user.phone) and _code_live(user, now),
        resend_in_s=wait,
        sms_available=_sms_available(),
    )


def _forget_code(user: User) -> None:
    user.phone_code_hash = None
    user.phone_code_attempts = 0


def set_number(user: User, e164: str | None) -> bool:
    """Store ``e164`` (already normalised) on ``user``; a change un-confirms it.

    The caller commits. Returns whether the number changed.
    """
    e164 = e164 or None
    if e164 == user.phone:
        return False
    user.phone = e164
    user.phone_confirmed_at = None
    _forget_code(user)
    logger.info("User %s changed their phone number (unconfirmed)", user.id)
    return True


def _digest(user: User, number: str, code: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = f"phone-code|{user.id}|{number}|{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _codes_today(user: User, now: datetime) -> int:
    return db.session.scalar(
        select(func.count(Delivery.id)).where(
            Delivery.user_id == user.id,
            Delivery.kind == CODE_KIND,
            Delivery.created_at > now - timedelta(days=1),
        )
    )


def request_code(user: User, raw_number: str | None, now: datetime | None = None) -> str:
    """Store ``raw_number`` on ``user`` (unconfirmed) and queue a code to it by SMS.

    Returns the E.164 number. Raises :class:`ValidationError` (field ``phone``) when the
    number is refused, when no SMS can be sent from this server, or when a code was sent
    less than a minute ago (or too many today). Commits.
    """
    now = now or utcnow()
    e164 = normalise(raw_number)
    if not _sms_available():
        raise ValidationError({"phone": _("L’envoi de SMS n’est pas configuré sur ce serveur.")})
    if user.phone == e164 and user.phone_confirmed_at is not None:
        raise ValidationError({"phone": _("Ce numéro est déjà confirmé.")})
    wait = status(user, now).resend_in_s
    if wait > 0:
        raise ValidationError(
            {
                "phone": ngettext(
                    "Un code vient d’être envoyé : attendez %(num)d seconde avant d’en "
                    "demander un autre.",
                    "Un code vient d’être envoyé : attendez %(num)d secondes avant d’en "
                    "demander un autre.",
                    wait,
                )
            }
        )
    if _codes_today(user, now) >= CODES_PER_DAY:
        raise ValidationError(
            {"phone": _("Trop de codes demandés aujourd’hui : réessayez demain.")}
        )
    set_number(user, e164)
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    user.phone_code_hash = _digest(user, e164, code)
    user.phone_code_sent_at = now
    user.phone_code_attempts = 0
    text = _("Vigie : votre code de confirmation est %(code)s", code=code)
    outbox.enqueue(
        key=f"phone-code-{user.id}-{secrets.token_hex(8)}",
        user=user,
        channel=ChannelName.SMS,
        kind=CODE_KIND,
        subject=_("Code de confirmation de votre numéro"),
        body=text,
        data={"to": e164, "sms": text},
    )
    db.session.commit()
    logger.info("Phone confirmation code queued for user %s", user.id)
    return e164


def confirm(user: User, code: str | None, now: datetime | None = None) -> None:
    """Confirm ``user``'s number with the ``code`` they received.

    Raises :class:`ValidationError` (field ``code``): wrong code (a try used), too many
    tries, expired, or no code asked. Commits.
    """
    now = now or utcnow()
    typed = "".join((code or "").split())
    if not user.phone or user.phone_code_hash is None or user.phone_code_sent_at is None:
        raise ValidationError({"code": _("Aucun code en attente : demandez d’abord un code.")})
    if as_utc(user.phone_code_sent_at) + CODE_VALIDITY <= now:
        _forget_code(user)
        db.session.commit()
        raise ValidationError({"code": _("Ce code a expiré : demandez-en un nouveau.")})
    if (user.phone_code_attempts or 0) >= CODE_MAX_ATTEMPTS:
        _forget_code(user)
        db.session.commit()
        raise ValidationError({"code": _("Trop d’essais : demandez un nouveau code.")})
    if len(typed) != CODE_LENGTH or not typed.isascii() or not typed.isdigit():
        raise ValidationError({"code": _("Le code compte 6 chiffres.")})
    expected = user.phone_code_hash
    if not hmac.compare_digest(_digest(user, user.phone, typed), expected):
        user.phone_code_attempts = (user.phone_code_attempts or 0) + 1
        left = CODE_MAX_ATTEMPTS - user.phone_code_attempts
        if left <= 0:
            _forget_code(user)
            db.session.commit()
            raise ValidationError(
                {"code": _("Code incorrect. Trop d’essais : demandez un nouveau code.")}
            )
        db.session.commit()
        raise ValidationError(
            {
                "code": ngettext(
                    "Code incorrect. Il vous reste %(num)d essai.",
                    "Code incorrect. Il vous reste %(num)d essais.",
                    left,
                )
            }
        )
    user.phone_confirmed_at = now
    _forget_code(user)
    db.session.commit()
    logger.info("User %s confirmed their phone number", user.id)
