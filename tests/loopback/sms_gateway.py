"""SMS providers on the loopback interface, as strict as the real ones.

:class:`OvhApi` plays OVHcloud's API (``/1.0``) for one SMS account:

- ``GET /1.0/auth/time`` answers the server's clock (the ``ovh`` client reads it once);
- ``POST /1.0/sms/<service>/jobs`` checks the signed request like OVH does:
  ``X-Ovh-Application`` is the application key, ``X-Ovh-Consumer`` the consumer key,
  ``X-Ovh-Timestamp`` within 30 s of the clock, and ``X-Ovh-Signature`` equal to
  ``"$1$" + sha1(AS + "+" + CK + "+" + METHOD + "+" + URL + "+" + BODY + "+" + TS)``,
  recomputed here from the application secret; then the JSON body: ``message`` (a
  non-empty string), ``receivers`` (E.164 numbers), ``sender`` (one of the account's
  senders), ``noStopClause``, ``priority``, ``charset``, ``coding`` with their documented
  types and values, and no field the API does not know.

A job that passes is kept in :attr:`OvhApi.jobs` and answered like OVH
(``{"ids": […], "validReceivers": […], "invalidReceivers": […], "totalCreditsRemoved": n}``);
a failed check is answered 400 (body) or 403 (signature) with OVH's ``{"message": …}``
and kept in :attr:`OvhApi.rejected`.

:class:`HttpGateway` plays a generic gateway configured with the method, headers and
body format (JSON or form) it expects, and the names of its two fields.

Both have :meth:`answer_next` (the next requests get another status: 400, 429 with
``Retry-After``, 503…) and :meth:`wait_for` (wait until ``n`` messages arrived).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# POST /sms/{serviceName}/jobs, sms.JobsPost: every field the API accepts, and its type.
OVH_JOB_FIELDS: dict[str, type | tuple[type, ...]] = {
    "charset": str,
    "class": str,
    "coding": str,
    "differedPeriod": int,
    "message": str,
    "noStopClause": bool,
    "priority": str,
    "receivers": list,
    "receiversDocumentUrl": str,
    "receiversSlotId": str,
    "sender": str,
    "senderForResponse": bool,
    "tag": str,
    "validityPeriod": int,
}
OVH_ENUMS = {
    "charset": {"UTF-8"},
    "class": {"flash", "phoneDisplay", "sim", "toolkit"},
    "coding": {"7bit", "8bit"},
    "priority": {"high", "low", "medium", "veryLow"},
}


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Received:
    """One accepted SMS."""

    to: str
    message: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    fields: dict[str, Any]
    at: float = field(default_factory=time.time)


class _Server:
    """What both servers share: a thread, canned answers, and waiting for arrivals."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.received: list[Received] = []
        self.rejected: list[tuple[int, str]] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self._answers: deque[tuple[int, dict[str, str], Any]] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def answer_next(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` valid requests get ``status`` (and ``body``) instead."""
        with self._lock:
            for _ in range(times):
                self._answers.append((status, headers or {}, body))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` messages were accepted (or fail after ``timeout``)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(
                    f"{len(self.received)} SMS received, {count} expected; "
                    f"rejected: {self.rejected}"
                )
            return list(self.received)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} requests, {count} expected")

    # -- to be written by each server --------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes):
        """``(status, headers, json_body)``; raise :class:`Rejected` to refuse."""
        raise NotImplementedError

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                with server._arrived:
                    server.requests.append((self.command, self.path))
                    server._arrived.notify_all()
                try:
                    status, extra, payload = server.handle(self.command, self.path, headers, body)
                except Rejected as exc:
                    with server._arrived:
                        server.rejected.append((exc.status, str(exc)))
                        server._arrived.notify_all()
                    status, extra, payload = exc.status, {}, {"message": str(exc)}
                self._answer(status, extra, payload)

            def _answer(self, status: int, extra: dict[str, str], payload: Any) -> None:
                if isinstance(payload, bytes | str):
                    data = payload.encode() if isinstance(payload, str) else payload
                    kind = "text/plain; charset=utf-8"
                else:
                    data = json.dumps(payload).encode()
                    kind = "application/json; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler

    def _canned(self) -> tuple[int, dict[str, str], Any] | None:
        with self._lock:
            return self._answers.popleft() if self._answers else None

    def _accept(self, received: Received) -> None:
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()


class OvhApi(_Server):
    """OVHcloud's API for one SMS account (``service``); see the module docstring."""

    def __init__(
        self,
        *,
        application_key: str = "loopback-ak",
        application_secret: str = "loopback-as",
        consumer_key: str = "loopback-ck",
        service: str = "sms-ab12345-1",
        senders: set[str] | None = None,
        clock_skew_s: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host)
        self.application_key = application_key
        self.application_secret = application_secret
        self.consumer_key = consumer_key
        self.service = service
        self.senders = senders if senders is not None else {"VIGIE"}
        self.invalid_numbers: set[str] = set()  # receivers OVH reports as invalid
        self.clock_skew_s = clock_skew_s  # the API's clock ahead of ours
        self.time_asked = 0
        self._next_id = 1000

    @property
    def endpoint(self) -> str:
        """What ``VIGIE_OVH_ENDPOINT`` is set to."""
        return f"{self.origin}/1.0"

    @property
    def jobs(self) -> list[Received]:
        return list(self.received)

    def now(self) -> int:
        return int(time.time()) + self.clock_skew_s

    def signature(self, method: str, url: str, body: str, timestamp: str) -> str:
        parts = [self.application_secret, self.consumer_key, method.upper(), url, body, timestamp]
        return "$1$" + hashlib.sha1("+".join(parts).encode("utf-8")).hexdigest()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes):
        if method == "GET" and path == "/1.0/auth/time":
            with self._lock:
                self.time_asked += 1
            return 200, {}, self.now()
        match = re.fullmatch(r"/1\.0/sms/(?P<service>[^/?]+)/jobs", path)
        if match is None or method != "POST":
            raise Rejected(404, f"Got an invalid (or empty) URL: {method} {path}")
        self._check_signature(method, path, headers, body)
        if match["service"] != self.service:
            raise Rejected(404, f"This service does not exist: {match['service']}")
        job = self._check_job(headers, body)
        canned = self._canned()
        if canned is not None:
            return canned
        valid = [r for r in job["receivers"] if r not in self.invalid_numbers]
        invalid = [r for r in job["receivers"] if r in self.invalid_numbers]
        with self._lock:
            ids = list(range(self._next_id, self._next_id + len(valid)))
            self._next_id += len(valid)
        for receiver in valid:
            self._accept(
                Received(receiver, job["message"], method, path, headers, body, fields=job)
            )
        return (
            200,
            {},
            {
                "ids": ids,
                "invalidReceivers": invalid,
                "validReceivers": valid,
                "totalCreditsRemoved": len(valid),
                "tag": job.get("tag", ""),
            },
        )

    def _check_signature(self, method, path, headers, body) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("x-ovh-application") != self.application_key:
            raise Rejected(403, "Invalid application key")
        if lower.get("x-ovh-consumer") != self.consumer_key:
            raise Rejected(403, "Invalid credential")
        timestamp = lower.get("x-ovh-timestamp", "")
        if not timestamp.isdigit() or abs(int(timestamp) - self.now()) > 30:
            raise Rejected(400, f"Query out of time: X-Ovh-Timestamp {timestamp!r}")
        url = f"{self.origin}{path}"
        expected = self.signature(method, url, body.decode("utf-8"), timestamp)
        if lower.get("x-ovh-signature") != expected:
            raise Rejected(403, "Invalid signature")

    def _check_job(self, headers, body) -> dict[str, Any]:
        lower = {k.lower(): v for k, v in headers.items()}
        if not lower.get("content-type", "").startswith("application/json"):
            raise Rejected(400, f"Content-Type {lower.get('content-type')!r} is not JSON")
        try:
            job = json.loads(body)
        except ValueError as exc:
            raise Rejected(400, f"Invalid JSON body: {exc}") from None
        if not isinstance(job, dict):
            raise Rejected(400, "The body is not a JSON object")
        for name, value in job.items():
            if name not in OVH_JOB_FIELDS:
                raise Rejected(400, f"Unknown parameter {name!r}")
            expected = OVH_JOB_FIELDS[name]
            if expected is int and isinstance(value, bool) or not isinstance(value, expected):
                raise Rejected(400, f"Parameter {name!r} has the wrong type: {value!r}")
            if name in OVH_ENUMS and value not in OVH_ENUMS[name]:
                raise Rejected(400, f"Invalid value {value!r} for {name!r}")
        message = job.get("message")
        if not isinstance(message, str) or not message:
            raise Rejected(400, "Missing parameter: message")
        receivers = job.get("receivers")
        if not receivers or not all(isinstance(r, str) and E164.match(r) for r in receivers):
            raise Rejected(400, f"Invalid receivers: {receivers!r}")
        sender = job.get("sender")
        if sender is not None and sender not in self.senders:
            raise Rejected(400, f"The sender {sender!r} does not exist on this account")
        return job


class HttpGateway(_Server):
    """A generic gateway expecting ``method``, ``headers``, and a JSON or form body.

    ``to_field`` / ``message_field`` name the two fields it reads (``"text"``…). With
    ``body="query"`` they come from the query string (a GET gateway).
    """

    def __init__(
        self,
        *,
        method: str = "POST",
        body: str = "json",  # json | form | query
        headers: dict[str, str] | None = None,
        to_field: str = "to",
        message_field: str = "message",
        path: str = "/send",
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host)
        self.method = method
        self.body_kind = body
        self.headers = headers or {}
        self.to_field = to_field
        self.message_field = message_field
        self.path = path

    @property
    def url(self) -> str:
        return f"{self.origin}{self.path}"

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes):
        split = urlsplit(path)
        if split.path != self.path:
            raise Rejected(404, f"No such path {split.path!r}")
        if method != self.method:
            raise Rejected(405, f"Method {method} not allowed, {self.method} expected")
        lower = {k.lower(): v for k, v in headers.items()}
        for name, value in self.headers.items():
            if lower.get(name.lower()) != value:
                raise Rejected(401, f"Header {name!r} is {lower.get(name.lower())!r}")
        fields = self._fields(lower, split.query, body)
        to, message = fields.get(self.to_field), fields.get(self.message_field)
        if not isinstance(to, str) or not E164.match(to):
            raise Rejected(400, f"Invalid {self.to_field!r}: {to!r}")
        if not isinstance(message, str) or not message:
            raise Rejected(400, f"Missing {self.message_field!r}")
        canned = self._canned()
        if canned is not None:
            return canned
        self._accept(Received(to, message, method, path, headers, body, fields=fields))
        return 200, {}, {"id": f"msg-{len(self.received)}", "status": "queued"}

    def _fields(self, headers: dict[str, str], query: str, body: bytes) -> dict[str, Any]:
        kind = headers.get("content-type", "")
        if self.body_kind == "query":
            if body:
                raise Rejected(400, "A GET gateway takes no body")
            return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=True))
        if self.body_kind == "json":
            if not kind.startswith("application/json"):
                raise Rejected(415, f"Content-Type {kind!r} is not JSON")
            try:
                data = json.loads(body.decode("utf-8"))
            except ValueError as exc:
                raise Rejected(400, f"Invalid JSON: {exc}") from None
            if not isinstance(data, dict):
                raise Rejected(400, "JSON object expected")
            return data
        if not kind.startswith("application/x-www-form-urlencoded"):
            raise Rejected(415, f"Content-Type {kind!r} is not a form")
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise Rejected(400, f"Invalid form: {exc}") from None
        return dict(pairs)
