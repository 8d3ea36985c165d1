"""Probes used against probes subscribed, and what a member contributes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from webapp.models import Member


@dataclass(frozen=True)
class Usage:
    """Probe usage of a member against its subscription."""

    used: int | None
    subscribed: int
    pools: int
    pool_size: int
    yearly_eur: int

    @property
    def percent(self) -> int | None:
        if self.used is None or not self.subscribed:
            return None
        return round(100 * self.used / self.subscribed)

    @property
    def over(self) -> bool:
        return self.used is not None and self.used > self.subscribed

    @property
    def pools_needed(self) -> int:
        """Extra pools to order so that ``used`` fits the subscription."""
        if not self.over or not self.pool_size:
            return 0
        return math.ceil((self.used - self.subscribed) / self.pool_size)


def usage(member: Member, used: int | None) -> Usage:
    sub = member.subscription
    if sub is None:
        return Usage(used=used, subscribed=0, pools=0, pool_size=0, yearly_eur=0)
    return Usage(
        used=used,
        subscribed=sub.probes,
        pools=sub.pools,
        pool_size=sub.pool_size,
        yearly_eur=sub.yearly_eur,
    )


def required_subscription(used: int, minimum: int, pool_size: int) -> tuple[int, int]:
    """Pools needed and probes subscribed for ``used`` probes under the given rules.

    >>> required_subscription(80, 100, 50)
    (0, 100)
    >>> required_subscription(101, 100, 50)
    (1, 150)
    >>> required_subscription(490, 100, 50)
    (8, 500)
    """
    pools = max(0, math.ceil((used - minimum) / pool_size)) if pool_size else 0
    return pools, minimum + pools * pool_size
