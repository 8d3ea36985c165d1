"""One-click unsubscribe from an alert channel (RFC 8058), by a signed link in the message.

The link carries a token signed with the secret key (salt of its own, so a password or
any other link never passes for it) holding the user id and the channel. Following it
needs no login: the mail client POSTs it (``List-Unsubscribe-Post``), or the person
confirms on a small page. Unsubscribing removes the channel from the person's own alert
rule, created from the rule that applied to them if they had none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.models import AlertRule
from webapp.models import User
from webapp.services import alert_rules

logger = logging.getLogger(__name__)

SALT = "vigie.alerts-unsubscribe"
# An alert found months later in a mailbox should still let its reader stop them.
MAX_AGE_S = 365 * 24 * 3600
CHANNELS = frozenset({ChannelName.EMAIL, ChannelName.SMS, ChannelName.PUSH})
ENDPOINT = "profile.unsubscribe"


class InvalidLink(Exception):
    """A link that is not ours, was altered, or names no active user."""

    status = 404

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ExpiredLink(InvalidLink):
    status = 400


@dataclass(frozen=True)
class Subscription:
    """Who a valid link is for, and on which channel."""

    user: User
    channel: str


def channel_label(channel: str) -> str:
    """« par courriel »: how the alerts of ``channel`` arrive, for the pages."""
    labels = {
        ChannelName.EMAIL: _("par courriel"),
        ChannelName.SMS: _("par SMS"),
        ChannelName.PUSH: _("par notification sur vos appareils"),
    }
    return labels.get(channel, channel)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(user_id: int, channel: str = ChannelName.EMAIL) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return _serializer().dumps({"u": int(user_id), "c": str(channel)})


def link(user_id: int, channel: str = ChannelName.EMAIL) -> str:
    """The absolute one-click URL (``BASE_URL`` + the route), usable outside a request."""
    base = current_app.config["BASE_URL"].rstrip("/")
    path = current_app.url_map.bind("vigie").build(
        ENDPOINT, {"token": make_token(user_id, channel)}
    )
    return base + path


def read(token: str) -> Subscription:
    """The user and channel of ``token``; :class:`InvalidLink` / :class:`ExpiredLink`."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_S)
    except SignatureExpired:
        raise ExpiredLink(
            _(
                "Ce lien de désabonnement a expiré. Choisissez vos alertes depuis votre "
                "profil, après connexion."
            )
        ) from None
    except BadSignature:
        raise InvalidLink(
            _("Ce lien de désabonnement n'est pas valide (incomplet ou modifié).")
        ) from None
    if not isinstance(data, dict) or data.get("c") not in CHANNELS:
        raise InvalidLink(_("Ce lien de désabonnement n'est pas valide (incomplet ou modifié)."))
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.active:
        raise InvalidLink(_("Ce lien de désabonnement ne correspond plus à aucun compte actif."))
    return Subscription(user=user, channel=data["c"])


def unsubscribe(token: str) -> Subscription:
    """Remove the token's channel from its user's alert rule (idempotent); commits."""
    subscription = read(token)
    if remove_channel(subscription.user, subscription.channel):
        logger.info(
            "User %s unsubscribed from %s alerts (one-click link)",
            subscription.user.id,
            subscription.channel,
        )
    return subscription


def remove_channel(user: User, channel: str) -> bool:
    """Take ``channel`` out of ``user``'s own rule; ``False`` if it was not in it. Commits.

    Without a rule of their own, the person gets one: a copy of the rule that applied to
    them (their first member's defaults, else Vigie's), without ``channel``. Staff
    without a rule are told nothing: there is nothing to stop, and no rule is made.
    """
    try:
        return _remove_channel(user, channel)
    except IntegrityError:  # a second click created the rule meanwhile: edit that one
        db.session.rollback()
        return _remove_channel(user, channel)


def _remove_channel(user: User, channel: str) -> bool:
    row = alert_rules.rule_row(user)
    if row is None:
        rule = alert_rules.inherited(user)
        if rule is None:
            return False  # staff hear nothing until they save a rule: nothing to stop
        row = AlertRule(
            user=user,
            channels=[c for c in alert_rules.ALL_CHANNELS if c in rule.channels],
            min_severity=rule.min_severity,
            member_ids=sorted(rule.member_ids),
            sites=sorted(rule.sites, key=str.casefold),
            quiet_start=alert_rules.format_clock(rule.quiet_start),
            quiet_end=alert_rules.format_clock(rule.quiet_end),
            quiet_except_disasters=rule.quiet_except_disasters,
            recoveries=rule.recoveries,
            muted_until=rule.muted_until,
        )
        db.session.add(row)
    channels = list(row.channels or ())
    changed = channel in channels
    # A new list (not an in-place change): the JSON column sees the assignment.
    row.channels = [c for c in channels if c != channel]
    db.session.commit()
    return changed
