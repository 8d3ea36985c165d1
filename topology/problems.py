"""What a problem is about, read from its trigger name, and how much it hurts.

Zabbix names a problem for the technician who wrote the trigger (« Unavailable by ICMP
ping », « Interface Gi0/1(): Link down », « Espace disque faible sur NAS (92 % utilisés) »).
People in a town hall need to know what it means for them. This module only *classifies*:
a :class:`ProblemKind` from the name (French and English templates alike) and an
:class:`Impact` from the severity. The words are the portal's (``webapp.presenters.problems``),
so the poller, which has no reader and no language, can publish the same classification.

The patterns are tried in order: the first that matches wins, so the specific ones
(a link, a port, a disk) come before the general « not answering ».
"""

from __future__ import annotations

import enum
import re

from topology.model import Severity

__all__ = ["Impact", "ProblemKind", "classify", "impact_of"]


class ProblemKind(enum.StrEnum):
    """What a problem is about."""

    LINK = "link"  # a link or a network port is down
    DOWN = "down"  # the device does not answer
    DISK = "disk"
    MEMORY = "memory"
    CPU = "cpu"
    TONER = "toner"
    SLOW = "slow"  # slow answers, lost packets
    RESTART = "restart"
    TEMPERATURE = "temperature"
    POWER = "power"  # mains, UPS, battery
    CERTIFICATE = "certificate"
    OTHER = "other"


class Impact(enum.StrEnum):
    """How much the problem hurts the service, from its severity."""

    INTERRUPTED = "interrupted"  # disaster, high
    DEGRADED = "degraded"  # average, warning
    WATCH = "watch"  # information, not classified


def _any(*words: str) -> re.Pattern[str]:
    return re.compile("|".join(words), re.IGNORECASE)


_PATTERNS: tuple[tuple[ProblemKind, re.Pattern[str]], ...] = (
    (
        ProblemKind.CERTIFICATE,
        _any(r"certifica", r"\bssl\b", r"\btls\b"),
    ),
    (
        ProblemKind.LINK,
        _any(
            r"\bliaison",
            r"\blink down",
            r"\blien\b.*\b(coup|down)",
            r"interface\b.*\bdown",
            r"\bport\b.*\b(down|coup|désactiv)",
            r"operational status",
        ),
    ),
    (
        ProblemKind.POWER,
        _any(
            r"\bups\b",
            r"onduleur",
            r"alimentation",
            r"\bpower\b",
            r"\bbatter",
            r"secteur",
            r"\bpsu\b",
        ),
    ),
    (
        ProblemKind.TEMPERATURE,
        _any(r"temp[ée]rature", r"overheat", r"surchauffe", r"\bfan\b", r"ventilat"),
    ),
    (
        ProblemKind.DISK,
        _any(
            r"disque",
            r"\bdisk",
            r"free (disk )?space",
            r"espace (disque|libre)",
            r"\bvolume\b",
            r"\braid\b",
            r"stockage",
            r"\binodes?\b",
        ),
    ),
    (
        ProblemKind.MEMORY,
        _any(r"m[ée]moire", r"\bmemory\b", r"\bswap\b", r"\bram\b"),
    ),
    (
        ProblemKind.CPU,
        _any(r"\bcpu\b", r"processeur", r"load average", r"charge (processeur|système|élevée)"),
    ),
    (
        ProblemKind.TONER,
        _any(r"\btoner", r"cartouche", r"\bink\b", r"\bencre\b", r"papier", r"\bpaper\b"),
    ),
    (
        ProblemKind.RESTART,
        _any(r"restarted", r"red[ée]marr", r"\breboot", r"has been restarted"),
    ),
    (
        ProblemKind.SLOW,
        _any(
            r"temps de réponse",
            r"response time",
            r"\blatenc",
            r"packet loss",
            r"ping loss",
            r"perte de paquets",
            r"\blent",
            r"\bslow\b",
        ),
    ),
    (
        ProblemKind.DOWN,
        _any(
            r"ne répond plus",
            r"ne répond pas",
            r"unavailable",
            r"unreachable",
            r"not available",
            r"injoignable",
            r"hors ligne",
            r"hors service",
            r"offline",
            r"\bdown\b",
            r"\bno (snmp )?data",
            r"no ping",
            r"\bicmp\b",
        ),
    ),
)


def classify(name: str, role: str = "other") -> ProblemKind:
    """The kind of a problem from its trigger name (``OTHER`` when nothing is recognised)
    on a device of ``role``: an inter-site link that does not answer is a link cut."""
    for kind, pattern in _PATTERNS:
        if pattern.search(name):
            if kind == ProblemKind.DOWN and role == "link":
                return ProblemKind.LINK
            return kind
    return ProblemKind.OTHER


def impact_of(severity: Severity | int) -> Impact:
    """Disaster and high interrupt the service; average and warning disturb it; the rest is
    to be watched."""
    severity = int(severity)
    if severity >= Severity.HIGH:
        return Impact.INTERRUPTED
    if severity >= Severity.WARNING:
        return Impact.DEGRADED
    return Impact.WATCH
