"""Named choices with their French labels and display colours."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class MemberKind(enum.StrEnum):
    COMMUNE = "commune"
    EPCI = "epci"
    SCHOOL = "school"
    PUBLIC_BODY = "public_body"


MEMBER_KIND_LABELS = {
    MemberKind.COMMUNE: _l("Commune"),
    MemberKind.EPCI: _l("Intercommunalité (EPCI)"),
    MemberKind.SCHOOL: _l("Établissement scolaire"),
    MemberKind.PUBLIC_BODY: _l("Établissement public"),
}


class MemberRole(enum.StrEnum):
    VIEWER = "viewer"
    MEMBER_ADMIN = "member_admin"


MEMBER_ROLE_LABELS = {
    MemberRole.VIEWER: _l("Lecteur"),
    MemberRole.MEMBER_ADMIN: _l("Administrateur du membre"),
}


class StaffRole(enum.StrEnum):
    SUPPORT = "support"
    ADMIN = "admin"


STAFF_ROLE_LABELS = {
    StaffRole.SUPPORT: _l("Support du syndicat"),
    StaffRole.ADMIN: _l("Administrateur du syndicat"),
}


class HealthState(enum.StrEnum):
    """Overall state of a member or of one piece of equipment."""

    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"
    UNREACHABLE = "unreachable"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"


# One map read by the status macro: label, CSS modifier, icon glyph (never colour alone).
STATE_DISPLAY = {
    HealthState.OK: (_l("Fonctionne"), "ok", "✓"),
    HealthState.WARNING: (_l("Alerte"), "warning", "!"),
    HealthState.PROBLEM: (_l("En panne"), "problem", "✕"),
    HealthState.UNREACHABLE: (_l("Injoignable"), "unreachable", "⊘"),
    HealthState.MAINTENANCE: (_l("En maintenance"), "maintenance", "⚙"),
    HealthState.UNKNOWN: (_l("État inconnu"), "unknown", "?"),
}

SEVERITY_LABELS = {
    0: _l("Non classé"),
    1: _l("Information"),
    2: _l("Avertissement"),
    3: _l("Moyenne"),
    4: _l("Haute"),
    5: _l("Désastre"),
}

ROLE_LABELS = {
    "internet": _l("Internet"),
    "access": _l("Accès Internet"),
    "router": _l("Routeur"),
    "firewall": _l("Pare-feu"),
    "switch": _l("Commutateur"),
    "link": _l("Liaison inter-sites"),
    "server": _l("Serveur"),
    "nas": _l("Stockage (NAS)"),
    "camera": _l("Caméra"),
    "ap": _l("Borne Wi-Fi"),
    "printer": _l("Imprimante"),
    "phone": _l("Téléphone"),
    "other": _l("Équipement"),
}


class SupportStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


SUPPORT_STATUS_LABELS = {
    SupportStatus.OPEN: _l("Ouverte"),
    SupportStatus.CLOSED: _l("Clôturée"),
}
