"""Web Push end to end on loopback: service → outbox → channel → push service, decrypted.

The push service (tests/loopback/push_service.py) checks the VAPID JWT, the headers and
decrypts every message with the subscription's private keys, as a browser would.
"""

from __future__ import annotations

import os
import socket
import stat
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_user
from tests.loopback.push_service import PushService
from webapp.channels import registry
from webapp.channels.base import Outcome
from webapp.channels.base import Outgoing
from webapp.channels.base import Recipient
from webapp.channels.push import PushConfigError
from webapp.channels.push import WebPushChannel
from webapp.channels.push import check_subject
from webapp.channels.push import retry_after_s
from webapp.channels.push import topic_of
from webapp.channels.push import urgency_of
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models import PushSubscription
from webapp.models.alerts import DeliveryStatus
from webapp.models.member import utcnow
from webapp.services import outbox
from webapp.services import push
from webapp.services.errors import NotFound
from webapp.services.errors import ValidationError

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def vapid(app, tmp_path):
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "vapid_private.pem")
    return push.generate_keys()


@pytest.fixture
def service():
    with PushService() as running:
        yield running


@pytest.fixture
def channel(app, vapid):
    built = WebPushChannel.from_config(app.config)
    assert built is not None
    return built


def _deliver(channel) -> list[Delivery]:
    outbox.deliver_due({"push": channel})
    db.session.expire_all()
    return list(db.session.scalars(select(Delivery).order_by(Delivery.id)))


def _subscribed(user, service, vapid, user_agent=CHROME_ANDROID):
    browser = service.subscribe(server_key=vapid)
    row, created = push.subscribe(user, browser.to_json(), user_agent)
    assert created
    return browser, row


def _alert(user, row, *, key="incident-12:open:push:user-1", kind="alert", severity=5, **data):
    delivery = outbox.enqueue(
        key=key,
        user=user,
        channel="push",
        kind=kind,
        subject="Panne : Routeur mairie",
        body="Le routeur de la mairie ne répond plus depuis 20 h 09.",
        data={
            "subscription_id": row.id,
            "url": "http://localhost/membres/sarralbe/carte?noeud=10084",
            "severity": severity,
            "topic": "incident-12",
            **data,
        },
    )
    db.session.commit()
    return delivery


# -- keys ------------------------------------------------------------------------------


def test_keys_are_made_once_private_and_readable(app, vapid):
    path = push.key_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert push.public_key() == vapid
    assert len(push.b64url_decode(vapid)) == 65 and push.b64url_decode(vapid)[0] == 4
    with pytest.raises(push.KeyExists):
        push.generate_keys()
    assert push.public_key() == vapid, "an existing key is never replaced without force"
    assert push.generate_keys(force=True) != vapid


def test_cli_push_keys(app, runner, tmp_path):
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "k.pem")
    first = runner.invoke(args=["vigie", "push", "keys"])
    assert first.exit_code == 0, first.output
    public = first.stdout.strip()
    assert public == push.public_key()
    again = runner.invoke(args=["vigie", "push", "keys"])
    assert again.exit_code == 0 and again.stdout.strip() == public
    assert "déjà présente" in again.stderr
    forced = runner.invoke(args=["vigie", "push", "keys", "--force"])
    assert forced.exit_code == 0 and forced.stdout.strip() != public


def test_no_key_no_channel(app, tmp_path):
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "none.pem")
    assert WebPushChannel.from_config(app.config) is None
    assert push.public_key() is None
    assert "push" not in registry.build(app.config)


def test_channel_registered_with_a_key(app, vapid):
    assert isinstance(registry.build(app.config)["push"], WebPushChannel)


@pytest.mark.parametrize(
    "subject",
    ["support@example.org", "http://example.org/contact", "mailto:", "", None, "mailto:a b@c"],
)
def test_vapid_subject_must_be_mailto_or_https(app, vapid, subject):
    app.config["VAPID_SUBJECT"] = subject
    with pytest.raises(PushConfigError, match="VIGIE_VAPID_SUBJECT"):
        WebPushChannel.from_config(app.config)


def test_vapid_subjects_accepted():
    assert check_subject("mailto:support@syndicat.fr") == "mailto:support@syndicat.fr"
    assert check_subject("https://vigie.syndicat.fr/contact")


# -- end to end ------------------------------------------------------------------------


def test_alert_reaches_the_push_service_decrypted_in_declarative_shape(
    app, service, vapid, channel
):
    user = make_user()
    browser, row = _subscribed(user, service, vapid)
    _alert(user, row)
    deliveries = _deliver(channel)
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT], deliveries[0].last_error
    (message,) = service.wait_for(1)
    assert message.token == browser.token
    payload = message.json
    timestamp = payload["notification"].pop("timestamp")
    assert abs(timestamp / 1000 - utcnow().timestamp()) < 60
    assert payload == {
        "web_push": 8030,
        "notification": {
            "title": "Panne : Routeur mairie",
            "body": "Le routeur de la mairie ne répond plus depuis 20 h 09.",
            "navigate": "http://localhost/membres/sarralbe/carte?noeud=10084",
            "lang": "fr",
            "dir": "ltr",
            "tag": "incident-12",
            "silent": False,
            "require_interaction": True,
        },
    }
    assert message.headers["urgency"] == "high"
    assert message.headers["topic"] == "incident-12"
    assert message.headers["ttl"] == str(app.config["PUSH_TTL"])
    assert message.claims["sub"] == app.config["VAPID_SUBJECT"]
    assert message.claims["aud"] == service.origin
    db.session.refresh(row)
    assert row.last_success_at is not None


def test_fresh_claims_for_each_push_service(app, vapid, channel):
    """pywebpush writes aud into the claims it is given (its issue #130): never reused."""
    user = make_user()
    with PushService() as first, PushService() as second:
        _b1, row1 = _subscribed(user, first, vapid)
        _b2, row2 = _subscribed(user, second, vapid)
        _alert(user, row1, key="k1")
        _alert(user, row2, key="k2")
        deliveries = _deliver(channel)
        assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 2, [
            d.last_error for d in deliveries
        ]
        assert first.wait_for(1)[0].claims["aud"] == first.origin
        assert second.wait_for(1)[0].claims["aud"] == second.origin
        assert first.rejected == [] and second.rejected == []


@pytest.mark.parametrize(
    ("kind", "severity", "urgency"),
    [
        ("alert", 5, "high"),
        ("alert", 4, "high"),
        ("alert", 3, "normal"),
        ("alert", 2, "low"),
        ("alert", None, "low"),
        ("recovery", 5, "normal"),
    ],
)
def test_urgency_from_severity(kind, severity, urgency, app, service, vapid, channel):
    assert urgency_of(kind, severity) == urgency
    user = make_user()
    _browser, row = _subscribed(user, service, vapid)
    _alert(user, row, kind=kind, severity=severity)
    _deliver(channel)
    assert service.wait_for(1)[0].headers["urgency"] == urgency


def test_long_topic_is_hashed_into_the_alphabet_and_used_as_tag(app, service, vapid, channel):
    raw = "incident-12:open:push:user-3 (recovery) é"
    topic = topic_of(raw)
    assert len(topic) <= 32 and topic_of(raw) == topic and topic != topic_of(raw + "x")
    user = make_user()
    _browser, row = _subscribed(user, service, vapid)
    _alert(user, row, topic=raw)
    _deliver(channel)
    message = service.wait_for(1)[0]
    assert message.headers["topic"] == topic
    assert message.json["notification"]["tag"] == topic


def test_gone_410_removes_the_subscription(app, service, vapid, channel):
    user = make_user()
    browser, row = _subscribed(user, service, vapid)
    row_id = row.id
    _alert(user, row)
    service.unsubscribe(browser)  # the browser dropped it: 410
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.FAILED
    assert "n’est plus abonné" in delivery.last_error and "410" in delivery.last_error
    assert db.session.get(PushSubscription, row_id) is None
    assert service.rejected == [(410, "no such subscription")]


def test_404_is_gone_too(app, service, vapid, channel):
    user = make_user()
    _browser, row = _subscribed(user, service, vapid)
    row_id = row.id
    service.answer_next(404)
    _alert(user, row)
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.FAILED
    assert db.session.get(PushSubscription, row_id) is None


def test_413_fails_for_good_with_a_reason(app, service, vapid, channel):
    user = make_user()
    _browser, row = _subscribed(user, service, vapid)
    service.answer_next(413)
    _alert(user, row)
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "Message trop long pour une notification (réponse 413)."
    assert db.session.get(PushSubscription, row.id) is not None


def test_429_retries_after_retry_after_then_sends(app, service, vapid, channel):
    user = make_user()
    _browser, row = _subscribed(user, service, vapid)
    service.answer_next(429, {"Retry-After": "120"})
    _alert(user, row)
    before = utcnow()
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.QUEUED
    assert "429" in delivery.last_error
    wait = delivery.next_attempt_at.replace(tzinfo=None) - before.replace(tzinfo=None)
    assert timedelta(seconds=115) < wait < timedelta(seconds=130), wait
    delivery.next_attempt_at = utcnow()  # the time has come
    db.session.commit()
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    assert len(service.wait_for(1)) == 1


def test_5xx_retries_and_honours_an_http_date(app, service, vapid, channel):
    user = make_user()
    _browser, row = _subscribed(user, service, vapid)
    service.answer_next(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    _alert(user, row)
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.QUEUED and "503" in delivery.last_error
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_s("7") == 7.0 and retry_after_s("soon") is None


def test_unreachable_push_service_retries(app, vapid, channel):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with PushService() as service:
        user = make_user()
        browser = service.subscribe(server_key=vapid)
        subscription = browser.to_json()
    subscription["endpoint"] = f"http://127.0.0.1:{port}/push/x"
    row, _ = push.subscribe(user, subscription, CHROME_ANDROID)
    _alert(user, row)
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.QUEUED
    assert delivery.last_error.startswith("Service de notification injoignable")


def test_redirects_are_not_followed(app, service, vapid, channel):
    user = make_user()
    _browser, row = _subscribed(user, service, vapid)
    service.answer_next(307, {"Location": "http://10.0.0.1/internal"})
    _alert(user, row)
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.FAILED and "307" in delivery.last_error


def test_send_refuses_an_endpoint_that_became_internal(app, vapid):
    app.config["ENV"] = "production"
    channel = WebPushChannel.from_config(app.config)
    message = Outgoing(
        id=1,
        key="k",
        channel="push",
        kind="alert",
        recipient=Recipient(1, "A", "a@example.org"),
        subject="s",
        body="b",
        data={"push": {"endpoint": "http://127.0.0.1:9/x", "keys": {"p256dh": "x", "auth": "y"}}},
    )
    result = channel.send(message)
    assert result.outcome == Outcome.FAILED and "https" in result.error


def test_very_long_body_is_cut_to_fit(app, service, vapid, channel):
    user = make_user()
    _browser, row = _subscribed(user, service, vapid)
    outbox.enqueue(
        key="long",
        user=user,
        channel="push",
        kind="alert",
        subject="Panne",
        body="é" * 5000,
        data={"subscription_id": row.id, "url": "http://localhost/", "severity": 4},
    )
    db.session.commit()
    (delivery,) = _deliver(channel)
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    body = service.wait_for(1)[0].json["notification"]["body"]
    assert body.endswith("…") and 100 < len(body) < 5000


def test_send_test_goes_out(app, service, vapid, channel):
    user = make_user()
    _browser, row = _subscribed(user, service, vapid, SAFARI_IPHONE)
    first = push.send_test(user, row)
    second = push.send_test(user, row)
    assert first.key != second.key, "each click is its own message"
    assert first.kind == "test"
    _deliver(channel)
    messages = service.wait_for(2)
    notification = messages[0].json["notification"]
    assert notification["title"] == "Vigie : notification de test"
    assert "Safari sur iPhone" in notification["body"]
    assert notification["navigate"] == "http://localhost/"
    assert messages[0].headers["urgency"] == "normal"
    other = make_user()
    with pytest.raises(NotFound):
        push.send_test(other, row)


# -- subscriptions ---------------------------------------------------------------------


def test_resubscribing_updates_and_never_duplicates(app, service, vapid):
    user = make_user()
    browser, row = _subscribed(user, service, vapid)
    again, created = push.subscribe(user, browser.to_json(), SAFARI_IPHONE)
    assert not created and again.id == row.id and again.label == "Safari sur iPhone"
    assert [d.id for d in push.devices(user)] == [row.id]
    other = make_user()  # the same browser, someone else logged in: it moves
    moved, created = push.subscribe(other, browser.to_json(), CHROME_ANDROID)
    assert not created and moved.id == row.id
    assert push.devices(user) == [] and [d.id for d in push.devices(other)] == [row.id]


def test_unsubscribe_only_ones_own(app, service, vapid):
    user, other = make_user(), make_user()
    _browser, row = _subscribed(user, service, vapid)
    with pytest.raises(NotFound):
        push.unsubscribe(other, row.id)
    push.unsubscribe(user, row.id)
    assert push.devices(user) == []
    with pytest.raises(NotFound):
        push.unsubscribe(user, row.id)


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (CHROME_ANDROID, "Chrome sur Android"),
        (SAFARI_IPHONE, "Safari sur iPhone"),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Mobile/15E148",
            "Safari sur iPad",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox sur Linux",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge sur Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Safari/605.1.15",
            "Safari sur Mac",
        ),
        ("", "Navigateur inconnu"),
        (None, "Navigateur inconnu"),
    ],
)
def test_device_label(app, user_agent, label):
    assert push.device_label(user_agent) == label


def _valid(service, vapid):
    return service.subscribe(server_key=vapid).to_json()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: "not a dict", "subscription"),
        (lambda s: [s], "subscription"),
        (lambda s: {**s, "keys": None}, "keys"),
        (lambda s: {**s, "keys": {"auth": s["keys"]["auth"]}}, "keys.p256dh"),
        (lambda s: {**s, "keys": {**s["keys"], "p256dh": "AAAA"}}, "keys.p256dh"),
        (lambda s: {**s, "keys": {**s["keys"], "p256dh": "B" * 87}}, "keys.p256dh"),  # not a point
        (lambda s: {**s, "keys": {**s["keys"], "p256dh": "x" * 5000}}, "keys.p256dh"),
        (lambda s: {**s, "keys": {**s["keys"], "auth": "a b+c/"}}, "keys.auth"),
        (lambda s: {**s, "keys": {**s["keys"], "auth": "AAAAAAAA"}}, "keys.auth"),
        (lambda s: {**s, "keys": {**s["keys"], "auth": 12}}, "keys.auth"),
        (lambda s: {**s, "endpoint": None}, "endpoint"),
        (lambda s: {**s, "endpoint": "ftp://127.0.0.1/x"}, "endpoint"),
        (lambda s: {**s, "endpoint": "http://127.0.0.1:99999/x"}, "endpoint"),
        (lambda s: {**s, "endpoint": "http://user:pw@127.0.0.1/x"}, "endpoint"),
        (lambda s: {**s, "endpoint": "https://127.0.0.1/" + "x" * 3000}, "endpoint"),
        (lambda s: {**s, "endpoint": "javascript:alert(1)"}, "endpoint"),
    ],
)
def test_bad_subscriptions_are_refused_in_french(app, service, vapid, mutate, field):
    user = make_user()
    with pytest.raises(ValidationError) as caught:
        push.subscribe(user, mutate(_valid(service, vapid)), CHROME_ANDROID)
    assert field in caught.value.errors
    assert push.devices(user) == []


# -- no SSRF ---------------------------------------------------------------------------

PRODUCTION = {"ENV": "production", "PUSH_ALLOW_LOOPBACK": None}
DEVELOPMENT = {"ENV": "development", "PUSH_ALLOW_LOOPBACK": None}


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8080/push/x",  # loopback, and not https
        "https://127.0.0.1/push/x",
        "https://[::1]/push/x",
        "https://localhost/push/x",  # a name resolving to loopback
        "https://10.0.0.1/push/x",
        "https://192.168.1.10/push/x",
        "https://172.16.0.1/push/x",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://[fe80::1]/push/x",
        "https://[::ffff:10.0.0.1]/push/x",
        "https://0.0.0.0/push/x",
        "https://100.64.0.1/push/x",  # carrier-grade NAT
        "https://240.0.0.1/push/x",  # reserved
        "https://push.invalid/push/x",  # does not resolve
        "http://fcm.googleapis.com/fcm/send/x",  # not https
    ],
)
def test_production_refuses_internal_endpoints(app, endpoint):
    with pytest.raises(ValidationError):
        push.check_endpoint(endpoint, PRODUCTION)


def test_a_name_resolving_to_an_internal_address_is_refused(app, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        table = {
            "push.evil.example": ["203.0.113.0", "10.1.2.3"],  # one public, one private
            "fcm.googleapis.com": ["142.250.179.106", "2a00:1450:4007:80e::200a"],
            "rebind.example": ["127.0.0.1"],
        }
        if host in table:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, 1, 6, "", (a, 443))
                for a in table[host]
            ]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(ValidationError, match="adresse publique"):
        push.check_endpoint("https://push.evil.example/x", PRODUCTION)
    with pytest.raises(ValidationError):
        push.check_endpoint("https://rebind.example/x", PRODUCTION)
    assert push.check_endpoint("https://fcm.googleapis.com/fcm/send/abc", PRODUCTION)
    # outside production a loopback push service is fine, other internal hosts are not
    assert push.check_endpoint("http://rebind.example:8080/x", DEVELOPMENT)
    with pytest.raises(ValidationError):
        push.check_endpoint("https://push.evil.example/x", DEVELOPMENT)


def test_development_accepts_loopback_only(app):
    assert push.check_endpoint("http://127.0.0.1:8080/push/x", DEVELOPMENT)
    assert push.check_endpoint("http://[::1]:8080/push/x", DEVELOPMENT)
    for endpoint in ("http://10.0.0.1/x", "https://169.254.169.254/x", "http://192.168.0.1/x"):
        with pytest.raises(ValidationError):
            push.check_endpoint(endpoint, DEVELOPMENT)
    explicit = {"ENV": "development", "PUSH_ALLOW_LOOPBACK": False}
    with pytest.raises(ValidationError):
        push.check_endpoint("http://127.0.0.1:8080/push/x", explicit)
    forced = {"ENV": "production", "PUSH_ALLOW_LOOPBACK": True}
    assert push.check_endpoint("http://127.0.0.1:8080/push/x", forced)


def test_cli_push_keys_warns_about_a_bad_subject(app, runner, tmp_path):
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "k.pem")
    app.config["VAPID_SUBJECT"] = "support@example.org"
    result = runner.invoke(args=["vigie", "push", "keys"])
    assert result.exit_code == 0
    assert result.stdout.strip() == push.public_key()
    assert "Attention : VIGIE_VAPID_SUBJECT='support@example.org'" in result.stderr
