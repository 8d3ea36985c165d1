"""Kiosk links: open the wall on a TV without typing a password; revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import KioskLink
from webapp.models import User
from webapp.services.errors import NotFound

PREFIX = "mur_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(name: str, created_by: User) -> tuple[str, KioskLink]:
    """Create a kiosk link; return its clear token (shown once) and its row."""
    clear = PREFIX + secrets.token_urlsafe(32)
    link = KioskLink(name=name.strip(), prefix=clear[:10], token_hash=_digest(clear),
                     created_by_id=created_by.id)
    db.session.add(link)
    db.session.commit()
    return clear, link


def authenticate(clear: str) -> KioskLink | None:
    if not clear.startswith(PREFIX) or len(clear) > 128:
        return None
    link = db.session.execute(
        select(KioskLink).where(KioskLink.token_hash == _digest(clear))
    ).scalar_one_or_none()
    if link is None or link.revoked_at is not None:
        return None
    link.last_used_at = datetime.now(UTC)
    db.session.commit()
    return link


def is_active(link_id: int | None) -> bool:
    """Whether the kiosk link stored in a session is still valid (checked on every use)."""
    if not link_id:
        return False
    link = db.session.get(KioskLink, link_id)
    return link is not None and link.revoked_at is None


def revoke(link_id: int) -> KioskLink:
    link = db.session.get(KioskLink, link_id)
    if link is None:
        raise NotFound(link_id)
    if link.revoked_at is None:
        link.revoked_at = datetime.now(UTC)
        db.session.commit()
    return link


def all_links() -> list[KioskLink]:
    return list(db.session.execute(select(KioskLink).order_by(KioskLink.created_at)).scalars())
