"""Outgoing e-mail through Flask-Mail: SMTP when configured, otherwise written to the log."""

from __future__ import annotations

import email
import email.policy
import logging
import smtplib

import flask_mail
from flask import current_app

logger = logging.getLogger(__name__)

OUTBOX_KEY = "vigie.outbox"
SMTP_TIMEOUT_S = 10


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection, with the SMTP timeout Flask-Mail 0.10 has no setting for."""

    def configure_host(self) -> smtplib.SMTP:
        host = smtplib.SMTP(self.mail.server, int(self.mail.port), timeout=SMTP_TIMEOUT_S)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username:
            host.login(self.mail.username, self.mail.password)
        return host


def send(to: str, subject: str, body: str) -> None:
    """Send a plain-text message; without ``MAIL_SERVER`` it is only logged and kept.

    The last 50 messages are kept in ``app.extensions[OUTBOX_KEY]`` as
    :class:`email.message.EmailMessage` (what went, or would have gone, on the wire).
    """
    config = current_app.config
    message = flask_mail.Message(
        subject=subject, recipients=[to], body=body, sender=config["MAIL_SENDER"]
    )
    outbox = current_app.extensions.setdefault(OUTBOX_KEY, [])
    wire = message.as_bytes().replace(b"\r\n", b"\n")
    outbox.append(email.message_from_bytes(wire, policy=email.policy.default))
    del outbox[:-50]
    if not config.get("MAIL_SERVER"):
        logger.info("Mail to %s (no MAIL_SERVER configured): %s\n%s", to, subject, body)
        return
    with _Connection(current_app.extensions["mail"]) as connection:
        connection.send(message)
