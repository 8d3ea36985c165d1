"""Probe pools: orders of additional pools (or reductions), agreements, daily usage.

The syndicate's rules in force when an order is made (price per probe, pool size,
pro rata) are copied onto the order, so a later change of the rules never rewrites a
past contribution. Amounts are integer cents.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import deferred
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from webapp.extensions import db
from webapp.models.choices import OrderKind
from webapp.models.choices import OrderState
from webapp.models.member import Member
from webapp.models.member import utcnow
from webapp.models.user import User


class PoolOrder(db.Model):
    """A member's order of ``pools`` additional pools (``add``) or fewer (``reduce``).

    ``add``: requested → approved by a syndicate administrator → active at once (the
    subscription grows on ``effective_on``, the approval day). ``reduce``: approved,
    then active on ``effective_on`` (the next 1 January). ``rejected`` carries a reason;
    ``cancelled``: withdrawn by the member while requested. ``idempotency_key`` (unique
    per member) and ``request_hash`` make a repeated submission return the same order.
    """

    __tablename__ = "pool_order"
    __table_args__ = (
        UniqueConstraint("member_id", "idempotency_key", name="uq_pool_order_idempotency"),
        Index("ix_pool_order_state", "state", "requested_at"),
        # One order of each kind waits for approval per member: two tabs, two keys, one order.
        Index(
            "uq_pool_order_one_pending",
            "member_id",
            "kind",
            unique=True,
            sqlite_where=text("state = 'requested'"),
            postgresql_where=text("state = 'requested'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default=OrderKind.ADD)
    pools: Mapped[int]
    state: Mapped[str] = mapped_column(String(12), default=OrderState.REQUESTED)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)  # the member's words, if any
    reason: Mapped[str | None] = mapped_column(Text)  # why it was rejected
    # Rules copied when the order is made (never read again from the configuration).
    pool_size: Mapped[int]
    price_per_probe_cents: Mapped[int]
    prorata: Mapped[bool] = mapped_column(default=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    effective_on: Mapped[date | None]  # the day it is (or will be) in force

    member: Mapped[Member] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def probes(self) -> int:
        return self.pools * self.pool_size

    @property
    def signed_pools(self) -> int:
        """Pools this order adds to the subscription once active (negative: a reduction)."""
        return self.pools if self.kind == OrderKind.ADD else -self.pools

    def __repr__(self) -> str:
        return f"<PoolOrder {self.id} {self.kind} {self.pools} {self.state}>"


class Agreement(db.Model):
    """A member's supervision agreement (convention), recorded by the syndicate.

    The current one is signed (``signed_on`` not in the future) and not past its
    ``renewal_on``; a member without one cannot order pools. The signed document is
    kept in the database (a PDF, checked by size and type), loaded only when asked.
    """

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str | None] = mapped_column(String(80))
    signed_on: Mapped[date]
    renewal_on: Mapped[date]
    package_probes: Mapped[int] = mapped_column(default=100)
    document_name: Mapped[str | None] = mapped_column(String(255))
    document_size: Mapped[int | None]
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    member: Mapped[Member] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    def is_current(self, today: date) -> bool:
        return self.signed_on <= today <= self.renewal_on


class ProbeUsageDay(db.Model):
    """Probes used and subscribed by one member on one day (the trend; the poller writes it)."""

    __tablename__ = "probe_usage_day"
    __table_args__ = (UniqueConstraint("member_id", "day", name="uq_probe_usage_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    day: Mapped[date]
    used: Mapped[int]
    subscribed: Mapped[int]
