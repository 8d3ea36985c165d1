"""Two-factor sign-in: a user's TOTP authenticator and its single-use recovery codes."""

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


class TwoFactor(db.Model):
    """A user's authenticator application (TOTP, RFC 6238), one per user.

    ``secret`` is the base32 secret encrypted with Fernet (``webapp.services.two_factor``),
    never stored or shown in clear once confirmed. Until ``confirmed_at`` is set the
    enrolment is pending and the factor is not asked at sign-in. ``last_step`` is the
    time step (30 s) of the last code accepted: that code and older ones are refused.
    """

    __tablename__ = "two_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), unique=True
    )
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    last_step: Mapped[int | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="two_factor", cascade="all, delete-orphan", order_by="RecoveryCode.id"
    )

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None

    def __repr__(self) -> str:
        return f"<TwoFactor of user {self.user_id}>"


class RecoveryCode(db.Model):
    """One single-use recovery code: only its argon2 hash (salted per code) is stored."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    two_factor_id: Mapped[int] = mapped_column(
        ForeignKey("two_factor.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None]

    two_factor: Mapped[TwoFactor] = relationship(back_populates="recovery_codes")
