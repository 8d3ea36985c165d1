"""Signed-in sessions (one per device), revocable on the server."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from webapp.extensions import db
from webapp.models.member import utcnow
from webapp.models.user import User


class UserSession(db.Model):
    """One sign-in of a user on a device: the browser's cookie holds only its random id.

    Only the id's SHA-256 digest is stored. The limits are fixed when it starts, from
    the user's role (``webapp.services.sessions.policy_for``): ``expires_at`` (absolute)
    and ``idle_seconds`` (since ``last_seen_at``, written at most once a minute).
    ``stamp`` is a digest of what the user could do then (password, active, roles): a
    change of any of them ends the session. ``device`` and ``ip_prefix`` are what the
    profile page shows (« Firefox sur Android », ``192.0.2.0/24``), never a full address.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    idle_seconds: Mapped[int]
    persistent: Mapped[bool] = mapped_column(default=False)  # the cookie outlives the browser
    stamp: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(120), default="")
    ip_prefix: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]
    # logout, ended_by_user, password, credentials, idle, expired (webapp.services.sessions)
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
    # How the user proved who they are: password, password+totp, password+recovery,
    # proconnect (webapp.models.choices.SignInMethod).
    method: Mapped[str] = mapped_column(String(20), default="password", server_default="password")

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of user {self.user_id}>"
