"""All models, imported here so Alembic sees every table."""

from webapp.models.alerts import AlertRule
from webapp.models.alerts import Delivery
from webapp.models.alerts import Incident
from webapp.models.alerts import MaintenanceNotice
from webapp.models.alerts import PushSubscription
from webapp.models.audit import AuditEvent
from webapp.models.member import HostGroupLink
from webapp.models.member import Member
from webapp.models.pools import Agreement
from webapp.models.pools import PoolOrder
from webapp.models.pools import ProbeUsageDay
from webapp.models.sessions import UserSession
from webapp.models.subscription import Subscription
from webapp.models.support import KioskLink
from webapp.models.support import SupportAttachment
from webapp.models.support import SupportEntry
from webapp.models.support import SupportRequest
from webapp.models.two_factor import RecoveryCode
from webapp.models.two_factor import TwoFactor
from webapp.models.user import ApiToken
from webapp.models.user import Membership
from webapp.models.user import MembershipRequest
from webapp.models.user import User

__all__ = [
    "Agreement",
    "AlertRule",
    "AuditEvent",
    "Delivery",
    "Incident",
    "MaintenanceNotice",
    "PushSubscription",
    "ApiToken",
    "HostGroupLink",
    "KioskLink",
    "Member",
    "Membership",
    "MembershipRequest",
    "PoolOrder",
    "ProbeUsageDay",
    "RecoveryCode",
    "Subscription",
    "SupportAttachment",
    "SupportEntry",
    "SupportRequest",
    "TwoFactor",
    "User",
    "UserSession",
]
