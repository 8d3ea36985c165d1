"""A Web Push service on the loopback interface, as strict as the real ones.

It plays both ends a browser and its push service play: :meth:`PushService.subscribe`
makes a subscription the way a browser does (a fresh P-256 key pair and a 16-byte
auth secret; the endpoint is a URL of this server), and each POST to an endpoint is
checked like a push service checks it:

- ``Authorization: vapid t=<JWT>, k=<public key>`` (RFC 8292): ES256 signature verified
  with ``k``, ``aud`` equal to the endpoint's origin, ``exp`` in the future and at most
  24 hours away, ``sub`` a ``mailto:`` or ``https:`` contact; ``k`` is the key the
  subscription was made with (``applicationServerKey``);
- ``TTL`` present (a non-negative integer), ``Urgency`` one of RFC 8030's four values,
  ``Topic`` at most 32 characters of the URL-safe base64 alphabet;
- ``Content-Encoding: aes128gcm``, and the body *decrypted* with the subscription's
  private key and auth secret (RFC 8291, ``http_ece``).

A message that passes is kept in :attr:`PushService.received` (decrypted) and answered
``201 Created``; a failed check is answered ``400`` (or ``403`` for the JWT) and kept in
:attr:`PushService.rejected`. :meth:`PushService.answer_next` makes the next requests
answer something else (410, 413, 429 with ``Retry-After``…).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

URGENCIES = {"very-low", "low", "normal", "high"}
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_VAPID = re.compile(r"^vapid\s+t=(?P<t>[^,\s]+)\s*,\s*k=(?P<k>[^,\s]+)\s*$")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Subscription:
    """What the browser keeps: the private key and auth secret behind a subscription."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    server_key: str | None  # the applicationServerKey it was made with

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def to_json(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }


@dataclass
class Received:
    """One accepted message, decrypted."""

    token: str
    headers: dict[str, str]
    claims: dict[str, Any]
    payload: bytes
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        return json.loads(self.payload)


def verify_vapid(header: str, audience: str, expected_key: str | None) -> dict[str, Any]:
    """The JWT's claims if ``Authorization`` is a valid VAPID header for ``audience``."""
    match = _VAPID.match(header or "")
    if not match:
        raise Rejected(401, f"Authorization is not 'vapid t=…, k=…': {header!r}")
    token, key = match["t"], match["k"]
    if expected_key is not None and key != expected_key:
        raise Rejected(403, "k is not the applicationServerKey of the subscription")
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    except ValueError as exc:
        raise Rejected(403, f"k is not a P-256 point: {exc}") from None
    try:
        head_b64, claims_b64, signature_b64 = token.split(".")
        head = json.loads(unb64url(head_b64))
        claims = json.loads(unb64url(claims_b64))
        signature = unb64url(signature_b64)
    except ValueError as exc:
        raise Rejected(403, f"malformed JWT: {exc}") from None
    if head.get("alg") != "ES256":
        raise Rejected(403, f"JWT alg must be ES256, not {head.get('alg')!r}")
    if len(signature) != 64:
        raise Rejected(403, "ES256 signature must be 64 bytes (r || s)")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Rejected(403, "JWT signature does not verify with k") from None
    if claims.get("aud") != audience:
        raise Rejected(403, f"aud {claims.get('aud')!r} is not {audience!r}")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now or exp > now + 24 * 3600:
        raise Rejected(403, f"exp {exp!r} is not within the next 24 hours")
    sub = claims.get("sub", "")
    if not (isinstance(sub, str) and (sub.startswith("mailto:") or sub.startswith("https://"))):
        raise Rejected(403, f"BadJwtToken: sub {sub!r} is not mailto: or https:")
    return claims


class PushService:
    """The server; use as a context manager (``with PushService() as service``)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.subscriptions: dict[str, Subscription] = {}
        self.received: list[Received] = []
        self.rejected: list[tuple[int, str]] = []
        self._answers: deque[tuple[int, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def __enter__(self) -> PushService:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- the browser's side ------------------------------------------------------------

    def subscribe(self, server_key: str | None = None) -> Subscription:
        token = secrets.token_urlsafe(16)
        subscription = Subscription(
            token=token,
            endpoint=f"{self.origin}/push/{token}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=secrets.token_bytes(16),
            server_key=server_key,
        )
        with self._lock:
            self.subscriptions[token] = subscription
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """The browser dropped it: its endpoint now answers 410 Gone."""
        with self._lock:
            self.subscriptions.pop(subscription.token, None)

    # -- the test's controls -----------------------------------------------------------

    def answer_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1):
        """The next ``times`` valid requests get ``status`` instead of 201."""
        with self._lock:
            for _ in range(times):
                self._answers.append((status, dict(headers or {})))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` messages were accepted; all of them."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(
                    f"{len(self.received)} push message(s) after {timeout} s, {count} expected; "
                    f"rejected: {self.rejected}"
                )
            return list(self.received)

    # -- the push service's side -------------------------------------------------------

    def _check(self, token: str, headers: dict[str, str], body: bytes) -> Received:
        subscription = self.subscriptions.get(token)
        if subscription is None:
            raise Rejected(410, "no such subscription")
        claims = verify_vapid(
            headers.get("authorization", ""), self.origin, subscription.server_key
        )
        ttl = headers.get("ttl")
        if ttl is None or not ttl.isdigit():
            raise Rejected(400, f"TTL must be a non-negative integer, got {ttl!r}")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise Rejected(400, f"bad Urgency {urgency!r}")
        topic = headers.get("topic")
        if topic is not None and not _TOPIC.match(topic):
            raise Rejected(400, f"bad Topic {topic!r}")
        if headers.get("content-encoding") != "aes128gcm":
            raise Rejected(415, f"Content-Encoding {headers.get('content-encoding')!r}")
        if len(body) > 4096:
            raise Rejected(413, f"{len(body)} bytes")
        try:
            payload = http_ece.decrypt(
                body,
                private_key=subscription.private_key,
                auth_secret=subscription.auth,
                version="aes128gcm",
            )
        except Exception as exc:  # noqa: BLE001 - any failure is a rejected message
            raise Rejected(400, f"cannot decrypt: {type(exc).__name__}: {exc}") from None
        return Received(token, headers, claims, payload)

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        if not path.startswith("/push/"):
            return 404, {}
        token = path.removeprefix("/push/")
        with self._lock:
            try:
                message = self._check(token, headers, body)
            except Rejected as exc:
                self.rejected.append((exc.status, str(exc)))
                return exc.status, {}
            if self._answers:
                status, extra = self._answers.popleft()
                self.rejected.append((status, "told to"))
                return status, extra
            self.received.append(message)
            self._arrived.notify_all()
        return 201, {"Location": f"{self.origin}/message/{secrets.token_hex(8)}"}

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra = service._handle(self.path, headers, body)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):  # noqa: A002 - quiet
                return

        return Handler
