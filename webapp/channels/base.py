"""What a channel is given and what it answers."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol


class ChannelConfigError(ValueError):
    """A channel cannot start with this configuration (the message says why, in French)."""


class ChannelName(enum.StrEnum):
    PUSH = "push"
    SMS = "sms"
    EMAIL = "email"
    PORTAL = "portal"  # the in-portal notification centre


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    email: str
    phone: str | None = None  # E.164, only once confirmed
    locale: str = "fr"


@dataclass(frozen=True)
class Outgoing:
    """One message for one person on one channel, as the outbox holds it.

    ``key`` is the idempotency key (incident, state, channel, recipient): channels that
    can pass it on do (``Message-ID`` of an e-mail, ``Topic`` and notification ``tag`` of
    a push), so that a copy sent again after a crash collapses into the first one.
    ``data`` carries what a channel may need: ``url`` (absolute link to the map node),
    ``severity`` (0–5), ``topic`` (per incident), ``thread`` (the first message's key, for
    a recovery in the same e-mail thread), ``push`` (a subscription's keys), ``html``.
    """

    id: int
    key: str
    channel: str
    kind: str
    recipient: Recipient
    subject: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # temporary: try again later (backoff, or ``retry_after_s``)
    FAILED = "failed"  # permanent: never retried
    GONE = "gone"  # the address is no more (push 404/410): failed, and forget it


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    error: str | None = None  # in French, shown to the user in the delivery log
    retry_after_s: float | None = None
    provider: str | None = None

    @classmethod
    def sent(cls, provider: str | None = None) -> SendResult:
        return cls(Outcome.SENT, provider=provider)

    @classmethod
    def retry(cls, error: str, after_s: float | None = None, provider: str | None = None):
        return cls(Outcome.RETRY, error=error, retry_after_s=after_s, provider=provider)

    @classmethod
    def failed(cls, error: str, provider: str | None = None) -> SendResult:
        return cls(Outcome.FAILED, error=error, provider=provider)

    @classmethod
    def gone(cls, error: str, provider: str | None = None) -> SendResult:
        return cls(Outcome.GONE, error=error, provider=provider)


class Channel(Protocol):
    """A way to reach a person. ``config`` is the Flask config (a mapping)."""

    name: str
    # After a crash in the middle of a send, may the message go again? Yes where the
    # receiver collapses copies (same Message-ID, same push tag); no for SMS (a second
    # SMS costs and annoys: it is reported as uncertain instead).
    resend_if_interrupted: bool

    def send(self, message: Outgoing) -> SendResult: ...
