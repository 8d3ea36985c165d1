"""All models, imported here so Alembic sees every table."""

from webapp.models.member import HostGroupLink
from webapp.models.member import Member
from webapp.models.subscription import Subscription
from webapp.models.support import KioskLink
from webapp.models.support import SupportRequest
from webapp.models.user import ApiToken
from webapp.models.user import Membership
from webapp.models.user import User

__all__ = [
    "ApiToken",
    "HostGroupLink",
    "KioskLink",
    "Member",
    "Membership",
    "Subscription",
    "SupportRequest",
    "User",
]
