"""Outgoing e-mail: SMTP when configured, otherwise written to the log."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

logger = logging.getLogger(__name__)

OUTBOX_KEY = "vigie.outbox"


def send(to: str, subject: str, body: str) -> None:
    """Send a plain-text message; without ``MAIL_SERVER`` it is only logged and kept."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    current_app.extensions.setdefault(OUTBOX_KEY, []).append(message)
    del current_app.extensions[OUTBOX_KEY][:-50]
    if not config.get("MAIL_SERVER"):
        logger.info("Mail to %s (no MAIL_SERVER configured): %s\n%s", to, subject, body)
        return
    with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=10) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)
