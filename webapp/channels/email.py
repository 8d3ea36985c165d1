"""Alerts by e-mail: French plain-text and HTML bodies, sent over SMTP by Flask-Mail.

Each message's ``Message-ID`` is derived from its idempotency key, so a copy sent again
after a crash is the same message to the receiving mail system; a recovery or follow-up
(``data["thread"]``: the key of the incident's first message) replies to that first
message (``In-Reply-To``, ``References``, « Re: » subject) and lands in its thread.
Every message can be stopped in one click (``List-Unsubscribe``, RFC 8058).

Without ``MAIL_SERVER`` the message is written to the log and kept with the account
e-mails (:data:`webapp.services.mail.OUTBOX_KEY`): reported sent (provider ``log``) in
development, failed with its reason in production, where an alert nobody receives must
show in the delivery log.
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
import time
from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

import flask_mail
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.channels.base import ChannelName
from webapp.channels.base import Outgoing
from webapp.channels.base import SendResult
from webapp.extensions import db
from webapp.models import Delivery
from webapp.services import mail
from webapp.services import unsubscribe

logger = logging.getLogger(__name__)

__all__ = ["EmailChannel", "first_key", "message_id"]

SETTINGS_ENDPOINT = "profile.alerts"  # the alert rules page, /profil/alertes
TEXT_TEMPLATE = "email/alert.txt"
HTML_TEMPLATE = "email/alert.html"
_REPLY_PREFIX = re.compile(r"^\s*((re|tr|fwd?)\s*:\s*)+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# After the server could not be reached, the next messages are retried at once for this
# long instead of each waiting for its own timeout (a storm against a dead server would
# otherwise outlast the worker's lease). Shorter than the first backoff: a message is
# never held back by its own failure.
UNREACHABLE_PAUSE_S = 10.0


def sender_domain(sender: str) -> str:
    """``vigie@alertes.example.org`` (or ``Vigie <…>``) → ``alertes.example.org``."""
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2].strip().lower()
    return domain or "localhost"


def message_id(key: str, sender: str) -> str:
    """``<sha256(key)[:32]@sender's domain>``: the same key, the same message."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{sender_domain(sender)}>"


def first_key(message: Outgoing) -> str | None:
    """The key of the message ``message`` follows up (``data["thread"]``), if any.

    ``thread`` is either that message's whole key or, as the alert engine writes it, its
    state part (``incident-group-7:open``): the first message then went on the same
    channel to the same person, so it ends like this one (``:email:user-3``).
    """
    thread = str((message.data or {}).get("thread") or "")
    if not thread or thread == message.key:
        return None
    marker = f":{message.channel}:"
    if marker in thread:
        return thread
    at = message.key.rfind(marker)
    return thread + message.key[at:] if at >= 0 else thread


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text or "").strip()


class EmailChannel:
    """Alert e-mails through the configured SMTP server (or the log without one)."""

    name = ChannelName.EMAIL
    resend_if_interrupted = True  # same Message-ID: the copy collapses into the first

    def __init__(
        self,
        settings: Any,
        *,
        sender: str,
        base_url: str,
        production: bool = False,
        timeout: float = mail.SMTP_TIMEOUT_S,
    ) -> None:
        self.settings = settings  # Flask-Mail's settings (server, port, TLS, login)
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.production = production
        self.timeout = timeout
        self._paused_until = 0.0
        self._pause_reason = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EmailChannel:
        return cls(
            mail.settings(config),
            sender=config["MAIL_SENDER"],
            base_url=config["BASE_URL"],
            production=config.get("ENV") == "production",
        )

    @property
    def server(self) -> str | None:
        return self.settings.server or None

    # -- composing -------------------------------------------------------------------

    def compose(self, message: Outgoing) -> flask_mail.Message:
        """The e-mail for ``message``: both bodies and every header (needs an app context)."""
        data = message.data or {}
        own_id = message_id(message.key, self.sender)
        headline = _one_line(message.subject)
        subject = headline
        headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
        first = first_key(message)
        if first is not None:
            first_id = message_id(first, self.sender)
            headers["In-Reply-To"] = first_id
            headers["References"] = first_id
            first_subject = _one_line(data.get("thread_subject") or _subject_of(first) or "")
            if first_subject:
                subject = "Re: " + _REPLY_PREFIX.sub("", first_subject)
        unsubscribe_url = unsubscribe.link(message.recipient.user_id, ChannelName.EMAIL)
        mailto = parseaddr(self.sender)[1]
        headers["List-Unsubscribe"] = (
            f"<{unsubscribe_url}>, <mailto:{mailto}?subject=unsubscribe>"
            if mailto
            else f"<{unsubscribe_url}>"
        )
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

        locale = message.recipient.locale or "fr"
        with force_locale(locale):
            context = {
                "locale": locale,
                "headline": headline,
                "paragraphs": _paragraphs(message.body),
                "kind": message.kind,
                "url": _web_link(data.get("url")),
                "link_label": _one_line(data.get("link_label") or ""),  # else « Voir sur la carte »
                "recipient": message.recipient,
                "settings_url": self._absolute(SETTINGS_ENDPOINT),
                "unsubscribe_url": unsubscribe_url,
            }
            env = current_app.jinja_env  # no request here: no context processors
            text = env.get_template(TEXT_TEMPLATE).render(context)
            html = env.get_template(HTML_TEMPLATE).render(context)

        email = mail.Message(
            subject=subject,
            recipients=[(_one_line(message.recipient.name), message.recipient.email)],
            body=text,
            html=html,
            sender=self.sender,
            extra_headers=headers,
        )
        email.msgId = own_id
        return email

    def _absolute(self, endpoint: str, **values: Any) -> str:
        """A portal URL for a message (no request here: ``BASE_URL`` + the route)."""
        return self.base_url + current_app.url_map.bind("vigie").build(endpoint, values)

    # -- sending ---------------------------------------------------------------------

    def send(self, message: Outgoing) -> SendResult:
        if not message.recipient.email:
            return SendResult.failed(_("Aucune adresse de courriel pour ce compte."))
        email = self.compose(message)
        mail.keep(email)
        if not self.server:
            logger.info(
                "Alert mail to %s (no MAIL_SERVER configured): %s\n%s",
                message.recipient.email,
                email.subject,
                email.body,
            )
            if self.production:
                return SendResult.failed(
                    _("Aucun serveur de courriel configuré (VIGIE_MAIL_SERVER) : non envoyé.")
                )
            return SendResult.sent(provider="log")
        if time.monotonic() < self._paused_until:
            return SendResult.retry(self._pause_reason, provider="smtp")
        try:
            with mail.Connection(self.settings, timeout=self.timeout) as connection:
                connection.send(email)
        except (smtplib.SMTPException, OSError) as exc:
            result = self.classify(exc)
            if _unreachable(exc):
                self._paused_until = time.monotonic() + UNREACHABLE_PAUSE_S
                self._pause_reason = result.error or ""
            logger.warning(
                "Alert mail %s to %s: %s (%s)",
                message.key,
                message.recipient.email,
                result.outcome,
                result.error,
            )
            return result
        except flask_mail.BadHeaderError:
            return SendResult.failed(_("En-têtes de message invalides : non envoyé."), "smtp")
        return SendResult.sent(provider="smtp")

    def classify(self, exc: BaseException) -> SendResult:
        """SMTP 4xx and network trouble: retry; a refused recipient or message (5xx): failed."""
        where = f"{self.settings.server}:{self.settings.port}"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code, text = next(iter(exc.recipients.values()), (0, b""))
            return self._by_code(
                code,
                text,
                permanent=_("Adresse refusée par le serveur de courriel (%(reply)s)."),
                temporary=_(
                    "Adresse refusée pour l'instant par le serveur de courriel (%(reply)s) : "
                    "nouvel essai plus tard."
                ),
            )
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return SendResult.retry(
                _(
                    "Identifiants refusés par le serveur de courriel (%(reply)s) : vérifiez "
                    "VIGIE_MAIL_USERNAME et VIGIE_MAIL_PASSWORD.",
                    reply=_reply(exc.smtp_code, exc.smtp_error),
                ),
                provider="smtp",
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            # The sender address is this server's configuration, not the message's fault.
            return SendResult.retry(
                _(
                    "Adresse d'expédition refusée par le serveur de courriel (%(reply)s) : "
                    "vérifiez VIGIE_MAIL_SENDER.",
                    reply=_reply(exc.smtp_code, exc.smtp_error),
                ),
                provider="smtp",
            )
        if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
            # The server turns this host away, whatever the message: try again later.
            return SendResult.retry(
                _(
                    "Le serveur de courriel %(where)s refuse la connexion (%(reply)s) : "
                    "nouvel essai plus tard.",
                    where=where,
                    reply=_reply(exc.smtp_code, exc.smtp_error),
                ),
                provider="smtp",
            )
        if isinstance(exc, smtplib.SMTPResponseException):  # DATA refused, …
            return self._by_code(
                exc.smtp_code,
                exc.smtp_error,
                permanent=_("Message refusé par le serveur de courriel (%(reply)s)."),
                temporary=_(
                    "Refus temporaire du serveur de courriel (%(reply)s) : nouvel essai plus tard."
                ),
            )
        # smtplib turns a reply that never came into SMTPServerDisconnected, from it.
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            return SendResult.retry(
                _(
                    "Le serveur de courriel %(where)s ne répond pas (plus de %(s)s s) : "
                    "nouvel essai plus tard.",
                    where=where,
                    s=f"{self.timeout:g}",
                ),
                provider="smtp",
            )
        if isinstance(exc, ConnectionRefusedError):
            return SendResult.retry(
                _(
                    "Serveur de courriel %(where)s injoignable (connexion refusée) : "
                    "nouvel essai plus tard.",
                    where=where,
                ),
                provider="smtp",
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return SendResult.retry(
                _(
                    "Le serveur de courriel %(where)s a coupé la connexion : "
                    "nouvel essai plus tard.",
                    where=where,
                ),
                provider="smtp",
            )
        return SendResult.retry(
            _(
                "Erreur de connexion au serveur de courriel %(where)s (%(error)s) : "
                "nouvel essai plus tard.",
                where=where,
                error=_one_line(str(exc)) or type(exc).__name__,
            ),
            provider="smtp",
        )

    @staticmethod
    def _by_code(code: int, text: Any, *, permanent: str, temporary: str) -> SendResult:
        reply = _reply(code, text)
        if 500 <= int(code or 0) < 600:
            return SendResult.failed(permanent % {"reply": reply}, provider="smtp")
        return SendResult.retry(temporary % {"reply": reply}, provider="smtp")


def _unreachable(exc: BaseException) -> bool:
    """No conversation with the server at all (refused, timed out, hung up, no TLS…)."""
    answered = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)
    return isinstance(exc, OSError) and not isinstance(exc, answered)


def _reply(code: int, text: Any) -> str:
    """« 550 Utilisateur inconnu » from an SMTP reply (bytes), kept short."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {_one_line(str(text or ''))}".strip()[:200]


def _paragraphs(body: str) -> list[list[str]]:
    """Paragraphs (separated by blank lines), each a list of its lines."""
    blocks = re.split(r"\n\s*\n", (body or "").replace("\r\n", "\n").strip())
    return [
        [line.strip() for line in block.split("\n") if line.strip()]
        for block in blocks
        if block.strip()
    ]


def _subject_of(key: str) -> str | None:
    """The subject of the outbox message ``key`` (the first of a thread), if kept."""
    return db.session.scalar(select(Delivery.subject).where(Delivery.key == key))


def _web_link(url: Any) -> str | None:
    """The map link, if it is one (never ``javascript:`` or the like in a button)."""
    url = str(url or "").strip()
    return url if url.startswith(("https://", "http://")) else None
