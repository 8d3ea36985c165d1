"""Personal API tokens: shown once, stored as SHA-256 digests, revocable."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ApiToken
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.services import audit
from webapp.services import production
from webapp.services.errors import NotFound

logger = logging.getLogger(__name__)

PREFIX = "vigie_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(user: User, name: str) -> tuple[str, ApiToken]:
    """Create a token; return its clear value (never stored) and its row."""
    clear = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name.strip(), prefix=clear[:12], token_hash=_digest(clear))
    db.session.add(token)
    db.session.flush()  # its id, for the audit line
    audit.record(
        AuditKind.TOKEN_CREATED,
        actor=user,
        member=audit.member_of(user),
        target=f"token {token.id}",
        detail={"name": token.name, "prefix": token.prefix},
    )
    db.session.commit()
    return clear, token


def authenticate(clear: str) -> User | None:
    """Return the active user owning the unrevoked token ``clear`` (never a demo account
    in production)."""
    if not clear.startswith(PREFIX) or len(clear) > 128:
        return None
    token = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _digest(clear))
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if production.refuses(token.user):
        logger.warning(
            "Refused API token %s of demo account %s in production", token.id, token.user_id
        )
        return None
    now = datetime.now(UTC)
    last = token.last_used_at
    if last is None or now - last.replace(tzinfo=last.tzinfo or UTC) > timedelta(minutes=1):
        token.last_used_at = now
        db.session.commit()
    return token.user


def revoke(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(token_id)
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        audit.record(
            AuditKind.TOKEN_REVOKED,
            actor=user,
            member=audit.member_of(user),
            target=f"token {token.id}",
            detail={"name": token.name, "prefix": token.prefix},
        )
        db.session.commit()
    return token
