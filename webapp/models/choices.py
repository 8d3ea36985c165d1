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
    """A support request's life: new → in progress ⇄ waiting for the member → resolved → closed."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_MEMBER = "waiting_member"  # the clock of support stops meanwhile
    RESOLVED = "resolved"  # the member may reopen it for SUPPORT_REOPEN_DAYS
    CLOSED = "closed"


# Label, CSS modifier, icon (never colour alone), as STATE_DISPLAY.
SUPPORT_STATUS_DISPLAY = {
    SupportStatus.NEW: (_l("Nouvelle"), "warning", "●"),
    SupportStatus.IN_PROGRESS: (_l("En cours"), "info", "▶"),
    SupportStatus.WAITING_MEMBER: (_l("En attente du membre"), "warning", "…"),
    SupportStatus.RESOLVED: (_l("Résolue"), "ok", "✓"),
    SupportStatus.CLOSED: (_l("Fermée"), "unknown", "–"),
}
SUPPORT_STATUS_LABELS = {
    status: label for status, (label, _c, _i) in SUPPORT_STATUS_DISPLAY.items()
}
# Statuses in which a request is still on support's (or the member's) desk.
SUPPORT_OPEN_STATUSES = (
    SupportStatus.NEW,
    SupportStatus.IN_PROGRESS,
    SupportStatus.WAITING_MEMBER,
)


class SupportUrgency(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


SUPPORT_URGENCY_LABELS = {
    SupportUrgency.LOW: _l("Basse"),
    SupportUrgency.NORMAL: _l("Normale"),
    SupportUrgency.HIGH: _l("Haute"),
    SupportUrgency.CRITICAL: _l("Critique"),
}
SUPPORT_URGENCY_RANK = {urgency: rank for rank, urgency in enumerate(SupportUrgency)}

# Default categories (SUPPORT_CATEGORIES may replace them): code -> label.
SUPPORT_CATEGORY_LABELS = {
    "outage": _l("Panne"),
    "slowness": _l("Lenteur"),
    "probe": _l("Demande de sonde"),
    "question": _l("Question"),
    "other": _l("Autre"),
}


class SupportEntryKind(enum.StrEnum):
    """One line of a request's thread."""

    OPENED = "opened"
    COMMENT = "comment"  # seen by both sides
    NOTE = "note"  # internal: the syndicate's staff only
    STATUS = "status"
    ASSIGNED = "assigned"
    ATTACHMENT = "attachment"
    RATING = "rating"
    LINKED = "linked"  # a member added to an open request for the same incident


class SupportChannel(enum.StrEnum):
    """How a request reached the syndicate."""

    PORTAL = "portal"
    PHONE = "phone"  # opened by support staff on a member's behalf
    EMAIL = "email"
    API = "api"


SUPPORT_CHANNEL_LABELS = {
    SupportChannel.PORTAL: _l("Portail"),
    SupportChannel.PHONE: _l("Téléphone"),
    SupportChannel.EMAIL: _l("Courriel"),
    SupportChannel.API: _l("API"),
}


class OrderKind(enum.StrEnum):
    ADD = "add"  # additional pools, from approval
    REDUCE = "reduce"  # fewer pools, from the next 1 January


ORDER_KIND_LABELS = {
    OrderKind.ADD: _l("Pools supplémentaires"),
    OrderKind.REDUCE: _l("Réduction de pools"),
}


class OrderState(enum.StrEnum):
    REQUESTED = "requested"  # waiting for a syndicate administrator
    APPROVED = "approved"  # accepted, not in force yet (a reduction waits for 1 January)
    ACTIVE = "active"  # in force: the subscription counts it
    REJECTED = "rejected"  # refused, with a reason
    CANCELLED = "cancelled"  # withdrawn by the member while requested


# Label, CSS modifier, icon (never colour alone), as STATE_DISPLAY.
ORDER_STATE_DISPLAY = {
    OrderState.REQUESTED: (_l("En attente de validation"), "warning", "…"),
    OrderState.APPROVED: (_l("Acceptée"), "ok", "✓"),
    OrderState.ACTIVE: (_l("En service"), "ok", "✓"),
    OrderState.REJECTED: (_l("Refusée"), "problem", "✕"),
    OrderState.CANCELLED: (_l("Annulée"), "unknown", "–"),
}


class AuditKind(enum.StrEnum):
    """What the audit log records (``kind`` of :class:`webapp.models.AuditEvent`)."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    MEMBER_CREATED = "member_created"
    INVITATION = "invitation"
    ROLE_CHANGED = "role_changed"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    KIOSK_CREATED = "kiosk_created"
    KIOSK_REVOKED = "kiosk_revoked"
    ORDER_REQUESTED = "order_requested"
    ORDER_APPROVED = "order_approved"
    ORDER_REJECTED = "order_rejected"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_ACTIVATED = "order_activated"
    AGREEMENT_RECORDED = "agreement_recorded"
    AGREEMENT_CHANGED = "agreement_changed"
    SUPPORT_OPENED = "support_opened"
    SUPPORT_STATUS = "support_status"
    SUPPORT_ASSIGNED = "support_assigned"
    SUPPORT_COMMENTED = "support_commented"
    SUPPORT_ATTACHMENT = "support_attachment"
    SUPPORT_RATED = "support_rated"
    ACCESS_APPROVED = "access_approved"
    ACCESS_REFUSED = "access_refused"
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    RECOVERY_CODES_RENEWED = "recovery_codes_renewed"
    RECOVERY_CODE_USED = "recovery_code_used"
    SECOND_STEP_FAILED = "second_step_failed"


AUDIT_KIND_LABELS = {
    AuditKind.LOGIN: _l("Connexion"),
    AuditKind.LOGIN_FAILED: _l("Connexion refusée"),
    AuditKind.MEMBER_CREATED: _l("Membre créé"),
    AuditKind.INVITATION: _l("Invitation"),
    AuditKind.ROLE_CHANGED: _l("Rôle modifié"),
    AuditKind.TOKEN_CREATED: _l("Jeton d’API créé"),
    AuditKind.TOKEN_REVOKED: _l("Jeton d’API révoqué"),
    AuditKind.KIOSK_CREATED: _l("Lien d’affichage créé"),
    AuditKind.KIOSK_REVOKED: _l("Lien d’affichage révoqué"),
    AuditKind.ORDER_REQUESTED: _l("Commande demandée"),
    AuditKind.ORDER_APPROVED: _l("Commande acceptée"),
    AuditKind.ORDER_REJECTED: _l("Commande refusée"),
    AuditKind.ORDER_CANCELLED: _l("Commande annulée"),
    AuditKind.ORDER_ACTIVATED: _l("Commande en service"),
    AuditKind.AGREEMENT_RECORDED: _l("Convention enregistrée"),
    AuditKind.AGREEMENT_CHANGED: _l("Convention modifiée"),
    AuditKind.SUPPORT_OPENED: _l("Demande de support ouverte"),
    AuditKind.SUPPORT_STATUS: _l("Demande de support : statut"),
    AuditKind.SUPPORT_ASSIGNED: _l("Demande de support : attribution"),
    AuditKind.SUPPORT_COMMENTED: _l("Demande de support : message"),
    AuditKind.SUPPORT_ATTACHMENT: _l("Demande de support : pièce jointe"),
    AuditKind.SUPPORT_RATED: _l("Demande de support : avis"),
    AuditKind.ACCESS_APPROVED: _l("Accès d’un compte existant accepté"),
    AuditKind.ACCESS_REFUSED: _l("Accès d’un compte existant refusé"),
    AuditKind.TWO_FACTOR_ENABLED: _l("Double authentification activée"),
    AuditKind.TWO_FACTOR_DISABLED: _l("Double authentification désactivée"),
    AuditKind.RECOVERY_CODES_RENEWED: _l("Codes de secours renouvelés"),
    AuditKind.RECOVERY_CODE_USED: _l("Code de secours utilisé"),
    AuditKind.SECOND_STEP_FAILED: _l("Second facteur refusé"),
}


class AccessRequestStatus(enum.StrEnum):
    """Where an existing account's invitation to a member stands (``MembershipRequest``)."""

    PENDING = "pending"  # the syndicate has not decided
    APPROVED = "approved"  # the access was opened; the account's owner was told
    REFUSED = "refused"  # nothing was opened; nobody was told


class SessionEnd(enum.StrEnum):
    """Why a signed-in session ended (``revoked_reason`` of ``webapp.models.UserSession``)."""

    LOGOUT = "logout"  # « Se déconnecter » on that device
    ENDED_BY_USER = "ended_by_user"  # ended from the profile's device list
    PASSWORD = "password"  # the password was changed or reset
    CREDENTIALS = "credentials"  # deactivation, a role given or taken, a new password
    IDLE = "idle"  # no activity for longer than the role's idle limit
    EXPIRED = "expired"  # the role's absolute limit since sign-in
    DEMO_ACCOUNT = "demo_account"  # a demo account's session, refused in production


class SignInMethod(enum.StrEnum):
    """How a session's user proved who they are (``method`` of ``webapp.models.UserSession``)."""

    PASSWORD = "password"  # password alone (two-factor off, or not required)
    PASSWORD_TOTP = "password+totp"  # password, then a code of the authenticator application
    PASSWORD_RECOVERY = "password+recovery"  # password, then a single-use recovery code
    PROCONNECT = "proconnect"  # the State's identity federation: strong, no second step here


#: Methods that prove a second factor (ProConnect's provider asks for its own).
STRONG_SIGN_IN = frozenset(
    {SignInMethod.PASSWORD_TOTP, SignInMethod.PASSWORD_RECOVERY, SignInMethod.PROCONNECT}
)


#: Ends the user did not ask for on that device because of time: « Votre session a expiré ».
SESSION_TIMEOUTS = frozenset({SessionEnd.IDLE, SessionEnd.EXPIRED})
