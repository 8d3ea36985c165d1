"""Alerts by Web Push (RFC 8030, VAPID RFC 8292, encryption RFC 8291) through pywebpush.

The payload is a Declarative Web Push message (``{"web_push": 8030, "notification":
{...}}``): Safari shows it by itself, the other browsers hand it to our service worker
(``templates/pwa/sw.js``), which shows the same notification. The idempotency key of
the outbox becomes the message's ``Topic`` and the notification's ``tag``, so that a copy
sent again after a crash replaces the first one, on the push service and on the phone.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from flask_babel import gettext as _
from py_vapid import Vapid
from pywebpush import WebPushException
from pywebpush import webpush

from webapp.channels.base import ChannelConfigError
from webapp.channels.base import ChannelName
from webapp.channels.base import Outgoing
from webapp.channels.base import SendResult
from webapp.services import push as push_service
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = ["PushConfigError", "WebPushChannel", "check_subject", "topic_of", "urgency_of"]

PROVIDER = "webpush"
TIMEOUT_S = 10.0
# A push message carries at most 4096 bytes once encrypted (RFC 8291: 4096 - 86 of
# header, padding and tag). Keep the JSON well below, shortening the body if needed.
PAYLOAD_MAX = 3800
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_MAILTO = re.compile(r"^mailto:[^@\s]+@[^@\s]+\.[^@\s]+$")


def encode(payload: Mapping[str, Any]) -> bytes:
    """The payload's bytes as sent (UTF-8 JSON, compact)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class PushConfigError(ChannelConfigError):
    """Web Push cannot start with this configuration (the message says why, in French)."""


def check_subject(subject: str | None) -> str:
    """``VAPID_SUBJECT`` if it is a ``mailto:`` or ``https:`` contact; raise otherwise.

    Push services require it; Safari answers ``403 BadJwtToken`` to anything else.
    """
    value = (subject or "").strip()
    if _MAILTO.match(value):
        return value
    if value.startswith("https://"):
        parts = urlsplit(value)
        if parts.hostname and not parts.username:
            return value
    raise PushConfigError(
        f"VIGIE_VAPID_SUBJECT={value!r} : une adresse « mailto:support@exemple.fr » ou "
        "« https://exemple.fr/contact » est attendue (Safari refuse les autres : "
        "403 BadJwtToken)."
    )


def urgency_of(kind: str, severity: Any) -> str:
    """RFC 8030 ``Urgency``: high for 4–5, normal for 3 and recoveries, low otherwise."""
    if kind == "recovery":
        return "normal"
    try:
        level = int(severity)
    except (TypeError, ValueError):
        return "low"
    if level >= 4:
        return "high"
    if level == 3:
        return "normal"
    return "low"


def topic_of(value: str) -> str:
    """A ``Topic`` header value: ≤ 32 characters of the URL-safe base64 alphabet.

    A value that already is one is kept; any other is hashed (the same input, the same
    topic), so that ``incident-12:open`` always collapses with itself.
    """
    if _TOPIC.match(value):
        return value
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")[:32]


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delay in seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class _NoRedirects(requests.Session):
    """A push service never redirects; following one could reach an internal host."""

    def request(self, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


class WebPushChannel:
    """Notifications to the browsers and phones users subscribed."""

    name = ChannelName.PUSH
    resend_if_interrupted = True  # same Topic and tag: the copy replaces the first

    def __init__(
        self,
        vapid: Vapid,
        *,
        subject: str,
        ttl: int,
        base_url: str = "",
        endpoint_config: Mapping[str, Any] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.vapid = vapid
        self.subject = check_subject(subject)
        self.ttl = int(ttl)
        self.base_url = base_url.rstrip("/")
        self.endpoint_config = dict(endpoint_config or {})
        self.timeout = timeout
        self.session = _NoRedirects()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebPushChannel | None:
        """The channel, or ``None`` when no VAPID key was made (``flask vigie push keys``)."""
        vapid = push_service.load_vapid(config)
        if vapid is None:
            return None
        return cls(
            vapid,
            subject=config.get("VAPID_SUBJECT"),
            ttl=int(config.get("PUSH_TTL") or 0),
            base_url=str(config.get("BASE_URL") or ""),
            endpoint_config={
                "ENV": config.get("ENV"),
                "PUSH_ALLOW_LOOPBACK": config.get("PUSH_ALLOW_LOOPBACK"),
            },
        )

    # -- the message -------------------------------------------------------------------

    def topic(self, message: Outgoing) -> str:
        return topic_of(str(message.data.get("topic") or message.key))

    def payload(self, message: Outgoing) -> dict[str, Any]:
        """The Declarative Web Push JSON the browser (or our service worker) shows."""
        navigate = message.data.get("url") or f"{self.base_url}/"
        notification = {
            "title": message.subject,
            "body": message.body,
            "navigate": navigate,
            "lang": message.recipient.locale or "fr",
            "dir": "ltr",
            "tag": self.topic(message),
            "silent": False,
            "require_interaction": urgency_of(message.kind, message.data.get("severity")) == "high",
            "timestamp": int(time.time() * 1000),
        }
        payload = {"web_push": 8030, "notification": notification}
        if len(encode(payload)) > PAYLOAD_MAX:  # a very long body: cut it to fit
            low, high = 0, len(message.body)
            while low < high:  # the longest prefix that fits
                middle = (low + high + 1) // 2
                notification["body"] = message.body[:middle].rstrip() + "…"
                if len(encode(payload)) <= PAYLOAD_MAX:
                    low = middle
                else:
                    high = middle - 1
            notification["body"] = message.body[:low].rstrip() + "…"
        return payload

    # -- sending -----------------------------------------------------------------------

    def send(self, message: Outgoing) -> SendResult:
        subscription = message.data.get("push")
        if not subscription or not subscription.get("endpoint"):
            return SendResult.failed(_("Abonnement de l’appareil manquant."), provider=PROVIDER)
        try:  # checked again at each send: the host's address may have changed since
            push_service.check_endpoint(subscription["endpoint"], self.endpoint_config)
        except ValidationError as exc:
            return SendResult.failed(next(iter(exc.errors.values())), provider=PROVIDER)
        headers = {
            "Urgency": urgency_of(message.kind, message.data.get("severity")),
            "Topic": self.topic(message),
        }
        try:
            response = webpush(
                subscription_info=subscription,
                data=encode(self.payload(message)),
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.subject},  # fresh: pywebpush writes aud and exp in
                ttl=self.ttl,
                headers=headers,
                timeout=self.timeout,
                requests_session=self.session,
            )
        except WebPushException as exc:
            if exc.response is None:
                logger.warning("Push to %s failed: %s", _host(subscription), exc)
                return SendResult.retry(_("Erreur du service de notification."), provider=PROVIDER)
            return self._answer(exc.response, subscription)
        except requests.RequestException as exc:
            logger.warning("Push service %s unreachable: %s", _host(subscription), exc)
            return SendResult.retry(
                _("Service de notification injoignable (%(error)s).", error=type(exc).__name__),
                provider=PROVIDER,
            )
        return self._answer(response, subscription)

    def _answer(self, response: requests.Response, subscription: Mapping) -> SendResult:
        status = response.status_code
        if 200 <= status < 300:
            return SendResult.sent(provider=PROVIDER)
        logger.info("Push service %s answered %s", _host(subscription), status)
        if status in (404, 410):
            return SendResult.gone(
                _(
                    "L’appareil n’est plus abonné (réponse %(status)s) : il est retiré.",
                    status=status,
                ),
                provider=PROVIDER,
            )
        if status == 413:
            return SendResult.failed(
                _("Message trop long pour une notification (réponse 413)."), provider=PROVIDER
            )
        after = retry_after_s(response.headers.get("Retry-After"))
        if status == 429:
            return SendResult.retry(
                _("Service de notification surchargé (réponse 429)."),
                after_s=after,
                provider=PROVIDER,
            )
        if status >= 500:
            return SendResult.retry(
                _("Service de notification indisponible (réponse %(status)s).", status=status),
                after_s=after,
                provider=PROVIDER,
            )
        if status in (401, 403):
            return SendResult.failed(
                _(
                    "Le service de notification refuse la signature du serveur (réponse "
                    "%(status)s) : vérifiez VIGIE_VAPID_SUBJECT et la clé VAPID.",
                    status=status,
                ),
                provider=PROVIDER,
            )
        return SendResult.failed(
            _(
                "Le service de notification a refusé le message (réponse %(status)s).",
                status=status,
            ),
            provider=PROVIDER,
        )


def _host(subscription: Mapping) -> str:
    return urlsplit(str(subscription.get("endpoint", ""))).netloc
