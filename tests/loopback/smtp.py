"""A real SMTP server on the loopback interface (aiosmtpd), and the fixtures that use it.

:class:`SmtpServer` listens on 127.0.0.1 (a free port) in a thread of its own and keeps
every message it accepts, parsed by the :mod:`email` package (``policy.default``), in
:attr:`SmtpServer.messages` — headers and every part — with its envelope in
:attr:`SmtpServer.envelopes` and the bytes as they came in :attr:`SmtpServer.raw`.
:meth:`SmtpServer.answer_next` makes the next ``MAIL``, ``RCPT`` or ``DATA`` commands
answer a temporary (``451``) or permanent (``550``) error instead; what was refused is
kept in :attr:`SmtpServer.refused`.

Fixtures (imported by ``tests/conftest.py``):

- ``smtp_server``: one server for the session;
- ``smtp``: that server, emptied and with no pending answers, and the test's app sending
  to it — ``MAIL_SERVER``/``MAIL_PORT`` (read by :func:`webapp.channels.registry.build`)
  and Flask-Mail's own settings (account e-mails), without TLS or login.

In a test: ``smtp.answer_next(451)``, send, then ``(message,) = smtp.wait_for(1)``.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

STAGES = ("mail", "rcpt", "data")
DEFAULT_TEXT = {
    4: "4.3.0 Temporary failure, try again later",
    5: "5.1.1 Mailbox unavailable",
}


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpt_tos: tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    stage: str
    code: int
    text: str
    address: str | None  # the sender (mail) or recipient (rcpt); None for data


@dataclass
class _Answer:
    stage: str
    code: int
    text: str
    address: str | None
    times: int | None  # None: until cleared


class SmtpServer:
    """The server; use as a context manager (``with SmtpServer() as server``)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port: int | None = None
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.raw: list[bytes] = []
        self.refused: list[Refusal] = []
        self._answers: deque[_Answer] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._controller = None

    # -- life --------------------------------------------------------------------------

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        last_error: OSError | None = None
        for _attempt in range(5):  # a free port may be taken between finding and binding it
            port = free_port(self.host)
            controller = Controller(
                _Handler(self), hostname=self.host, port=port, ready_timeout=5.0
            )
            try:
                controller.start()
            except OSError as exc:
                last_error = exc
                continue
            self._controller, self.port = controller, port
            return
        raise RuntimeError(f"no free port for the loopback SMTP server: {last_error}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    # -- the test's controls -----------------------------------------------------------

    def answer_next(
        self,
        code: int,
        text: str | None = None,
        *,
        stage: str = "rcpt",
        address: str | None = None,
        times: int | None = 1,
    ) -> None:
        """The next ``times`` ``stage`` commands (for ``address`` only, if given) get ``code``.

        ``times=None``: every one, until :meth:`reset`. ``451`` is a temporary refusal,
        ``550`` a permanent one; a refused ``RCPT`` or ``MAIL`` leaves no message.
        """
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}")
        if not 400 <= code < 600:
            raise ValueError("an error is a 4xx or 5xx reply")
        with self._lock:
            self._answers.append(
                _Answer(stage, code, text or DEFAULT_TEXT[code // 100], address, times)
            )

    def reset(self) -> None:
        """Forget the messages, the refusals and the pending answers."""
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()
            self.raw.clear()
            self.refused.clear()
            self._answers.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until ``count`` messages were accepted; all of them (oldest first)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(
                    f"{len(self.messages)} message(s) after {timeout} s, {count} expected; "
                    f"refused: {self.refused}"
                )
            return list(self.messages)

    # -- the server's side (called in its thread) --------------------------------------

    def _refusal(self, stage: str, address: str | None) -> str | None:
        with self._lock:
            for answer in self._answers:
                if answer.stage != stage:
                    continue
                if answer.address is not None and answer.address.lower() != (address or "").lower():
                    continue
                if answer.times is not None:
                    answer.times -= 1
                    if answer.times <= 0:
                        self._answers.remove(answer)
                self.refused.append(Refusal(stage, answer.code, answer.text, address))
                return f"{answer.code} {answer.text}"
        return None

    def _accept(self, envelope) -> None:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self.envelopes.append(Envelope(envelope.mail_from, tuple(envelope.rcpt_tos)))
            self.raw.append(raw)
            self._arrived.notify_all()


class _Handler:
    """aiosmtpd's handler hooks: accept, or answer what the test asked for."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        refusal = self.server._refusal("mail", address)
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        refusal = self.server._refusal("rcpt", address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        refusal = self.server._refusal("data", None)
        if refusal:
            return refusal
        self.server._accept(envelope)
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def route_mail_to(app, server: SmtpServer) -> None:
    """Make ``app`` send every e-mail (alerts and account e-mails) to ``server``."""
    app.config.update(
        MAIL_SERVER=server.host,
        MAIL_PORT=server.port,
        MAIL_USE_TLS=False,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
    )
    state = app.extensions["mail"]  # Flask-Mail's settings, read when the app was made
    state.server, state.port = server.host, server.port
    state.use_tls, state.use_ssl, state.username, state.password = False, False, None, None
    state.suppress = False  # TESTING suppresses sending by default


@pytest.fixture(scope="session")
def smtp_server():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp(app, smtp_server):
    """The loopback SMTP server, empty, with ``app`` sending its e-mails to it."""
    smtp_server.reset()
    route_mail_to(app, smtp_server)
    yield smtp_server
    smtp_server.reset()
