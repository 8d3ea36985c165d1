"""Alerts (issue 11): problem → endpoint latency, the worker's throughput, a storm at scale.

The app runs in this process as ``flask vigie serve`` runs it with the embedded worker:
the :class:`~webapp.live.poller.Poller` thread (the demo source, the alerts' observer)
and the delivery :class:`~webapp.services.notify.Worker` thread, on a SQLite file,
sending through the real channels (:func:`webapp.channels.registry.build`: e-mail, Web
Push, SMS through the HTTP gateway provider, portal) to servers on the loopback interface,
in a child process (:class:`Endpoints`): an SMTP server (aiosmtpd) and an HTTP server
standing in for the push service and the SMS gateway. They only note when each message
arrived (the tests check what the messages say and that push payloads decrypt:
``tests/loopback``); the portal's "endpoint" is the hand-off to its channel.

1. ``latency``: ``source.fail(<member>-routeur)`` at the default 6 members, one person
   per member with every channel set up; time from the poll cycle that saw the problem
   (the observer's call, which opens the pending incident) to each endpoint's receipt,
   *minus* ``VIGIE_ALERT_DELAY`` (:data:`ALERT_DELAY`); then the repair and its recovery
   message (no delay). One failure at a time, rotating over the members.
2. ``throughput``: messages queued in the outbox at once, per channel, and the rate at
   which the worker hands them to the endpoint (first round → last receipt).
3. ``storm``: 300 members, 50,000 items, :data:`STORM_USERS` people per member (one in a
   quick run); the access boxes of enough members fail in one write to take about 2,000
   devices down (counted in the poller's statuses). Expected: one message per person and
   channel of each member hit (root-cause aware: never one per device), checked after a
   quiet wait; timed from the poll cycle that saw it to the last message received (the
   decisions' part apart); then the same for the repair.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import logging
import multiprocessing
import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

from bench.common import bench_app
from bench.common import create_demo_members
from bench.common import summary
from bench.common import temp_dir
from bench.stack import free_port

ALERT_DELAY = 2.0  # VIGIE_ALERT_DELAY of the runs (default 60): subtracted from the latency
POLL_INTERVAL = 0.5  # VIGIE_POLL_INTERVAL (default 1)
NOTIFY_INTERVAL = 1.0  # VIGIE_NOTIFY_INTERVAL, its default: the worker's idle wait
LATENCY_RUNS = 10
STORM_MEMBERS = 300
STORM_ITEMS = 50_000
STORM_DEVICES = 2_000  # devices to take down, about
STORM_USERS = 2  # people per member
QUIET_WAIT_S = 2.0  # after the expected messages: nothing more may arrive
PHONE = "+33612345678"
DOWN_STATES = ("problem", "unreachable")


# ---- the endpoints ------------------------------------------------------------------------


class Arrivals:
    """What each endpoint received: ``(time.time(), kind, recipient)`` per channel."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.by_channel: dict[str, list[tuple[float, str, str]]] = {}

    def add(self, channel: str, kind: str, recipient: str, at: float | None = None) -> None:
        at = time.time() if at is None else at
        with self._changed:
            self.by_channel.setdefault(channel, []).append((at, kind, recipient))
            self._changed.notify_all()

    def count(self, channel: str) -> int:
        with self._changed:
            return len(self.by_channel.get(channel, ()))

    def since(self, channel: str, start: int) -> list[tuple[float, str, str]]:
        with self._changed:
            return list(self.by_channel.get(channel, ())[start:])

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def marks(self) -> dict[str, int]:
        with self._changed:
            return {name: len(rows) for name, rows in self.by_channel.items()}


class SMTPSink:
    """An SMTP server (aiosmtpd) that accepts everything and notes each message's arrival."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.port = 0
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        subject = str(headers.get("Subject", ""))
        kind = "recovery" if subject.startswith(("Re:", "Réparé")) else "problem"
        self.arrivals.add("email", kind, ",".join(envelope.rcpt_tos))
        return "250 OK"

    def __enter__(self) -> SMTPSink:
        from aiosmtpd.controller import Controller

        for _attempt in range(5):  # a free port may be taken before it is bound
            port = free_port()
            controller = Controller(self, hostname="127.0.0.1", port=port, ready_timeout=5.0)
            try:
                controller.start()
            except OSError:
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError("no free port for the loopback SMTP server")

    def __exit__(self, *exc) -> None:
        if self._controller is not None:
            self._controller.stop()


class HTTPSink:
    """Stands in for the push service (``POST /push/<n>`` → 201) and the SMS gateway
    (``POST /sms`` → 200); notes arrivals. No check of signatures or payloads."""

    def __init__(self, arrivals: Arrivals) -> None:
        arrivals_ = arrivals

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real push services
            wbufsize = -1  # head and body in one write (no delayed-ACK wait on the client)

            def do_POST(self):  # noqa: N802 - http.server's hook
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.startswith("/push/"):
                    # Encrypted payload: the urgency tells an opening (high) from a recovery.
                    urgent = self.headers.get("Urgency") == "high"
                    arrivals_.add("push", "problem" if urgent else "recovery", self.path)
                    self._answer(201, b"")
                elif self.path.startswith("/sms"):
                    text = body.decode("utf-8", "replace")
                    kind = "recovery" if "de nouveau" in text else "problem"
                    arrivals_.add("sms", kind, self.path)
                    self._answer(200, b'{"status": "ok", "id": "bench"}')
                else:
                    self._answer(404, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HTTPSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Forward:
    """In the endpoints' process: each arrival, stamped there, sent to the bench's."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.lock = threading.Lock()  # the SMTP thread and the HTTP threads share the pipe

    def add(self, channel: str, kind: str, recipient: str) -> None:
        at = time.time()
        with self.lock:
            self.connection.send((channel, kind, recipient, at))


def _serve_endpoints(connection, stop) -> None:
    """The endpoints' process: both servers until ``stop`` is set."""
    forward = _Forward(connection)
    with SMTPSink(forward) as smtp, HTTPSink(forward) as http:
        connection.send((smtp.port, http.url))
        stop.wait()
    connection.send(None)


class Endpoints:
    """The loopback SMTP and HTTP servers, in a process of their own (spawned).

    The receiving side's CPU (SMTP dialogue, parsing) is then not taken from the
    worker under the same GIL, as with a real mail server or push service. Arrival
    times are stamped there (the same clock) and forwarded to :attr:`arrivals`.
    """

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.smtp_port = 0
        self.http_url = ""

    def __enter__(self) -> Endpoints:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe(duplex=False)
        self._stop = context.Event()
        self._process = context.Process(
            target=_serve_endpoints, args=(child, self._stop), name="bench-endpoints"
        )
        self._process.start()
        child.close()
        try:
            if not self._connection.poll(60):
                raise EOFError
            self.smtp_port, self.http_url = self._connection.recv()
        except EOFError:
            self._process.kill()
            self._process.join(timeout=5)
            raise RuntimeError("the loopback endpoints did not start") from None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):
                return
            if message is None:
                return
            channel, kind, recipient, at = message
            self.arrivals.add(channel, kind, recipient, at)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._process.join(timeout=15)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._reader.join(timeout=5)
        self._connection.close()


class TimedPortal:
    """The portal channel, noting each hand-off (the row *is* the notification)."""

    def __init__(self, inner, arrivals: Arrivals) -> None:
        self.inner = inner
        self.name = inner.name
        self.resend_if_interrupted = inner.resend_if_interrupted
        self.arrivals = arrivals

    def send(self, message):
        result = self.inner.send(message)
        self.arrivals.add("portal", message.kind, f"user-{message.recipient.user_id}")
        return result


class ErrorCount(logging.Handler):
    """Errors logged by the app while a section runs (a failed round, a failed observer)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:200])


# ---- the app ----------------------------------------------------------------------------


def _settings(tmp: Path, endpoints: Endpoints) -> dict:
    return {
        "DEMO_INCIDENTS": False,  # only the injected faults
        "POLL_INTERVAL": POLL_INTERVAL,
        "ALERT_DELAY": ALERT_DELAY,
        "NOTIFY_INTERVAL": NOTIFY_INTERVAL,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": endpoints.smtp_port,
        "VAPID_PRIVATE_KEY_FILE": str(tmp / "vapid_private.pem"),
        "VAPID_SUBJECT": "mailto:bench@vigie.example.org",
        "SMS_PROVIDER": "http",
        "SMS_HTTP_URL": endpoints.http_url + "/sms",
        "SMS_HTTP_METHOD": "POST",
        "SMS_HTTP_BODY": {"to": "{to}", "message": "{message}"},
        "BASE_URL": "http://127.0.0.1:5000",
    }


def _channels(app, arrivals: Arrivals) -> dict:
    """Every channel the registry builds for this configuration (portal timed)."""
    from webapp.channels import registry
    from webapp.services import push as push_service

    try:
        push_service.generate_keys(config=app.config)
    except push_service.KeyExists:
        pass
    with app.app_context():
        channels = dict(registry.build(app.config))
    channels["portal"] = TimedPortal(channels["portal"], arrivals)
    return channels


def _device_keys() -> tuple[str, str]:
    """A browser's subscription keys (P-256 public point, 16-byte auth secret), base64url."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return b64(point), b64(secrets.token_bytes(16))


def _make_users(app, per_member: int, endpoints: Endpoints, channels: dict) -> int:
    """``per_member`` people in every member: e-mail, portal, and a phone and a push device
    when those channels exist. One commit (bench data, not the accounts service)."""
    from webapp.extensions import db
    from webapp.models import Member
    from webapp.models import Membership
    from webapp.models import PushSubscription
    from webapp.models import User
    from webapp.models.choices import MemberRole

    p256dh, auth = _device_keys()  # one key pair for every device: the sender's cost is the same
    now = datetime.now(UTC)
    made = 0
    with app.app_context():
        for member in db.session.scalars(db.select(Member).order_by(Member.id)):
            for index in range(per_member):
                user = User(
                    email=f"alerte-{index}@{member.slug}.example.org",
                    name=f"Personne {index} de {member.name}",
                    phone=PHONE if "sms" in channels else None,
                    phone_confirmed_at=now if "sms" in channels else None,
                )
                user.memberships.append(Membership(member=member, role=MemberRole.VIEWER))
                db.session.add(user)
                made += 1
        db.session.flush()
        if "push" in channels:
            for user in db.session.scalars(db.select(User)):
                db.session.add(
                    PushSubscription(
                        user=user,
                        endpoint=f"{endpoints.http_url}/push/{user.id}",
                        p256dh=p256dh,
                        auth=auth,
                        label="bench",
                    )
                )
        db.session.commit()
    return made


class Observer:
    """The poller's observer (:func:`webapp.services.alerts.observe_cycle`), timed.

    Notes when it was called and with which members (the poll cycle that saw a change),
    and how many of their devices were down or unreachable in those statuses.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[float, dict[int, int]]] = []
        self._lock = threading.Lock()

    def __call__(self, statuses: dict, maintenances) -> None:
        from webapp.services import alerts

        at = time.time()
        down = {
            member_id: sum(1 for n in status.member_map.nodes if n.state in DOWN_STATES)
            for member_id, status in statuses.items()
        }
        alerts.observe_cycle(statuses, maintenances)
        with self._lock:
            self.calls.append((at, down))

    def first_after(self, moment: float, member_ids: set[int]) -> tuple[float, dict[int, int]]:
        """The first call after ``moment`` that saw one of ``member_ids``."""
        with self._lock:
            for at, down in self.calls:
                if at >= moment and member_ids & set(down):
                    return at, down
        raise AssertionError("the poller never saw the change")


@contextmanager
def running(app, channels: dict, observer: Observer):
    """The poller and the delivery worker, each in its thread, as ``flask vigie serve``."""
    from webapp.live.monitor import get_monitor
    from webapp.live.poller import Poller
    from webapp.services.notify import Worker

    poller = Poller(app, publish=lambda *args, **kwargs: None, observe=observer)
    worker = Worker(app, channels)
    threads = [
        threading.Thread(target=poller.run, name="bench-poller", daemon=True),
        threading.Thread(target=worker.run, name="bench-worker", daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 120
        while not get_monitor(app).polled or not observer.calls:  # the first cycle is done
            if time.monotonic() > deadline:
                raise AssertionError("no first poll cycle within 120 s")
            time.sleep(0.05)
        yield poller, worker
    finally:
        poller.stop()
        worker.stop()
        for thread in threads:
            thread.join(timeout=30)


def _wait_counts(arrivals: Arrivals, want: dict[str, int], timeout: float) -> None:
    ok = arrivals.wait(lambda: all(arrivals.count(c) >= n for c, n in want.items()), timeout)
    if not ok:
        got = {c: arrivals.count(c) for c in want}
        raise AssertionError(f"messages expected {want}, received {got} after {timeout:g} s")


def _ms(seconds: list[float]) -> dict:
    return summary([s * 1000 for s in seconds], digits=1)


# ---- 1. latency ---------------------------------------------------------------------------


def _latency(quick: bool) -> dict:
    from webapp.extensions import db
    from webapp.live.monitor import get_monitor
    from webapp.models import Member

    runs = 3 if quick else LATENCY_RUNS
    jitter = random.Random(42)
    tmp = temp_dir("alerts-latency")
    arrivals = Arrivals()
    with Endpoints(arrivals) as endpoints:
        app = bench_app(tmp, **_settings(tmp, endpoints))
        create_demo_members(app)
        channels = _channels(app, arrivals)
        _make_users(app, 1, endpoints, channels)
        names = sorted(channels)
        source = get_monitor(app).source
        with app.app_context():
            members = [(m.id, m.slug) for m in db.session.scalars(db.select(Member))]
        observer = Observer()
        opened: dict[str, list[float]] = {c: [] for c in names}
        from_fault: dict[str, list[float]] = {c: [] for c in names}
        recovered: dict[str, list[float]] = {c: [] for c in names}
        seen_after_fault: list[float] = []
        extra: dict[str, int] = {}
        with running(app, channels, observer):
            for run in range(runs):
                member_id, slug = members[run % len(members)]
                router = f"{slug}-routeur"
                for step in ("problem", "recovery"):
                    # At a random moment of the poller's and the worker's periods: right
                    # after the last message arrived, every step would start in one phase.
                    time.sleep(jitter.uniform(0, NOTIFY_INTERVAL))
                    marks = {c: arrivals.count(c) for c in names}
                    moment = time.time()
                    if step == "problem":
                        source.fail(router)
                    else:
                        source.repair(router)
                    _wait_counts(arrivals, {c: marks[c] + 1 for c in names}, timeout=30)
                    seen, _down = observer.first_after(moment, {member_id})
                    for c in names:
                        at, kind, _who = arrivals.since(c, marks[c])[0]
                        if kind != step:
                            extra[f"{c}:{kind}"] = extra.get(f"{c}:{kind}", 0) + 1
                        if step == "problem":
                            opened[c].append(at - seen - ALERT_DELAY)
                            from_fault[c].append(at - moment)
                        else:
                            recovered[c].append(at - seen)
                    if step == "problem":
                        seen_after_fault.append(seen - moment)
            time.sleep(NOTIFY_INTERVAL + POLL_INTERVAL)  # anything more would show here
        total = arrivals.marks()
    return {
        "estate": f"demo source, {len(members)} members, one person per member",
        "channels": names,
        "runs": runs,
        "alert_delay_s": ALERT_DELAY,
        "poll_interval_s": POLL_INTERVAL,
        "notify_interval_s": NOTIFY_INTERVAL,
        "seen_to_endpoint_beyond_delay_ms": {c: _ms(v) for c, v in opened.items()},
        "fault_to_endpoint_ms": {c: _ms(v) for c, v in from_fault.items()},
        "fault_to_poller_seen_ms": _ms(seen_after_fault),
        "repair_seen_to_recovery_endpoint_ms": {c: _ms(v) for c, v in recovered.items()},
        "messages_received": total,
        "messages_expected_per_channel": 2 * runs,
        "unexpected_kinds": extra,
        "exact": all(n == 2 * runs for n in total.values()) and not extra,
        "note": "beyond delay = endpoint receipt − poll cycle that saw it (the observer's "
        f"call) − VIGIE_ALERT_DELAY ({ALERT_DELAY:g} s); the worker wakes every "
        f"{NOTIFY_INTERVAL:g} s when idle, so up to that much is waiting for its next round",
    }


# ---- 2. throughput ------------------------------------------------------------------------


#: Messages queued at once per run, per channel (quick runs: a tenth, at least 50): a few
#: seconds of work each, to keep the section near 3 minutes.
THROUGHPUT_MESSAGES = {"portal": 300, "email": 150, "push": 150, "sms": 150}
THROUGHPUT_RUNS = 3


def _queue_rows(app, channel: str, count: int, run: int, people: list) -> None:
    """``count`` due messages in the outbox, in one statement (the worker's side is timed;
    the decisions' own cost, ``outbox.enqueue`` included, is the storm's ``decisions_ms``)."""
    from webapp.extensions import db
    from webapp.models import Delivery
    from webapp.models.alerts import DeliveryStatus

    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        user_id, device = people[i % len(people)]
        rows.append(
            {
                "key": f"bench-{channel}-{run}-{i}",
                "user_id": user_id,
                "channel": channel,
                "kind": "problem",
                "subject": "Panne à Bench : Routeur mairie",
                "body": "« Routeur mairie » ne répond plus : les 12 équipements derrière lui "
                "sont injoignables.\nConstaté à l'instant.",
                "data": {
                    "url": "http://127.0.0.1:5000/membres/bench/carte",
                    "severity": 4,
                    "sms": "Vigie Bench : « Routeur mairie » ne répond plus.",
                    "subscription_id": device,
                },
                "status": DeliveryStatus.QUEUED,
                "next_attempt_at": now,
            }
        )
    with app.app_context():
        db.session.execute(db.insert(Delivery), rows)
        db.session.commit()
        db.session.remove()


def _sqlite_commit_ms(tmp: Path, repeat: int = 50) -> dict:
    """What one small commit costs on this disk (SQLite's default journal, as the app's):
    the outbox commits per message, so its rate follows this."""
    import sqlite3

    connection = sqlite3.connect(tmp / "commit-probe.db")
    try:
        connection.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, value TEXT)")
        connection.commit()
        samples = []
        for i in range(repeat):
            started = time.perf_counter()
            connection.execute("INSERT INTO probe (value) VALUES (?)", (str(i),))
            connection.commit()
            samples.append(time.perf_counter() - started)
    finally:
        connection.close()
    return _ms(samples)


def _throughput(quick: bool) -> dict:
    from webapp.extensions import db
    from webapp.models import PushSubscription
    from webapp.models import User
    from webapp.services.notify import Worker

    repeat = 1 if quick else THROUGHPUT_RUNS
    tmp = temp_dir("alerts-throughput")
    arrivals = Arrivals()
    out: dict = {"runs": repeat, "sqlite_commit_ms": _sqlite_commit_ms(tmp)}
    with Endpoints(arrivals) as endpoints:
        app = bench_app(tmp, **_settings(tmp, endpoints))
        create_demo_members(app)
        channels = _channels(app, arrivals)
        _make_users(app, 10, endpoints, channels)  # 60 people: the messages go round them
        with app.app_context():
            people = [
                (u.id, s.id if s else None)
                for u, s in db.session.execute(
                    db.select(User, PushSubscription).outerjoin(
                        PushSubscription, PushSubscription.user_id == User.id
                    )
                )
            ]
        for channel, full in THROUGHPUT_MESSAGES.items():
            if channel not in channels:
                continue
            count = max(50, full // 10) if quick else full
            rates = []
            for run in range(repeat):
                _queue_rows(app, channel, count, run, people)
                mark = arrivals.count(channel)
                worker = Worker(app, channels)
                thread = threading.Thread(target=worker.run, daemon=True)
                started = time.time()
                thread.start()
                try:
                    _wait_counts(arrivals, {channel: mark + count}, timeout=600)
                finally:
                    worker.stop()
                    thread.join(timeout=30)
                last = arrivals.since(channel, mark)[-1][0]
                rates.append(count / (last - started))
            out[channel] = {"messages": count, "messages_per_s": summary(rates, digits=1)}
    out["note"] = (
        "messages already due in the outbox, then one Worker thread (its default batches, "
        "SQLite file) from its start to the endpoint's last receipt; e-mail: one SMTP "
        "connection per message (Flask-Mail), both bodies rendered; push: encrypted and "
        "VAPID-signed per message (pywebpush), HTTP keep-alive; SMS: the HTTP gateway "
        "provider; portal: the outbox's own cost (claim, renew, record: commits per "
        "message, so the rate follows sqlite_commit_ms, the disk's)"
    )
    return out


# ---- 3. storm -----------------------------------------------------------------------------


def _storm(quick: bool) -> dict:
    from sqlalchemy import func

    from webapp.extensions import db
    from webapp.live.monitor import get_monitor
    from webapp.models import Delivery
    from webapp.models import Incident
    from webapp.models import Member
    from webapp.models.alerts import IncidentState
    from webapp.models.member import as_utc

    per_member = 1 if quick else STORM_USERS  # a smoke run: half the messages
    tmp = temp_dir("alerts-storm")
    arrivals = Arrivals()
    started = time.perf_counter()
    with Endpoints(arrivals) as endpoints:
        app = bench_app(
            tmp,
            DEMO_MEMBERS=STORM_MEMBERS,
            DEMO_ITEMS=STORM_ITEMS,
            **_settings(tmp, endpoints),
        )
        create_demo_members(app)
        channels = _channels(app, arrivals)
        people = _make_users(app, per_member, endpoints, channels)
        names = sorted(channels)
        source = get_monitor(app).source
        with app.app_context():
            ids = {m.slug: m.id for m in db.session.scalars(db.select(Member))}
        # Boxes of members, in the estate's order, until about STORM_DEVICES hosts are behind.
        boxes, hit, devices = [], set(), 0
        for member in source.members:
            if devices >= STORM_DEVICES:
                break
            boxes.append(f"{member.slug}-box")
            hit.add(ids[member.slug])
            devices += len(source.hosts([member.group]))
        setup_s = time.perf_counter() - started
        observer = Observer()
        phases: dict = {}
        with running(app, channels, observer):
            for phase in ("problem", "recovery"):
                marks = {c: arrivals.count(c) for c in names}
                want = {c: marks[c] + len(hit) * per_member for c in names}
                moment = time.time()
                source.set_faults(boxes, failed=phase == "problem")
                _wait_counts(arrivals, want, timeout=300)
                seen, down = observer.first_after(moment, hit)
                time.sleep(QUIET_WAIT_S)  # more would be one per device, or twice
                received = {c: arrivals.since(c, marks[c]) for c in names}
                last = max(rows[-1][0] for rows in received.values())
                first = min(rows[0][0] for rows in received.values())
                with app.app_context():
                    incidents = db.session.scalar(
                        db.select(func.count(Incident.id)).where(
                            Incident.state == IncidentState.OPEN
                        )
                    )
                    # When the decisions wrote the messages (SQLite keeps naive UTC).
                    after = datetime.fromtimestamp(moment, UTC).replace(tzinfo=None)
                    queued = db.session.execute(
                        db.select(
                            func.min(Delivery.created_at), func.max(Delivery.created_at)
                        ).where(Delivery.created_at >= after)
                    ).one()
                first_queued, last_queued = (as_utc(t).timestamp() for t in queued)
                phases[phase] = {
                    "devices_down_in_poller_statuses": sum(
                        n for mid, n in down.items() if mid in hit
                    ),
                    "members_seen_in_that_cycle": len(hit & set(down)),
                    "open_incidents": incidents,
                    "messages_expected": len(hit) * per_member * len(names),
                    "messages_received": sum(len(rows) for rows in received.values()),
                    "messages_received_by_channel": {c: len(r) for c, r in received.items()},
                    # The SMS gateway's requests do not name the person (the body does).
                    "distinct_recipients_by_channel": {
                        c: len({who for _, _, who in r}) for c, r in received.items() if c != "sms"
                    },
                    "kinds": sorted({kind for rows in received.values() for _, kind, _ in rows}),
                    "fault_to_poller_seen_ms": round((seen - moment) * 1000, 1),
                    "seen_to_first_queued_ms": round((first_queued - seen) * 1000, 1),
                    "decisions_ms": round((last_queued - first_queued) * 1000, 1),
                    "seen_to_first_message_ms": round((first - seen) * 1000, 1),
                    "seen_to_last_message_ms": round((last - seen) * 1000, 1),
                    "seen_to_last_message_beyond_delay_ms": round(
                        (last - seen - (ALERT_DELAY if phase == "problem" else 0)) * 1000, 1
                    ),
                    "delivery_messages_per_s": round(
                        sum(len(rows) for rows in received.values()) / (last - first), 1
                    ),
                    "seen_to_last_by_channel_ms": {
                        c: round((rows[-1][0] - seen) * 1000, 1) for c, rows in received.items()
                    },
                }
                phase_result = phases[phase]
                phase_result["exact"] = (
                    phase_result["messages_received"] == phase_result["messages_expected"]
                    and phase_result["kinds"] == [phase]
                    and all(
                        n == len(hit) * per_member
                        for n in phase_result["distinct_recipients_by_channel"].values()
                    )
                )
    return {
        "members": STORM_MEMBERS,
        "items": STORM_ITEMS,
        "hosts": len(source.hosts()),
        "people": people,
        "people_per_member": per_member,
        "channels": names,
        "members_hit": len(hit),
        "access_boxes_failed": len(boxes),
        "hosts_of_members_hit": devices,
        "setup_s": round(setup_s, 1),
        "alert_delay_s": ALERT_DELAY,
        "poll_interval_s": POLL_INTERVAL,
        "outage": phases["problem"],
        "repair": phases["recovery"],
        "note": "one write fails (then repairs) the access boxes; seen = the poll cycle whose "
        "observer call opened the incidents; expected = members hit × people × channels "
        f"(one message each), checked {QUIET_WAIT_S:g} s after the last",
    }


def run(quick: bool = False) -> dict:
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    result: dict = {}
    seconds: dict[str, float] = {}
    load: dict[str, list[float]] = {}
    try:
        for name, part in (("latency", _latency), ("throughput", _throughput), ("storm", _storm)):
            started = time.perf_counter()
            load[name] = [round(x, 2) for x in os.getloadavg()]
            result[name] = part(quick)
            seconds[name] = round(time.perf_counter() - started, 1)
    finally:
        logging.getLogger().removeHandler(errors)
    result["part_seconds"] = seconds
    result["load_avg_at_part_start"] = load
    result["errors_logged"] = errors.messages[:20]
    result["errors_logged_count"] = len(errors.messages)
    result["statistics"] = "median and p95 (nearest rank) of the runs; ms unless named"
    return result


if __name__ == "__main__":  # a section alone, without results.json: python -m bench.alerts
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2, ensure_ascii=False))
