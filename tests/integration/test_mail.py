"""Outgoing mail: logged without a server, sent over SMTP (Flask-Mail) with one."""

from __future__ import annotations

import logging

from webapp.services import mail


class FakeSMTP:
    sessions: list[FakeSMTP] = []

    def __init__(self, host, port, timeout=None):
        self.args = (host, port, timeout)
        self.calls: list[tuple] = []
        FakeSMTP.sessions.append(self)

    def starttls(self):
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def sendmail(self, sender, recipients, payload, *options):
        self.calls.append(("sendmail", sender, recipients, payload))

    def quit(self):
        self.calls.append(("quit",))


def test_without_a_server_the_message_is_logged_and_kept(app, caplog):
    with caplog.at_level(logging.INFO, logger="webapp.services.mail"):
        mail.send("someone@example.org", "Sujet é", "Bonjour\nhttp://x/y")
    assert "someone@example.org" in caplog.text and "Bonjour" in caplog.text
    kept = app.extensions[mail.OUTBOX_KEY][-1]
    assert kept["To"] == "someone@example.org" and kept["Subject"] == "Sujet é"
    assert kept.get_content().strip() == "Bonjour\nhttp://x/y"


def test_with_a_server_it_goes_over_smtp(app, monkeypatch):
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sessions.clear()
    app.config.update(MAIL_SERVER="smtp.example.org")
    state = app.extensions["mail"]
    monkeypatch.setattr(state, "server", "smtp.example.org")
    monkeypatch.setattr(state, "use_tls", True)
    monkeypatch.setattr(state, "username", "vigie")
    monkeypatch.setattr(state, "password", "secret")
    monkeypatch.setattr(state, "suppress", False)
    mail.send("someone@example.org", "Sujet", "Corps")
    (session,) = FakeSMTP.sessions
    assert session.args == ("smtp.example.org", 25, mail.SMTP_TIMEOUT_S)
    assert [c[0] for c in session.calls] == ["starttls", "login", "sendmail", "quit"]
    _, sender, recipients, payload = session.calls[2]
    assert (sender, recipients) == (app.config["MAIL_SENDER"], ["someone@example.org"])
    assert b"Corps" in payload
