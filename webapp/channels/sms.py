"""Alerts by SMS, through OVHcloud's API or a generic HTTP gateway.

``VIGIE_SMS_PROVIDER`` picks the provider: ``ovh`` (:class:`OvhProvider`, the ``ovh``
package's signed client, ``POST /sms/{serviceName}/jobs``) or ``http``
(:class:`HttpProvider`, any gateway taking a URL, a method, headers and a body template
with ``{to}`` and ``{message}``). Empty: no SMS channel.

Every text is made to fit one GSM-7 SMS (:mod:`webapp.channels.gsm7`): a French alert
never switches to UCS-2 and its 70 characters. The provider's answer becomes the
outbox's outcome: 2xx sent (the provider's job id kept), 429/5xx and a connection that
could not be made retried, other 4xx failed with a French reason. An SMS is never sent
twice on doubt: a request that reached the provider but got no answer is failed (it
may have left), like an interrupted send (``resend_if_interrupted = False``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from typing import Protocol
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import urlencode

import ovh
import requests
from ovh import client as ovh_client
from requests.structures import CaseInsensitiveDict

from webapp.channels import gsm7
from webapp.channels.base import ChannelConfigError
from webapp.channels.base import ChannelName
from webapp.channels.base import Outgoing
from webapp.channels.base import SendResult

logger = logging.getLogger(__name__)

__all__ = [
    "HttpProvider",
    "OvhProvider",
    "SmsChannel",
    "SmsConfigError",
    "SmsProvider",
    "sms_text",
]

DEFAULT_TIMEOUT = (5.0, 15.0)  # connect, read (seconds)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SENDER = re.compile(r"^[A-Za-z0-9]{1,11}$")
_UNCERTAIN = (
    "Pas de réponse du fournisseur de SMS après l’envoi : le SMS est peut-être parti ; "
    "il n’est pas renvoyé pour éviter un doublon."
)


class SmsConfigError(ChannelConfigError):
    """The SMS settings cannot work (raised when the channels are built, at start)."""


class SmsProvider(Protocol):
    """Sends one text to one E.164 number and says how it went."""

    name: str

    def send(self, to: str, text: str) -> SendResult: ...


# -- shared by both providers ------------------------------------------------------------


def _retry_after(response: requests.Response) -> float | None:
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer_text(response: requests.Response) -> str:
    """The provider's own words: a JSON ``message``/``error``, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return _short(response.text)
    if isinstance(body, dict):
        for key in ("message", "error", "error_message", "detail", "description"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return _short(value)
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return _short(value["message"])
    return _short(response.text)


def _network_result(who: str, exc: requests.RequestException) -> SendResult:
    """A request that got no answer: retried, unless it reached the provider (doubt)."""
    if isinstance(exc, requests.ReadTimeout | requests.exceptions.ChunkedEncodingError):
        return SendResult.failed(_UNCERTAIN, provider=who)
    return SendResult.retry(
        f"{who} injoignable ({type(exc).__name__}) : nouvel essai plus tard.", provider=who
    )


# -- OVHcloud ----------------------------------------------------------------------------


class OvhProvider:
    """OVHcloud's SMS API: ``POST /sms/{serviceName}/jobs``, signed by the ``ovh`` client.

    The ``ovh`` client signs each call (``X-Ovh-Application``, ``X-Ovh-Consumer``,
    ``X-Ovh-Timestamp``, ``X-Ovh-Signature``) after reading the API's clock once
    (``GET /auth/time``). ``endpoint`` is a region of ``ovh.client.ENDPOINTS``
    (``ovh-eu``) or the URL of an API (``https://…/1.0``, a test server on loopback).
    """

    name = "ovh"

    def __init__(
        self,
        *,
        endpoint: str,
        application_key: str,
        application_secret: str,
        consumer_key: str,
        service: str,
        sender: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        if endpoint.startswith(("https://", "http://")):
            # The client takes a region name only: a URL is registered under its own name.
            ovh_client.ENDPOINTS.setdefault(endpoint.rstrip("/"), endpoint.rstrip("/"))
            endpoint = endpoint.rstrip("/")
        try:
            self.client = ovh.Client(
                endpoint=endpoint,
                application_key=application_key,
                application_secret=application_secret,
                consumer_key=consumer_key,
                timeout=timeout,
            )
        except ovh.exceptions.APIError as exc:  # InvalidRegion, InvalidConfiguration
            raise SmsConfigError(f"VIGIE_OVH_ENDPOINT / clés OVH : {exc}") from None
        self.service = service
        self.sender = sender
        self.path = f"/sms/{quote(service, safe='')}/jobs"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OvhProvider:
        missing = [
            f"VIGIE_{key}"
            for key in (
                "OVH_APPLICATION_KEY",
                "OVH_APPLICATION_SECRET",
                "OVH_CONSUMER_KEY",
                "OVH_SMS_SERVICE",
            )
            if not config.get(key)
        ]
        if missing:
            raise SmsConfigError("SMS par OVH : il manque " + ", ".join(missing) + ".")
        return cls(
            endpoint=str(config.get("OVH_ENDPOINT") or "ovh-eu"),
            application_key=str(config["OVH_APPLICATION_KEY"]),
            application_secret=str(config["OVH_APPLICATION_SECRET"]),
            consumer_key=str(config["OVH_CONSUMER_KEY"]),
            service=str(config["OVH_SMS_SERVICE"]),
            sender=_sender(config),
        )

    def job(self, to: str, text: str) -> dict[str, Any]:
        """The body of the job: an alert, not marketing (no STOP clause), sent first."""
        return {
            "message": text,
            "receivers": [to],
            "sender": self.sender,
            "noStopClause": True,
            "priority": "high",
            "charset": "UTF-8",
            "coding": "7bit",
        }

    def send(self, to: str, text: str) -> SendResult:
        try:
            response = self.client.raw_call("POST", self.path, data=self.job(to, text))
        except requests.RequestException as exc:
            return _network_result("OVH", exc)
        except ovh.exceptions.APIError as exc:  # reading the API's clock (GET /auth/time)
            answer = getattr(exc, "response", None)
            status = answer.status_code if answer is not None else None
            if status is None or status == 429 or status >= 500:
                return SendResult.retry(f"OVH injoignable (horloge de l’API) : {exc}")
            return SendResult.failed(f"OVH refuse la lecture de son horloge : {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return self._report(to, response)
        detail = _answer_text(response)
        if status == 429 or status >= 500:
            return SendResult.retry(
                f"OVH indisponible (HTTP {status}) : {detail}",
                after_s=_retry_after(response),
                provider=self.name,
            )
        if status in (401, 403):
            reason = f"OVH refuse l’accès (HTTP {status}, clés d’API ou droits) : {detail}"
        elif status == 404:
            reason = f"Compte SMS OVH « {self.service} » introuvable (HTTP 404) : {detail}"
        else:
            reason = f"OVH a refusé le SMS (HTTP {status}) : {detail}"
        logger.warning("OVH refused an SMS: %s", reason)
        return SendResult.failed(reason, provider=self.name)

    def _report(self, to: str, response: requests.Response) -> SendResult:
        try:
            report = response.json()
        except ValueError:
            report = {}
        if not isinstance(report, dict):
            report = {}
        invalid = report.get("invalidReceivers") or []
        valid = report.get("validReceivers")
        if to in invalid or (isinstance(valid, list) and not valid):
            return SendResult.failed(
                f"OVH a refusé le numéro {to} (destinataire invalide).", provider=self.name
            )
        ids = report.get("ids") or []
        job = f"ovh:{ids[0]}" if ids else self.name
        return SendResult.sent(provider=job)


def _sender(config: Mapping[str, Any]) -> str:
    sender = str(config.get("SMS_SENDER") or "").strip()
    if not _SENDER.match(sender):
        raise SmsConfigError(
            f"VIGIE_SMS_SENDER « {sender} » : 1 à 11 lettres ou chiffres, sans espace ni accent."
        )
    return sender


# -- a generic HTTP gateway --------------------------------------------------------------

_PLACEHOLDERS = ("{to}", "{message}", "{sender}")


def _render(template: str, values: Mapping[str, str], escape=lambda v: v) -> str:
    for placeholder in _PLACEHOLDERS:
        template = template.replace(placeholder, escape(values[placeholder[1:-1]]))
    return template


def _render_json(template: Any, values: Mapping[str, str]) -> Any:
    """A decoded JSON template with the placeholders of its strings (keys too) filled."""
    if isinstance(template, str):
        return _render(template, values)
    if isinstance(template, list):
        return [_render_json(item, values) for item in template]
    if isinstance(template, dict):
        return {_render(k, values): _render_json(v, values) for k, v in template.items()}
    return template


def _headers(raw: Any) -> dict[str, str]:
    """``SMS_HTTP_HEADERS``: a JSON object, or « Name: value » lines."""
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError as exc:
                raise SmsConfigError(f"VIGIE_SMS_HTTP_HEADERS : JSON invalide ({exc}).") from None
        else:
            headers = {}
            for line in text.splitlines():
                if not line.strip():
                    continue
                name, sep, value = line.partition(":")
                if not sep or not name.strip():
                    raise SmsConfigError(
                        f"VIGIE_SMS_HTTP_HEADERS : « {line} » n’est pas « Nom: valeur »."
                    )
                headers[name.strip()] = value.strip()
            return headers
    if not isinstance(raw, dict):
        raise SmsConfigError("VIGIE_SMS_HTTP_HEADERS : un objet JSON est attendu.")
    return {str(k): str(v) for k, v in raw.items()}


class HttpProvider:
    """Any HTTP gateway: ``SMS_HTTP_URL``, ``_METHOD``, ``_HEADERS`` and ``_BODY``.

    The body template holds ``{to}`` (E.164), ``{message}`` and ``{sender}``. A JSON
    template (a JSON object, which the environment hands over decoded) is sent as JSON,
    each value JSON-escaped; any other text is a form (``to={to}&text={message}``), each
    value form-encoded. With GET the form goes into the query string. The URL may hold
    the placeholders too (URL-encoded).
    """

    name = "http"

    def __init__(
        self,
        *,
        url: str,
        method: str = "POST",
        body: str | dict | list | None = None,
        headers: Mapping[str, str] | None = None,
        sender: str = "",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise SmsConfigError("VIGIE_SMS_HTTP_URL doit commencer par https:// ou http://.")
        self.url = url
        self.method = method.upper()
        if self.method not in {"GET", "POST", "PUT", "PATCH"}:
            raise SmsConfigError(f"VIGIE_SMS_HTTP_METHOD « {method} » : GET, POST, PUT ou PATCH.")
        self.kind, self.template = self._template(body)
        self.headers = dict(headers or {})
        self.sender = sender
        self.timeout = timeout
        self.session = requests.Session()

    @staticmethod
    def _template(body: Any) -> tuple[str, Any]:
        if body is None or body == "":
            return "json", {"to": "{to}", "message": "{message}"}
        if isinstance(body, dict | list):
            return "json", body
        if isinstance(body, str):
            text = body.strip()
            if text.startswith(("{", "[")):
                try:
                    return "json", json.loads(text)
                except ValueError as exc:
                    raise SmsConfigError(f"VIGIE_SMS_HTTP_BODY : JSON invalide ({exc}).") from None
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
            if not pairs:
                raise SmsConfigError("VIGIE_SMS_HTTP_BODY : modèle de formulaire vide.")
            return "form", pairs
        raise SmsConfigError("VIGIE_SMS_HTTP_BODY : un modèle JSON ou de formulaire est attendu.")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HttpProvider:
        url = config.get("SMS_HTTP_URL")
        if not url:
            raise SmsConfigError("SMS par passerelle HTTP : il manque VIGIE_SMS_HTTP_URL.")
        return cls(
            url=str(url),
            method=str(config.get("SMS_HTTP_METHOD") or "POST"),
            body=config.get("SMS_HTTP_BODY"),
            headers=_headers(config.get("SMS_HTTP_HEADERS")),
            sender=str(config.get("SMS_SENDER") or ""),
        )

    def request(self, to: str, text: str) -> requests.PreparedRequest:
        """The request this gateway is sent for one SMS."""
        values = {"to": to, "message": text, "sender": self.sender}
        url = _render(self.url, values, escape=lambda v: quote(v, safe=""))
        headers = CaseInsensitiveDict(self.headers)
        data: str | bytes | None = None
        if self.kind == "json":
            data = json.dumps(_render_json(self.template, values), ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        else:
            form = urlencode([(_render(k, values), _render(v, values)) for k, v in self.template])
            if self.method == "GET":
                url = f"{url}{'&' if '?' in url else '?'}{form}"
            else:
                data = form
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return requests.Request(self.method, url, headers=headers, data=data).prepare()

    def send(self, to: str, text: str) -> SendResult:
        try:
            response = self.session.send(
                self.request(to, text), timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            return _network_result("Passerelle SMS", exc)
        status = response.status_code
        if 200 <= status < 300:
            return SendResult.sent(provider=self._job_id(response))
        detail = _answer_text(response)
        if status in (408, 425, 429) or status >= 500:
            return SendResult.retry(
                f"Passerelle SMS indisponible (HTTP {status}) : {detail}",
                after_s=_retry_after(response),
                provider=self.name,
            )
        if status in (401, 403):
            reason = f"La passerelle SMS refuse l’accès (HTTP {status}, identifiants) : {detail}"
        elif 300 <= status < 400:
            reason = f"La passerelle SMS redirige (HTTP {status}) : vérifiez VIGIE_SMS_HTTP_URL."
        else:
            reason = f"La passerelle SMS a refusé le SMS (HTTP {status}) : {detail}"
        logger.warning("SMS gateway refused an SMS: %s", reason)
        return SendResult.failed(reason, provider=self.name)

    def _job_id(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return self.name
        if isinstance(body, dict):
            for key in ("id", "messageId", "message_id", "sid", "ids"):
                value = body.get(key)
                if isinstance(value, list) and value:
                    value = value[0]
                if isinstance(value, str | int) and not isinstance(value, bool):
                    return f"{self.name}:{value}"[:120]
        return self.name


# -- the channel -------------------------------------------------------------------------


def sms_text(message: Outgoing) -> str:
    """What the SMS says: ``data["sms"]`` or the body, in one GSM-7 SMS when possible."""
    return gsm7.fit(str(message.data.get("sms") or message.body or ""))


class SmsChannel:
    """Alerts and confirmation codes by SMS."""

    name = ChannelName.SMS
    resend_if_interrupted = False  # a second SMS costs and annoys: reported instead

    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmsChannel | None:
        """The channel, or ``None`` when ``SMS_PROVIDER`` is empty.

        Raises :class:`SmsConfigError` when the provider is unknown or its settings
        cannot work (missing keys, a sender longer than 11 characters…).
        """
        choice = str(config.get("SMS_PROVIDER") or "").strip().lower()
        if not choice:
            return None
        if choice == "ovh":
            return cls(OvhProvider.from_config(config))
        if choice == "http":
            return cls(HttpProvider.from_config(config))
        raise SmsConfigError(f"VIGIE_SMS_PROVIDER « {choice} » : « ovh » ou « http » attendu.")

    def send(self, message: Outgoing) -> SendResult:
        to = str(message.data.get("to") or message.recipient.phone or "").strip()
        if not to:
            return SendResult.failed("Aucun numéro de mobile confirmé pour cette personne.")
        if not _E164.match(to):
            return SendResult.failed(f"Numéro « {to} » invalide (format international attendu).")
        text = sms_text(message)
        if not text:
            return SendResult.failed("Message vide : aucun SMS envoyé.")
        result = self.provider.send(to, text)
        logger.info("SMS %s to user %s: %s", message.key, message.recipient.user_id, result.outcome)
        return result
