"""Probe subscriptions: a minimum package plus additional pools."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from webapp.extensions import db
from webapp.models.member import Member
from webapp.models.member import utcnow


class Subscription(db.Model):
    """What a member subscribed.

    The rules in force when it was signed are copied onto the row, so a later
    change of the syndicate's rules never rewrites past contributions.
    """

    __tablename__ = "subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), unique=True)
    package_probes: Mapped[int] = mapped_column(default=100)
    pool_size: Mapped[int] = mapped_column(default=50)
    pools: Mapped[int] = mapped_column(default=0)  # in force today (base + active orders)
    # Pools held before any order through the portal (the statement's starting point).
    base_pools: Mapped[int] = mapped_column(default=0)
    # Last usage level the member and the syndicate were told of: 0, 90 (near) or 100 (over).
    quota_level: Mapped[int] = mapped_column(default=0)
    price_per_probe_eur: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    member: Mapped[Member] = relationship(back_populates="subscription")

    @property
    def probes(self) -> int:
        return self.package_probes + self.pools * self.pool_size

    @property
    def yearly_eur(self) -> int:
        return self.probes * self.price_per_probe_eur
