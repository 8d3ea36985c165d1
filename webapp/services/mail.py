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
    """Flask-Mail's connection, with the SMTP timeout Flask-Mail 0.10 has no setting for.

    After a failed send the socket is closed without ``QUIT``: a server that timed out
    or hung up would otherwise hide the first error behind a second one.
    """

    def __init__(self, mail, timeout: float = SMTP_TIMEOUT_S) -> None:
        super().__init__(mail)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        host = smtplib.SMTP(self.mail.server, int(self.mail.port), timeout=self.timeout)
        try:
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        if self.host is None:
            return
        if exc_type is not None:
            self.host.close()
            return
        try:
            self.host.quit()
        except smtplib.SMTPServerDisconnected:  # sent already; the goodbye got lost
            logger.info("SMTP server hung up before QUIT")


Connection = _Connection  # what other senders (the alert e-mail channel) open


class Message(flask_mail.Message):
    """Flask-Mail's message, whose long headers stay whole (RFC 5322 allows 998 characters).

    At the default 78, the ``email`` package rewrites a header with a long unbreakable
    word as RFC 2047 encoded words: a ``List-Unsubscribe`` URL would no longer be one.
    """

    def _message(self):
        message = super()._message()
        message.policy = email.policy.SMTP.clone(max_line_length=998)
        return message


def settings(config) -> flask_mail._Mail:
    """Flask-Mail's settings read from ``config`` now (not frozen when the app started).

    ``MAIL_SUPPRESS_SEND`` keeps its meaning; ``TESTING`` alone does not suppress.
    """
    return flask_mail.Mail().init_mail(config, debug=False, testing=False)


def send(to: str, subject: str, body: str) -> None:
    """Send a plain-text message; without ``MAIL_SERVER`` it is only logged and kept.

    The last 50 messages are kept in ``app.extensions[OUTBOX_KEY]`` as
    :class:`email.message.EmailMessage` (what went, or would have gone, on the wire).
    """
    config = current_app.config
    message = flask_mail.Message(
        subject=subject, recipients=[to], body=body, sender=config["MAIL_SENDER"]
    )
    keep(message)
    if not config.get("MAIL_SERVER"):
        logger.info("Mail to %s (no MAIL_SERVER configured): %s\n%s", to, subject, body)
        return
    with _Connection(current_app.extensions["mail"]) as connection:
        connection.send(message)


def keep(message: flask_mail.Message) -> None:
    """Keep ``message`` as it goes on the wire, with the last 49 (``OUTBOX_KEY``)."""
    outbox = current_app.extensions.setdefault(OUTBOX_KEY, [])
    wire = message.as_bytes().replace(b"\r\n", b"\n")
    outbox.append(email.message_from_bytes(wire, policy=email.policy.default))
    del outbox[:-50]
