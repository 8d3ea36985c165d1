"""The channels this installation can use, built once from the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.channels.base import Channel
from webapp.channels.base import ChannelName
from webapp.channels.base import Outgoing
from webapp.channels.base import SendResult
from webapp.channels.email import EmailChannel
from webapp.channels.push import WebPushChannel
from webapp.channels.sms import SmsChannel


class PortalChannel:
    """The in-portal notification centre: the outbox row *is* the notification."""

    name = ChannelName.PORTAL
    resend_if_interrupted = True

    def send(self, message: Outgoing) -> SendResult:
        return SendResult.sent(provider="portal")


def build(config: Mapping[str, Any]) -> dict[str, Channel]:
    """Every channel this configuration sets up (e-mail and portal always)."""
    channels: dict[str, Channel] = {ChannelName.PORTAL: PortalChannel()}
    if push := WebPushChannel.from_config(config):
        channels[ChannelName.PUSH] = push
    if sms := SmsChannel.from_config(config):  # SmsConfigError on settings that cannot work
        channels[ChannelName.SMS] = sms
    # Always there: without MAIL_SERVER it logs and keeps (sent in development, failed
    # with its reason in production), see webapp/channels/email.py.
    channels[ChannelName.EMAIL] = EmailChannel.from_config(config)
    return channels
