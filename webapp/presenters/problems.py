"""Problems in plain French: what is wrong and what it means, not the trigger's name.

A member reads « Ne répond plus · Service interrompu — Le commutateur ne répond plus : ce
qui y est branché est probablement coupé du réseau. » Support also gets the source's own
wording (« Commutateur 1 ne répond plus (ICMP) », « Gravité Zabbix : Haute »), folded.
The classification is pure (:mod:`topology.problems`); the words are here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from topology.model import ProblemInfo
from topology.problems import Impact
from topology.problems import ProblemKind
from topology.problems import classify
from topology.problems import impact_of
from webapp.models.choices import SEVERITY_LABELS

__all__ = ["IMPACT_LABELS", "KIND_TITLES", "ProblemText", "describe", "describe_all", "title_of"]

KIND_TITLES = {
    ProblemKind.LINK: _l("Liaison coupée"),
    ProblemKind.DOWN: _l("Ne répond plus"),
    ProblemKind.DISK: _l("Stockage presque plein"),
    ProblemKind.MEMORY: _l("Mémoire saturée"),
    ProblemKind.CPU: _l("Équipement surchargé"),
    ProblemKind.TONER: _l("Consommable à remplacer"),
    ProblemKind.SLOW: _l("Réponses lentes"),
    ProblemKind.RESTART: _l("A redémarré"),
    ProblemKind.TEMPERATURE: _l("Température trop élevée"),
    ProblemKind.POWER: _l("Alimentation électrique"),
    ProblemKind.CERTIFICATE: _l("Certificat de sécurité à renouveler"),
    ProblemKind.OTHER: _l("Problème signalé"),
}

IMPACT_LABELS = {
    Impact.INTERRUPTED: _l("Service interrompu"),
    Impact.DEGRADED: _l("Service perturbé"),
    Impact.WATCH: _l("À surveiller"),
}

# A device that does not answer: what its role means for the people who use it.
_DOWN_MEANINGS = {
    "access": _l("L’accès Internet ne répond plus : le site est probablement coupé d’Internet."),
    "router": _l(
        "Le routeur ne répond plus : le site n’a probablement plus accès à Internet ni aux "
        "autres sites."
    ),
    "firewall": _l("Le pare-feu ne répond plus : le site n’a probablement plus accès à Internet."),
    "link": _l("La liaison est coupée : les sites qu’elle relie ne communiquent plus."),
    "switch": _l(
        "Le commutateur ne répond plus : ce qui y est branché est probablement coupé du réseau."
    ),
    "server": _l(
        "Le serveur ne répond plus : les applications et fichiers qu’il héberge sont "
        "probablement indisponibles."
    ),
    "nas": _l(
        "Le stockage réseau ne répond plus : les fichiers partagés et les sauvegardes sont "
        "probablement inaccessibles."
    ),
    "camera": _l("La caméra ne répond plus : elle n’enregistre probablement plus d’images."),
    "ap": _l("La borne Wi-Fi ne répond plus : le Wi-Fi est probablement coupé à cet endroit."),
    "printer": _l("L’imprimante ne répond plus : on ne peut pas imprimer dessus pour le moment."),
    "phone": _l("Le téléphone ne répond plus : il ne peut probablement ni appeler ni être appelé."),
}
_DOWN_OTHER = _l("L’équipement ne répond plus.")

_MEANINGS = {
    ProblemKind.LINK: _l(
        "Un port réseau de cet équipement est coupé : ce qui y est branché est peut-être "
        "injoignable."
    ),
    ProblemKind.DISK: _l(
        "Le stockage de cet équipement est presque plein : les nouveaux fichiers, "
        "enregistrements ou sauvegardes risquent de ne plus être gardés."
    ),
    ProblemKind.MEMORY: _l("Cet équipement manque de mémoire : il peut ralentir ou s’arrêter."),
    ProblemKind.CPU: _l("Cet équipement est très sollicité : il peut être lent."),
    ProblemKind.TONER: _l(
        "L’imprimante manquera bientôt d’encre ou de papier : prévoyez le remplacement."
    ),
    ProblemKind.SLOW: _l(
        "Cet équipement répond lentement : le réseau ou les applications peuvent sembler lents."
    ),
    ProblemKind.RESTART: _l(
        "Cet équipement vient de redémarrer : il y a peut-être eu une courte coupure."
    ),
    ProblemKind.TEMPERATURE: _l(
        "Cet équipement chauffe trop : vérifiez que le local est aéré et que rien ne bouche "
        "ses aérations."
    ),
    ProblemKind.POWER: _l(
        "Un souci d’alimentation électrique est signalé (secteur, onduleur ou batterie) : "
        "l’équipement risque de s’arrêter."
    ),
    ProblemKind.CERTIFICATE: _l(
        "Un certificat de sécurité expire bientôt ou n’est plus valable : le support doit le "
        "renouveler pour éviter des avertissements ou des coupures."
    ),
    ProblemKind.OTHER: _l("Un problème technique est signalé sur cet équipement."),
}


@dataclass(frozen=True, slots=True)
class ProblemText:
    """One problem as a page shows it: plain words first, the source's wording for support."""

    eventid: str
    kind: str
    title: str
    meaning: str
    impact: str
    impact_label: str
    since: datetime
    acknowledged: bool
    technical: str  # the source's own name of the problem
    severity_label: str  # the source's severity, for support


def _meaning(kind: ProblemKind, role: str) -> str:
    if kind == ProblemKind.DOWN or (kind == ProblemKind.LINK and role in ("link", "access")):
        return str(_DOWN_MEANINGS.get(role, _DOWN_OTHER))
    return str(_MEANINGS[kind])


def title_of(name: str, role: str = "other") -> str:
    """The short plain title of a problem named ``name`` on a device of ``role``."""
    return str(KIND_TITLES[classify(name, role)])


def describe(problem: ProblemInfo, role: str) -> ProblemText:
    """A problem of a device whose role is ``role``, in plain words."""
    kind = classify(problem.name, role)
    impact = impact_of(problem.severity)
    return ProblemText(
        eventid=problem.eventid,
        kind=kind.value,
        title=str(KIND_TITLES[kind]),
        meaning=_meaning(kind, role),
        impact=impact.value,
        impact_label=str(IMPACT_LABELS[impact]),
        since=problem.since,
        acknowledged=problem.acknowledged,
        technical=problem.name,
        severity_label=str(SEVERITY_LABELS.get(problem.severity, "")),
    )


def describe_all(problems: Iterable[ProblemInfo], role: str) -> list[ProblemText]:
    """Every problem of one device, the most severe first (then the oldest)."""
    ordered = sorted(problems, key=lambda p: (-int(p.severity), p.since))
    return [describe(p, role) for p in ordered]


def live_texts() -> dict[str, dict[str, str]]:
    """The titles and impacts a live script writes (the poller publishes kinds and impacts)."""
    return {
        "problem_titles": {kind.value: str(title) for kind, title in KIND_TITLES.items()},
        "impacts": {impact.value: str(label) for impact, label in IMPACT_LABELS.items()},
    }
