"""The SMS providers against loopback servers that check the real request formats."""

from __future__ import annotations

import hashlib
import json
import socket
import threading

import pytest

from tests.loopback.sms_gateway import HttpGateway
from tests.loopback.sms_gateway import OvhApi
from webapp.channels import gsm7
from webapp.channels.base import Outcome
from webapp.channels.base import Outgoing
from webapp.channels.base import Recipient
from webapp.channels.sms import HttpProvider
from webapp.channels.sms import OvhProvider
from webapp.channels.sms import SmsChannel
from webapp.channels.sms import SmsConfigError

NUMBER = "+33612345678"


@pytest.fixture
def ovh_api():
    with OvhApi() as api:
        yield api


def ovh_config(api: OvhApi, **overrides):
    config = {
        "SMS_PROVIDER": "ovh",
        "SMS_SENDER": "VIGIE",
        "OVH_ENDPOINT": api.endpoint,
        "OVH_APPLICATION_KEY": api.application_key,
        "OVH_APPLICATION_SECRET": api.application_secret,
        "OVH_CONSUMER_KEY": api.consumer_key,
        "OVH_SMS_SERVICE": api.service,
    }
    config.update(overrides)
    return config


def message(body="Vigie : panne", data=None, phone=NUMBER, key="k-1") -> Outgoing:
    return Outgoing(
        id=1,
        key=key,
        channel="sms",
        kind="incident",
        recipient=Recipient(7, "Camille", "camille@example.org", phone),
        subject="Panne",
        body=body,
        data=data or {},
    )


# -- OVH -------------------------------------------------------------------------------


def test_ovh_job_is_signed_and_has_the_documented_fields(ovh_api):
    channel = SmsChannel.from_config(ovh_config(ovh_api))
    result = channel.send(message("Vigie : la fenêtre « école » est injoignable — 20 h 09"))
    assert result.outcome == Outcome.SENT, ovh_api.rejected
    assert result.provider == "ovh:1000"
    (job,) = ovh_api.wait_for(1)
    assert job.path == f"/1.0/sms/{ovh_api.service}/jobs"
    assert job.fields == {
        "message": 'Vigie : la fenetre "école" est injoignable - 20 h 09',
        "receivers": [NUMBER],
        "sender": "VIGIE",
        "noStopClause": True,
        "priority": "high",
        "charset": "UTF-8",
        "coding": "7bit",
    }
    # The signature, recomputed independently of the server's own check.
    headers = {k.lower(): v for k, v in job.headers.items()}
    url = f"{ovh_api.origin}/1.0/sms/{ovh_api.service}/jobs"
    signed = "+".join(
        [
            ovh_api.application_secret,
            ovh_api.consumer_key,
            "POST",
            url,
            job.body.decode(),
            headers["x-ovh-timestamp"],
        ]
    )
    assert headers["x-ovh-signature"] == "$1$" + hashlib.sha1(signed.encode()).hexdigest()
    assert headers["x-ovh-application"] == ovh_api.application_key
    assert headers["x-ovh-consumer"] == ovh_api.consumer_key
    assert ovh_api.time_asked == 1


def test_ovh_clock_is_read_once_and_followed():
    with OvhApi(clock_skew_s=3600) as api:  # the API an hour ahead: signed with its time
        channel = SmsChannel.from_config(ovh_config(api))
        assert channel.send(message()).outcome == Outcome.SENT, api.rejected
        assert channel.send(message(key="k-2")).outcome == Outcome.SENT, api.rejected
        assert api.time_asked == 1
        assert len(api.wait_for(2)) == 2


def test_ovh_wrong_secret_is_refused_as_failed(ovh_api):
    config = ovh_config(ovh_api, OVH_APPLICATION_SECRET="not-the-secret")
    result = SmsChannel.from_config(config).send(message())
    assert result.outcome == Outcome.FAILED
    assert "OVH refuse l’accès (HTTP 403" in result.error
    assert ovh_api.rejected == [(403, "Invalid signature")]
    assert ovh_api.received == []


def test_ovh_unknown_account_is_failed(ovh_api):
    result = SmsChannel.from_config(ovh_config(ovh_api, OVH_SMS_SERVICE="sms-zz0-1")).send(
        message()
    )
    assert result.outcome == Outcome.FAILED
    assert "Compte SMS OVH « sms-zz0-1 » introuvable" in result.error


def test_ovh_unregistered_sender_is_failed(ovh_api):
    result = SmsChannel.from_config(ovh_config(ovh_api, SMS_SENDER="AUTRE")).send(message())
    assert result.outcome == Outcome.FAILED
    assert result.error.startswith("OVH a refusé le SMS (HTTP 400)")
    assert "sender" in result.error


def test_ovh_invalid_receiver_in_a_200_report_is_failed(ovh_api):
    ovh_api.invalid_numbers.add(NUMBER)
    result = SmsChannel.from_config(ovh_config(ovh_api)).send(message())
    assert result.outcome == Outcome.FAILED
    assert result.error == f"OVH a refusé le numéro {NUMBER} (destinataire invalide)."


@pytest.mark.parametrize(
    ("status", "headers", "body", "outcome", "after"),
    [
        (400, {}, {"message": "Invalid receiver"}, Outcome.FAILED, None),
        (401, {}, {"message": "This call has not been granted"}, Outcome.FAILED, None),
        (404, {}, {"message": "not found"}, Outcome.FAILED, None),
        (429, {"Retry-After": "42"}, {"message": "Too many requests"}, Outcome.RETRY, 42.0),
        (503, {}, "<html>Service Unavailable</html>", Outcome.RETRY, None),
        (500, {}, {"message": "Internal server error"}, Outcome.RETRY, None),
    ],
)
def test_ovh_answers_map_to_outcomes(ovh_api, status, headers, body, outcome, after):
    ovh_api.answer_next(status, headers, body)
    result = SmsChannel.from_config(ovh_config(ovh_api)).send(message())
    assert result.outcome == outcome
    assert result.retry_after_s == after
    assert f"HTTP {status}" in result.error
    if isinstance(body, dict):
        assert body["message"] in result.error


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ovh_unreachable_is_retried():
    channel = SmsChannel(
        OvhProvider(
            endpoint=f"http://127.0.0.1:{_closed_port()}/1.0",
            application_key="ak",
            application_secret="as",
            consumer_key="ck",
            service="sms-ab12345-1",
            sender="VIGIE",
        )
    )
    result = channel.send(message())
    assert result.outcome == Outcome.RETRY
    assert "OVH injoignable" in result.error


class Silent:
    """A server that reads the request and never answers (the SMS may have left)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.got_request = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/send"

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            self.got_request.set()
            self.release.wait(10)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(5)
        self.sock.close()


def test_no_answer_after_the_request_is_failed_not_sent_twice():
    with Silent() as silent:
        provider = HttpProvider(url=silent.url, timeout=(1.0, 0.3))
        result = SmsChannel(provider).send(message())
        assert silent.got_request.is_set()
    assert result.outcome == Outcome.FAILED
    assert "peut-être parti" in result.error


# -- the generic HTTP gateway ----------------------------------------------------------


def http_config(gateway: HttpGateway, **overrides):
    config = {"SMS_PROVIDER": "http", "SMS_SENDER": "VIGIE", "SMS_HTTP_URL": gateway.url}
    config.update(overrides)
    return config


def test_http_json_template_escapes_values_as_json():
    headers = {"Authorization": "Bearer s3cret", "X-Account": "syndicat"}
    with HttpGateway(body="json", headers=headers, message_field="text") as gateway:
        config = http_config(
            gateway,
            SMS_HTTP_BODY={"to": "{to}", "text": "{message}", "from": "{sender}", "flash": False},
            SMS_HTTP_HEADERS=headers,
        )
        text = 'Panne "cœur" \\ réseau\nligne 2 {x}'
        result = SmsChannel.from_config(config).send(message(text))
        assert result.outcome == Outcome.SENT, gateway.rejected
        assert result.provider == "http:msg-1"
        (sms,) = gateway.wait_for(1)
    assert sms.method == "POST"
    assert sms.fields == {
        "to": NUMBER,
        "text": 'Panne "coeur" \\ réseau\nligne 2 {x}',
        "from": "VIGIE",
        "flash": False,
    }
    assert json.loads(sms.body) == sms.fields


def test_http_json_template_given_as_a_string():
    with HttpGateway(body="json") as gateway:
        config = http_config(gateway, SMS_HTTP_BODY='{"to": "{to}", "message": "{message}"}')
        assert SmsChannel.from_config(config).send(message('a "b"')).outcome == Outcome.SENT
        assert gateway.wait_for(1)[0].fields == {"to": NUMBER, "message": 'a "b"'}


def test_http_form_template_form_encodes_values():
    with HttpGateway(
        body="form", headers={"Authorization": "Basic dTpw"}, to_field="dest", message_field="msg"
    ) as gateway:
        config = http_config(
            gateway,
            SMS_HTTP_BODY="dest={to}&msg={message}&sender={sender}",
            SMS_HTTP_HEADERS="Authorization: Basic dTpw\nX-Unused: 1",
        )
        result = SmsChannel.from_config(config).send(message("100% & plus = é+"))
        assert result.outcome == Outcome.SENT, gateway.rejected
        (sms,) = gateway.wait_for(1)
    assert sms.fields == {"dest": NUMBER, "msg": "100% & plus = é+", "sender": "VIGIE"}
    assert sms.headers["X-Unused"] == "1"
    assert b"%2B33612345678" in sms.body and b"100%25+%26+plus+%3D+%C3%A9%2B" in sms.body


def test_http_get_gateway_puts_the_form_in_the_query_string():
    with HttpGateway(method="GET", body="query", path="/api/send") as gateway:
        config = http_config(
            gateway,
            SMS_HTTP_URL=f"{gateway.origin}/api/send?key=abc",
            SMS_HTTP_METHOD="GET",
            SMS_HTTP_BODY="to={to}&message={message}",
        )
        assert SmsChannel.from_config(config).send(message("a&b")).outcome == Outcome.SENT
        (sms,) = gateway.wait_for(1)
    assert sms.method == "GET" and sms.body == b""
    assert sms.fields == {"key": "abc", "to": NUMBER, "message": "a&b"}


def test_http_wrong_header_is_failed():
    with HttpGateway(headers={"Authorization": "Bearer good"}) as gateway:
        config = http_config(gateway, SMS_HTTP_HEADERS={"Authorization": "Bearer bad"})
        result = SmsChannel.from_config(config).send(message())
    assert result.outcome == Outcome.FAILED
    assert "refuse l’accès (HTTP 401" in result.error


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(400, Outcome.FAILED), (422, Outcome.FAILED), (429, Outcome.RETRY), (503, Outcome.RETRY)],
)
def test_http_answers_map_to_outcomes(status, outcome):
    with HttpGateway() as gateway:
        gateway.answer_next(status, {"Retry-After": "5"}, {"error": "nope"})
        result = SmsChannel.from_config(http_config(gateway)).send(message())
    assert result.outcome == outcome
    assert f"HTTP {status}" in result.error and "nope" in result.error
    assert result.retry_after_s == (5.0 if outcome == Outcome.RETRY else None)


def test_http_unreachable_is_retried():
    provider = HttpProvider(url=f"http://127.0.0.1:{_closed_port()}/send")
    result = SmsChannel(provider).send(message())
    assert result.outcome == Outcome.RETRY
    assert "injoignable" in result.error


# -- the channel -----------------------------------------------------------------------


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to, text):
        from webapp.channels.base import SendResult

        self.sent.append((to, text))
        return SendResult.sent(provider="recorder")


def test_channel_prefers_data_to_and_sms():
    recorder = Recorder()
    channel = SmsChannel(recorder)
    channel.send(message("long body", data={"to": "+32470123456", "sms": "court"}, phone=None))
    channel.send(message("Hôpital : panne"))
    assert recorder.sent == [("+32470123456", "court"), (NUMBER, "Hopital : panne")]
    assert channel.name == "sms" and channel.resend_if_interrupted is False


def test_channel_long_text_is_one_gsm7_sms():
    recorder = Recorder()
    SmsChannel(recorder).send(message("Fenêtre « maintenance » prévue — œuvre " * 10))
    ((_, text),) = recorder.sent
    assert gsm7.is_gsm7(text) and gsm7.septets(text) <= 160 and text.endswith("...")


@pytest.mark.parametrize(
    ("phone", "data", "error"),
    [
        (None, {}, "Aucun numéro de mobile confirmé pour cette personne."),
        ("0612345678", {}, "Numéro « 0612345678 » invalide (format international attendu)."),
        (NUMBER, {"sms": " "}, None),
    ],
)
def test_channel_without_a_usable_number_or_text_fails(phone, data, error):
    recorder = Recorder()
    result = SmsChannel(recorder).send(message(body="" if data else "x", data=data, phone=phone))
    assert result.outcome == Outcome.FAILED
    assert result.error == (error or "Message vide : aucun SMS envoyé.")
    assert recorder.sent == []


# -- configuration ---------------------------------------------------------------------


def test_no_provider_no_channel():
    assert SmsChannel.from_config({"SMS_PROVIDER": None}) is None
    assert SmsChannel.from_config({"SMS_PROVIDER": ""}) is None


@pytest.mark.parametrize(
    ("overrides", "message_part"),
    [
        ({"SMS_PROVIDER": "carrier-pigeon"}, "« ovh » ou « http » attendu"),
        ({"SMS_SENDER": "VIGIE-MOSELLE"}, "1 à 11 lettres ou chiffres"),
        ({"SMS_SENDER": "Vigie Fibre"}, "1 à 11 lettres ou chiffres"),
        ({"SMS_SENDER": "Vigié"}, "1 à 11 lettres ou chiffres"),
        ({"SMS_SENDER": "ABCDEFGHIJKL"}, "1 à 11 lettres ou chiffres"),
        ({"OVH_CONSUMER_KEY": None}, "il manque VIGIE_OVH_CONSUMER_KEY"),
        ({"OVH_ENDPOINT": "ovh-mars"}, "VIGIE_OVH_ENDPOINT"),
    ],
)
def test_ovh_settings_are_checked_at_start(overrides, message_part):
    config = {
        "SMS_PROVIDER": "ovh",
        "SMS_SENDER": "VIGIE",
        "OVH_ENDPOINT": "ovh-eu",
        "OVH_APPLICATION_KEY": "ak",
        "OVH_APPLICATION_SECRET": "as",
        "OVH_CONSUMER_KEY": "ck",
        "OVH_SMS_SERVICE": "sms-ab12345-1",
    }
    config.update(overrides)
    with pytest.raises(SmsConfigError, match=message_part):
        SmsChannel.from_config(config)


def test_eleven_characters_sender_is_accepted():
    config = {
        "SMS_PROVIDER": "ovh",
        "SMS_SENDER": "VigieMoselle"[:11],
        "OVH_APPLICATION_KEY": "ak",
        "OVH_APPLICATION_SECRET": "as",
        "OVH_CONSUMER_KEY": "ck",
        "OVH_SMS_SERVICE": "sms-ab12345-1",
    }
    channel = SmsChannel.from_config(config)
    assert channel.provider.sender == "VigieMosell"
    assert channel.provider.client._endpoint == "https://eu.api.ovh.com/1.0"


@pytest.mark.parametrize(
    ("overrides", "message_part"),
    [
        ({"SMS_HTTP_URL": None}, "il manque VIGIE_SMS_HTTP_URL"),
        ({"SMS_HTTP_URL": "ftp://gw"}, "https:// ou http://"),
        ({"SMS_HTTP_METHOD": "DELETE"}, "GET, POST, PUT ou PATCH"),
        ({"SMS_HTTP_BODY": '{"to": '}, "VIGIE_SMS_HTTP_BODY : JSON invalide"),
        ({"SMS_HTTP_BODY": 42}, "VIGIE_SMS_HTTP_BODY"),
        ({"SMS_HTTP_HEADERS": "Authorization Bearer x"}, "n’est pas « Nom: valeur »"),
        ({"SMS_HTTP_HEADERS": '{"a": '}, "VIGIE_SMS_HTTP_HEADERS : JSON invalide"),
        ({"SMS_HTTP_HEADERS": ["a"]}, "un objet JSON est attendu"),
    ],
)
def test_http_settings_are_checked_at_start(overrides, message_part):
    config = {"SMS_PROVIDER": "http", "SMS_HTTP_URL": "https://gw.example.org/send"}
    config.update(overrides)
    with pytest.raises(SmsConfigError, match=message_part):
        SmsChannel.from_config(config)


def test_http_default_body_is_json_to_and_message():
    provider = HttpProvider(url="https://gw.example.org/send")
    request = provider.request(NUMBER, "é")
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(request.body) == {"to": NUMBER, "message": "é"}
