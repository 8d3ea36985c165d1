"""The syndicate's pricing rules (decision CSD 2024-314) and the amounts they give.

Pure functions on plain values: every amount is integer cents. The rules in force
are read from the configuration once per decision (:func:`current_rules`) and copied
onto what they price (an order), so that a later change never rewrites a past amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP
from decimal import Decimal
from decimal import InvalidOperation

from flask import current_app

__all__ = [
    "Quote",
    "Rules",
    "current_rules",
    "euros_to_cents",
    "months_remaining",
    "prorated_cents",
    "quote",
]

MONTHS = 12


@dataclass(frozen=True)
class Rules:
    price_per_probe_cents: int
    package_probes: int
    pool_size: int
    prorata: bool
    max_pools_per_order: int


@dataclass(frozen=True)
class Quote:
    """What ordering ``pools`` pools adds: probes, yearly amount, this year's amount."""

    pools: int
    probes: int
    yearly_cents: int
    months: int  # months of the current year charged
    this_year_cents: int


def euros_to_cents(value: object) -> int:
    """``1`` → 100, ``"1,50"`` → 150; a clear ``ValueError`` for anything else.

    >>> euros_to_cents("1,50"), euros_to_cents(2)
    (150, 200)
    """
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount in euros: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not an amount in euros: {value!r}")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def current_rules() -> Rules:
    """The rules in force, from the configuration."""
    config = current_app.config
    return Rules(
        price_per_probe_cents=euros_to_cents(config["PRICE_PER_PROBE_EUR"]),
        package_probes=int(config["MIN_PACKAGE_PROBES"]),
        pool_size=int(config["POOL_SIZE_PROBES"]),
        prorata=_flag(config["POOL_PRORATA"]),
        max_pools_per_order=int(config["POOL_MAX_PER_ORDER"]),
    )


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "oui")
    return bool(value)


def months_remaining(day: date) -> int:
    """Months of ``day``'s year from its month on (its month counts in full).

    >>> months_remaining(date(2026, 3, 15)), months_remaining(date(2026, 12, 31))
    (10, 1)
    """
    return MONTHS - day.month + 1


def prorated_cents(probes: int, price_per_probe_cents: int, months: int) -> int:
    """``probes`` at ``price`` a year, for ``months`` twelfths, rounded half up to the cent.

    >>> prorated_cents(50, 100, 10)  # 5,000 × 10 / 12 = 4,166.67
    4167
    >>> prorated_cents(50, 100, 12)
    5000
    """
    cents = Decimal(probes * price_per_probe_cents * months) / MONTHS
    return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def quote(rules: Rules, pools: int, today: date) -> Quote:
    """What ordering ``pools`` pools on ``today`` adds, under ``rules``."""
    probes = pools * rules.pool_size
    months = months_remaining(today) if rules.prorata else MONTHS
    return Quote(
        pools=pools,
        probes=probes,
        yearly_cents=probes * rules.price_per_probe_cents,
        months=months,
        this_year_cents=prorated_cents(probes, rules.price_per_probe_cents, months),
    )


def pools_to_cover(used: int, subscribed: int, pool_size: int) -> int:
    """Pools to add so that ``used`` probes fit: 0 when they already do.

    >>> pools_to_cover(520, 500, 50), pools_to_cover(400, 500, 50)
    (1, 0)
    """
    if used <= subscribed or pool_size <= 0:
        return 0
    return math.ceil((used - subscribed) / pool_size)
