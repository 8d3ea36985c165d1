"""JSON-RPC transport of the Zabbix source: the pyzabbix session, login and typed errors.

This is the only module of Vigie that imports :mod:`pyzabbix`.

* **Lazy login.** Building a :class:`Transport` makes no network call. The
  first authenticated call runs ``pyzabbix.ZabbixAPI.login``, which detects the
  server version with ``apiinfo.version`` (pyzabbix then sends ``username`` to
  ``user.login`` on 5.4+, and the token as an ``Authorization: Bearer`` header
  on 6.4+ instead of the ``auth`` member of the JSON-RPC payload). With an API
  token no ``user.login`` is sent at all; a bad token shows up on the first
  real call as ``Not authorised``. With a user and password, a session that
  the server terminated is re-opened once, transparently, and only once when
  calls of two threads see it lost together.
* **Errors.** ``requests`` connection errors, timeouts and HTTP 5xx raise
  :class:`SourceUnavailable`. A JSON-RPC error (bad token, invalid params,
  missing permission) raises :class:`SourceError` carrying Zabbix's message.
  A payload that is not the JSON-RPC answer we expect (HTML page served with
  HTTP 200, empty body, missing ``result``) raises :class:`SourceError`, *not*
  :class:`SourceUnavailable`: the server did answer, and the usual cause is a
  wrong ``ZABBIX_URL`` (pointing at a proxy or at the frontend root) or an
  incompatible version, which retrying will not fix. HTTP 4xx is a
  :class:`SourceError` for the same reason.
* **Counters.** :attr:`Transport.calls` and :attr:`Transport.call_time_s` count
  the calls sent and the wall-clock seconds spent in them (failed ones too).
* **Secrets.** pyzabbix logs whole request payloads (token, password) at
  DEBUG level; this module installs a filter on the ``pyzabbix.api`` logger
  that drops those records, and logs its own calls (method and duration).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import requests
from pyzabbix import ZabbixAPI
from pyzabbix import ZabbixAPIException

from webapp.sources.base import SourceError
from webapp.sources.base import SourceUnavailable

__all__ = ["RpcError", "Transport"]

logger = logging.getLogger(__name__)

#: A re-login is attempted once when a password session hits one of these.
_SESSION_ERRORS = ("session terminated", "re-login", "not authorised", "not authorized")


class _DropPayloadRecords(logging.Filter):
    """Drop pyzabbix's DEBUG records that print raw payloads (token, password)."""

    vigie_redaction = True

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in ("Sending: %s", "Response Body: %s")


_pyzabbix_logger = logging.getLogger("pyzabbix.api")
if not any(getattr(f, "vigie_redaction", False) for f in _pyzabbix_logger.filters):
    _pyzabbix_logger.addFilter(_DropPayloadRecords())


class RpcError(SourceError):
    """A JSON-RPC error answer; kept apart to spot terminated sessions."""

    def __init__(self, method: str, code: Any, message: str, data: str) -> None:
        self.method = method
        self.code = code
        self.zabbix_message = message
        self.data = data
        detail = f"{message} {data}".strip() if data and data != "No data" else message
        super().__init__(f"Zabbix {method}: {detail}")

    @property
    def session_lost(self) -> bool:
        text = f"{self.zabbix_message} {self.data}".lower()
        return any(marker in text for marker in _SESSION_ERRORS)


def _truncate(text: str, size: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


@contextmanager
def _translated(method: str) -> Iterator[None]:
    """Turn transport and JSON-RPC failures of one call into source errors."""
    try:
        yield
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        logger.warning("Zabbix %s: HTTP %s", method, status)
        if status is None or status >= 500:
            raise SourceUnavailable(f"Zabbix {method}: HTTP {status}") from exc
        raise SourceError(f"Zabbix {method}: HTTP {status}") from exc
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    ) as exc:
        logger.debug("Zabbix %s: unreachable (%s)", method, exc.__class__.__name__)
        raise SourceUnavailable(f"Zabbix {method}: {exc.__class__.__name__}: {exc}") from exc
    except requests.RequestException as exc:
        logger.debug("Zabbix %s: request failed (%s)", method, exc)
        raise SourceError(f"Zabbix {method}: {exc.__class__.__name__}: {exc}") from exc
    except ZabbixAPIException as exc:
        error = exc.error
        if isinstance(error, dict):
            rpc = RpcError(
                method,
                error.get("code"),
                str(error.get("message", "")),
                str(error.get("data", "")),
            )
            logger.warning("%s", rpc)
            raise rpc from exc
        # pyzabbix raises without ``error`` for an empty body or invalid JSON.
        logger.warning("Zabbix %s: malformed response: %s", method, _truncate(str(exc)))
        raise SourceError(f"Zabbix {method}: malformed response: {_truncate(str(exc))}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        # pyzabbix indexing a JSON document that is not a JSON-RPC object.
        logger.warning("Zabbix %s: malformed response (%r)", method, exc)
        raise SourceError(f"Zabbix {method}: malformed response ({exc!r})") from exc


class Transport:
    """One Zabbix JSON-RPC endpoint, with its credentials, session and counters.

    Parameters
    ----------
    url : str
        Zabbix frontend URL, with or without ``/api_jsonrpc.php``.
    token : str, optional
        API token; when given, ``user`` and ``password`` are not used.
    user, password : str, optional
        Credentials for ``user.login`` when no token is used.
    timeout : float
        Connect and read timeout of every HTTP request, in seconds.
    session : requests.Session, optional
        Session to send requests with; a private one is created (and closed by
        :meth:`close`) when omitted.

    Notes
    -----
    Calls may be sent from several threads at once: the ``requests`` session's
    connection pool is thread-safe, and the login state and counters are
    guarded by a lock.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        user: str | None,
        password: str | None,
        timeout: float,
        session: requests.Session | None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.token = token
        self.user = user
        self._password = password
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.api = ZabbixAPI(url, session=self.session, timeout=timeout)
        self._logged_in = False
        self._login_generation = 0  # logins so far (see call)
        self._lock = threading.RLock()
        self.calls = 0  # API calls sent (poll statistics)
        self.call_time_s = 0.0  # wall-clock seconds spent in them, summed over threads

    def describe(self) -> str:
        """Return ``"token"`` or ``"user='name'"`` (for ``repr``; never a secret)."""
        return "token" if self.token is not None else f"user={self.user!r}"

    def ensure_login(self) -> None:
        """Log in unless already logged in (detects the server version too)."""
        with self._lock:
            if self._logged_in:
                return
            with _translated("user.login"):
                if self.token is not None:
                    self.api.login(api_token=self.token)
                else:
                    self.api.login(self.user or "", self._password or "")
            self._logged_in = True
            self._login_generation += 1
            logger.info("Logged in to Zabbix %s at %s", self.api.version, self.api.url)

    def at_least(self, major: int, minor: int) -> bool:
        """Tell whether the server, once logged in, runs ``major.minor`` or later."""
        version = self.api.version
        return version is not None and tuple(version.release[:2]) >= (major, minor)

    def send(self, method: str, params: Mapping[str, Any] | None) -> Any:
        """Send one call as is (no login) and return its ``result``."""
        with self._lock:
            self.calls += 1
        started = time.perf_counter()
        try:
            with _translated(method):
                response = self.api.do_request(method, dict(params or {}))
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self.call_time_s += elapsed
        logger.debug("Zabbix %s answered in %.1f ms", method, elapsed * 1e3)
        if not isinstance(response, dict) or "result" not in response:
            raise SourceError(f"Zabbix {method}: malformed response (no 'result' member)")
        return response["result"]

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Send one authenticated call, re-opening a lost password session once."""
        self.ensure_login()
        generation = self._login_generation
        try:
            return self.send(method, params)
        except RpcError as exc:
            if self.token is not None or not exc.session_lost:
                raise
            with self._lock:
                # Calls run in two threads: log in again only if no other call has since.
                if self._login_generation == generation:
                    logger.info("Zabbix session lost (%s); logging in again", exc)
                    self._logged_in = False
            self.ensure_login()
            return self.send(method, params)

    def close(self) -> None:
        """Log out a password session and close the session this transport created."""
        with self._lock:
            if self._logged_in and self.token is None:
                try:
                    self.send("user.logout", None)
                except SourceError as exc:
                    logger.info("Zabbix logout failed: %s", exc)
            self._logged_in = False
            if self._owns_session:
                self.session.close()
