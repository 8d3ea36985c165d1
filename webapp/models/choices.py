"""Named choices with their French labels and display colours.

States, severities and roles are the pure side's vocabulary (:mod:`topology.model`),
which sources and the live pipeline use too; their words and colours are mapped
here, once, keyed by those enums.
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

from topology.model import NodeState
from topology.model import Role
from topology.model import Severity


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


# Every state a piece of equipment or a member shows: a member's (topology.model.MemberState)
# are some of a node's.
HealthState = NodeState


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
    Severity.NOT_CLASSIFIED: _l("Non classé"),
    Severity.INFORMATION: _l("Information"),
    Severity.WARNING: _l("Avertissement"),
    Severity.AVERAGE: _l("Moyenne"),
    Severity.HIGH: _l("Haute"),
    Severity.DISASTER: _l("Désastre"),
}

ROLE_LABELS = {
    Role.INTERNET: _l("Internet"),
    Role.ACCESS: _l("Accès Internet"),
    Role.ROUTER: _l("Routeur"),
    Role.FIREWALL: _l("Pare-feu"),
    Role.SWITCH: _l("Commutateur"),
    Role.LINK: _l("Liaison inter-sites"),
    Role.SERVER: _l("Serveur"),
    Role.NAS: _l("Stockage (NAS)"),
    Role.CAMERA: _l("Caméra"),
    Role.AP: _l("Borne Wi-Fi"),
    Role.PRINTER: _l("Imprimante"),
    Role.PHONE: _l("Téléphone"),
    Role.OTHER: _l("Équipement"),
}


class SupportStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


SUPPORT_STATUS_LABELS = {
    SupportStatus.OPEN: _l("Ouverte"),
    SupportStatus.CLOSED: _l("Clôturée"),
}
