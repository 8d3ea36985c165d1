"""Kiosk links: open the wall on a TV without typing a password; revocable."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.live import events
from webapp.models import KioskLink
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.services import audit
from webapp.services.errors import NotFound

logger = logging.getLogger(__name__)

PREFIX = "mur_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(name: str, created_by: User) -> tuple[str, KioskLink]:
    """Create a kiosk link; return its clear token (shown once) and its row."""
    clear = PREFIX + secrets.token_urlsafe(32)
    link = KioskLink(
        name=name.strip(), prefix=clear[:10], token_hash=_digest(clear), created_by_id=created_by.id
    )
    db.session.add(link)
    db.session.flush()  # its id, for the audit line
    audit.record(
        AuditKind.KIOSK_CREATED,
        actor=created_by,
        target=f"kiosk {link.id}",
        detail={"name": link.name, "prefix": link.prefix},
    )
    db.session.commit()
    logger.info("Kiosk link %s (%r) created by %s", link.id, link.name, created_by.email)
    return clear, link


def entry_url(clear: str) -> str:
    """The full address a TV opens once to become a kiosk (``BASE_URL`` + entry path)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return base + current_app.url_map.bind("vigie").build("wall.kiosk_entry", {"token": clear})


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


def revoke(link_id: int, revoked_by: User | None = None) -> KioskLink:
    """Revoke a link: its sessions lose the wall on their next request or check."""
    link = db.session.get(KioskLink, link_id)
    if link is None:
        raise NotFound(link_id)
    if link.revoked_at is None:
        link.revoked_at = datetime.now(UTC)
        audit.record(
            AuditKind.KIOSK_REVOKED,
            actor=revoked_by,
            target=f"kiosk {link.id}",
            detail={"name": link.name, "prefix": link.prefix},
        )
        db.session.commit()
        logger.info(
            "Kiosk link %s revoked by %s", link.id, revoked_by.email if revoked_by else "system"
        )
        # Open walls re-check their access at once (the pages refuse the revoked session).
        events.publish("kiosk.revoked", {"kiosk": link.id}, events.WALL_ROOM)
    return link


def all_links() -> list[KioskLink]:
    return list(db.session.execute(select(KioskLink).order_by(KioskLink.created_at)).scalars())
