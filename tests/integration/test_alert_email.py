"""Alert e-mails over real SMTP (aiosmtpd on loopback), and their one-click unsubscribe.

Messages go through the real outbox (``outbox.enqueue`` then ``outbox.deliver_due`` with
the configured channels) to the loopback server of ``tests/loopback/smtp.py``, which
keeps what arrived on the wire and can refuse on demand (451, 550).
"""

from __future__ import annotations

import hashlib
import socket
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from tests.factories import demo_member
from tests.factories import make_member
from tests.factories import make_user
from tests.loopback.smtp import free_port
from webapp.channels import registry
from webapp.channels.base import Outcome
from webapp.channels.email import EmailChannel
from webapp.channels.email import first_key
from webapp.channels.email import message_id
from webapp.extensions import db
from webapp.live.poller import Poller
from webapp.models import AlertRule
from webapp.models import Delivery
from webapp.models.alerts import DeliveryStatus
from webapp.models.member import as_utc
from webapp.services import accounts
from webapp.services import alerts
from webapp.services import mail
from webapp.services import outbox
from webapp.services import unsubscribe

SENDER = "Vigie <alertes@vigie.example.org>"
NODE_URL = "http://localhost/membres/sarralbe/equipements/10101"
SUBJECT = "Panne : Routeur mairie (Sarralbe)"
BODY = (
    "Le routeur de la mairie ne répond plus depuis 20 h 09.\n"
    "Les 12 équipements derrière lui sont injoignables.\n\n"
    "Le support du syndicat est prévenu."
)


@pytest.fixture
def sender(app):
    app.config["MAIL_SENDER"] = SENDER
    return SENDER


def expected_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@vigie.example.org>"


def queue(user, key: str | None = None, **overrides) -> Delivery:
    values = {
        "key": key or f"incident-group-1:open:email:user-{user.id}",
        "user": user,
        "channel": "email",
        "kind": "problem",
        "subject": SUBJECT,
        "body": BODY,
        "data": {"url": NODE_URL, "severity": 4},
    }
    values.update(overrides)
    delivery = outbox.enqueue(**values)
    assert delivery is not None
    db.session.commit()
    return delivery


def deliver(app) -> int:
    return outbox.deliver_due(registry.build(app.config))


def text_of(message, subtype: str) -> str:
    return message.get_body((subtype,)).get_content().replace("\r\n", "\n")


def unsubscribe_url(message) -> str:
    first = message["List-Unsubscribe"].split(",")[0].strip()
    assert first.startswith("<http://localhost/profil/alertes/desabonnement/") and first.endswith(
        ">"
    ), first
    return first[1:-1]


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost")


# -- the message ------------------------------------------------------------------------


def test_an_alert_arrives_in_french_with_both_parts_the_node_link_and_its_headers(
    app, smtp, sender
):
    user = make_user(name="Jeanne Élue", email="jeanne@example.org")
    delivery = queue(user)
    assert deliver(app) == 1
    (message,) = smtp.wait_for(1)
    assert smtp.envelopes[0].rcpt_tos == ("jeanne@example.org",)
    assert smtp.envelopes[0].mail_from == "alertes@vigie.example.org"
    assert message["Subject"] == SUBJECT
    assert message["To"].addresses[0].display_name == "Jeanne Élue"
    assert message["Message-ID"] == expected_id(delivery.key)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click, mailto = (part.strip() for part in message["List-Unsubscribe"].split(","))
    assert one_click == f"<{unsubscribe_url(message)}>"
    assert mailto == "<mailto:alertes@vigie.example.org?subject=unsubscribe>"
    # On the wire the header is the URLs themselves, not RFC 2047 encoded words.
    assert b"\r\nList-Unsubscribe: <http://localhost/profil/alertes/" in smtp.raw[0]
    assert message.get_content_type() == "multipart/mixed"

    plain, html = text_of(message, "plain"), text_of(message, "html")
    for part in (plain, html):
        assert SUBJECT in part
        assert "Le routeur de la mairie ne répond plus depuis 20 h 09." in part
        assert "Le support du syndicat est prévenu." in part
        assert NODE_URL in part
        assert "http://localhost/profil/alertes" in part
        assert unsubscribe_url(message) in part
        assert "les alertes par courriel sont activées pour votre compte Vigie" in part
        assert "jeanne@example.org" in part
    assert f"Voir sur la carte : {NODE_URL}" in plain
    assert plain.startswith(SUBJECT + "\n\n")
    assert '<html lang="fr">' in html
    assert f'<a href="{NODE_URL}" style="' in html and ">Voir sur la carte</a>" in html
    assert "<img" not in html and "<script" not in html
    assert "<br>" in html  # the body's line break, kept
    row = db.session.get(Delivery, delivery.id)
    assert (row.status, row.provider, row.attempts, row.last_error) == (
        DeliveryStatus.SENT,
        "smtp",
        1,
        None,
    )


def test_a_copy_sent_again_after_a_crash_has_the_same_message_id(app, smtp, sender):
    user = make_user()
    delivery = queue(user)
    channel = registry.build(app.config)["email"]
    message = outbox.outgoing(delivery)
    assert channel.send(message).outcome == Outcome.SENT
    assert channel.send(message).outcome == Outcome.SENT
    first, again = smtp.wait_for(2)
    assert first["Message-ID"] == again["Message-ID"] == expected_id(delivery.key)
    other = queue(user, key=f"incident-group-2:open:email:user-{user.id}")
    assert channel.send(outbox.outgoing(other)).outcome == Outcome.SENT
    assert smtp.wait_for(3)[2]["Message-ID"] == expected_id(other.key) != first["Message-ID"]


def test_a_recovery_replies_to_the_first_message_of_its_incident(app, smtp, sender):
    user = make_user()
    first = queue(user)
    recovery = queue(
        user,
        key=f"incident-group-1:resolved:email:user-{user.id}",
        kind="recovery",
        subject="Réparé : Routeur mairie (Sarralbe)",
        body="Le routeur de la mairie fonctionne de nouveau depuis 21 h 02.",
        # what the alert engine writes: the first message's state key
        data={"url": NODE_URL, "thread": "incident-group-1:open"},
    )
    assert deliver(app) == 2
    opened, repaired = sorted(smtp.wait_for(2), key=lambda m: "In-Reply-To" in m)
    assert opened["Message-ID"] == expected_id(first.key)
    assert "In-Reply-To" not in opened and "References" not in opened
    assert repaired["Message-ID"] == expected_id(recovery.key)
    assert repaired["In-Reply-To"] == opened["Message-ID"]
    assert repaired["References"] == opened["Message-ID"]
    assert repaired["Subject"] == "Re: " + SUBJECT
    plain = text_of(repaired, "plain")
    assert plain.startswith("Réparé : Routeur mairie (Sarralbe)\n")
    assert "fonctionne de nouveau depuis 21 h 02" in plain


def test_the_thread_may_name_the_first_message_whole(app):
    user = make_user()
    row = queue(
        user,
        key=f"g:resolved:email:user-{user.id}",
        data={"thread": f"g:open:email:user-{user.id}"},
    )
    assert first_key(outbox.outgoing(row)) == f"g:open:email:user-{user.id}"
    plain = queue(user, key=f"h:open:email:user-{user.id}", data={})
    assert first_key(outbox.outgoing(plain)) is None
    assert message_id("k", "vigie@localhost") == message_id("k", "Vigie <vigie@LOCALHOST>")


def test_the_real_alert_engine_threads_the_repair_with_the_outage(app, smtp, sender, source):
    member = demo_member("college-la-salle")
    make_user("viewer", member=member, email="maire@example.org")
    poller = Poller(app, publish=lambda *args, **kwargs: None, observe=alerts.observe_cycle)
    poller.cycle()
    source.fail("college-la-salle-routeur")
    poller.cycle()
    later = datetime.now(UTC) + timedelta(seconds=int(app.config["ALERT_DELAY"]) + 1)
    alerts.decide(later)
    while deliver(app):
        pass
    (outage,) = smtp.wait_for(1)
    assert "Routeur" in outage["Subject"]
    source.repair("college-la-salle-routeur")
    poller.cycle()
    alerts.decide(later + timedelta(seconds=10))
    while deliver(app):
        pass
    outage, repair = smtp.wait_for(2)
    assert repair["In-Reply-To"] == repair["References"] == outage["Message-ID"]
    assert repair["Subject"] == "Re: " + outage["Subject"]
    assert repair["Message-ID"] != outage["Message-ID"]


# -- refusals and failures ------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_temporary_refusal_queues_the_message_again_with_backoff(app, smtp, sender, stage):
    user = make_user()
    delivery = queue(user)
    smtp.answer_next(451, "4.7.1 Greylisted, come back later", stage=stage)
    before = datetime.now(UTC)
    assert deliver(app) == 1
    row = db.session.get(Delivery, delivery.id)
    assert row.status == DeliveryStatus.QUEUED and row.attempts == 1
    assert "451" in row.last_error and "nouvel essai plus tard" in row.last_error
    assert "Greylisted" in row.last_error
    wait = as_utc(row.next_attempt_at) - before
    assert timedelta(seconds=outbox.backoff_s(1) - 1) <= wait <= timedelta(seconds=35)
    assert smtp.messages == [] and [r.code for r in smtp.refused] == [451]
    assert deliver(app) == 0, "not due before its backoff"
    row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert deliver(app) == 1
    (message,) = smtp.wait_for(1)
    assert message["Message-ID"] == expected_id(delivery.key)
    assert db.session.get(Delivery, delivery.id).status == DeliveryStatus.SENT


def test_a_refused_recipient_fails_the_message_with_a_french_reason(app, smtp, sender):
    user = make_user(email="parti@example.org")
    delivery = queue(user)
    smtp.answer_next(550, "5.1.1 <parti@example.org>: user unknown", address="parti@example.org")
    assert deliver(app) == 1
    row = db.session.get(Delivery, delivery.id)
    assert row.status == DeliveryStatus.FAILED and row.attempts == 1
    assert row.last_error.startswith("Adresse refusée par le serveur de courriel (550 ")
    assert "user unknown" in row.last_error
    assert smtp.messages == []
    row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert deliver(app) == 0, "a failed message is never tried again"


def test_a_refused_message_fails_and_a_refused_sender_is_retried(app, smtp, sender):
    user = make_user()
    refused = queue(user)
    smtp.answer_next(554, "5.7.1 Message rejected", stage="data")
    deliver(app)
    row = db.session.get(Delivery, refused.id)
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error.startswith("Message refusé par le serveur de courriel (554 ")
    other = queue(user, key=f"incident-group-3:open:email:user-{user.id}")
    smtp.answer_next(553, "5.7.1 Sender not allowed", stage="mail")
    deliver(app)
    row = db.session.get(Delivery, other.id)
    assert row.status == DeliveryStatus.QUEUED, "the server's configuration, not the message"
    assert "VIGIE_MAIL_SENDER" in row.last_error


def test_a_server_that_refuses_connections_means_retry(app, sender):
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    user = make_user()
    delivery = queue(user)
    assert deliver(app) == 1
    row = db.session.get(Delivery, delivery.id)
    assert row.status == DeliveryStatus.QUEUED
    assert row.last_error == (
        f"Serveur de courriel 127.0.0.1:{port} injoignable (connexion refusée) : "
        "nouvel essai plus tard."
    )


def test_a_server_that_never_answers_times_out_and_means_retry(app, sender):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # takes connections, never says hello
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=silent.getsockname()[1])
        channel = EmailChannel.from_config(app.config)
        channel.timeout = 0.3
        user = make_user()
        messages = [
            outbox.outgoing(queue(user, key=f"incident-group-{n}:open:email:user-{user.id}"))
            for n in range(3)
        ]
        started = time.monotonic()
        results = [channel.send(message) for message in messages]
        assert time.monotonic() - started < 5
        silent.setblocking(False)
        attempts = 0
        while True:  # the connections that were made, still waiting to be accepted
            try:
                connection, _address = silent.accept()
            except BlockingIOError:
                break
            connection.close()
            attempts += 1
    assert [r.outcome for r in results] == [Outcome.RETRY] * 3
    assert "ne répond pas (plus de 0.3 s)" in results[0].error
    assert results[1].error == results[2].error == results[0].error
    assert attempts == 1, "after a timeout the next messages do not wait for their own"


def test_without_a_mail_server_the_alert_is_logged_and_kept(app, sender, caplog):
    user = make_user(email="dev@example.org")
    delivery = queue(user)
    with caplog.at_level("INFO", logger="webapp.channels.email"):
        assert deliver(app) == 1
    assert "dev@example.org" in caplog.text and SUBJECT in caplog.text
    row = db.session.get(Delivery, delivery.id)
    assert (row.status, row.provider) == (DeliveryStatus.SENT, "log")
    kept = app.extensions[mail.OUTBOX_KEY][-1]
    assert kept["Message-ID"] == expected_id(delivery.key)
    assert NODE_URL in kept.get_body(("plain",)).get_content()


def test_without_a_mail_server_in_production_the_alert_fails_with_its_reason(app, sender):
    app.config["ENV"] = "production"
    delivery = queue(make_user())
    deliver(app)
    row = db.session.get(Delivery, delivery.id)
    assert row.status == DeliveryStatus.FAILED
    assert "Aucun serveur de courriel configuré (VIGIE_MAIL_SERVER)" in row.last_error


def test_account_emails_also_reach_the_loopback_server(app, smtp):
    user = make_user(email="oubli@example.org")
    accounts.request_password_reset(user.email)
    (message,) = smtp.wait_for(1)
    assert message["Subject"] == "Vigie : réinitialisation de votre mot de passe"
    assert "http://localhost/mot-de-passe/definir/" in message.get_content()
    assert smtp.envelopes[0].rcpt_tos == ("oubli@example.org",)


# -- one-click unsubscribe ------------------------------------------------------------------


def rule_of(user) -> AlertRule | None:
    db.session.expire_all()
    return db.session.scalar(select(AlertRule).where(AlertRule.user_id == user.id))


def test_the_one_click_post_of_the_mail_client_unsubscribes_without_login_or_csrf(
    app, client, smtp, sender
):
    user = make_user()
    queue(user)
    deliver(app)
    (message,) = smtp.wait_for(1)
    url = unsubscribe_url(message)
    assert rule_of(user) is None
    # RFC 8058: the mail client POSTs this body to the URL, with no cookie and no token.
    response = client.post(
        path_of(url),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert "Alertes désactivées" in response.get_data(as_text=True)
    rule = rule_of(user)
    assert rule is not None
    assert "email" not in rule.channels
    assert sorted(rule.channels) == ["portal", "push", "sms"], "the other channels stay"
    assert rule.min_severity == 4 and rule.recoveries is True
    # Again: still 200, nothing more changes.
    assert client.post(path_of(url), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert sorted(rule_of(user).channels) == ["portal", "push", "sms"]


def test_a_get_only_shows_a_confirmation_that_posts(app, client, smtp, sender):
    user = make_user(email="prudent@example.org")
    queue(user)
    deliver(app)
    url = unsubscribe_url(smtp.wait_for(1)[0])
    response = client.get(path_of(url))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert rule_of(user) is None, "a link scanner's GET must not unsubscribe"
    assert "Ne plus recevoir ces alertes" in page and "prudent@example.org" in page
    assert f'<form method="post" action="{path_of(url)}">' in page
    assert '<button type="submit"' in page
    # The page's button (a browser form, no CSRF token either) does unsubscribe.
    assert client.post(path_of(url), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert "email" not in rule_of(user).channels


def test_an_existing_rule_or_the_member_defaults_are_kept_minus_email(app, client):
    user = make_user()
    db.session.add(
        AlertRule(user=user, channels=["email", "sms"], min_severity=5, quiet_start="22:00")
    )
    db.session.commit()
    path = path_of(unsubscribe.link(user.id))
    assert client.post(path).status_code == 200
    rule = rule_of(user)
    assert (rule.channels, rule.min_severity, rule.quiet_start) == (["sms"], 5, "22:00")

    member = make_member()
    db.session.add(
        AlertRule(
            member=member,
            channels=["email", "portal"],
            min_severity=3,
            quiet_start="21:00",
            quiet_end="07:30",
        )
    )
    db.session.commit()
    other = make_user(member=member)
    assert client.post(path_of(unsubscribe.link(other.id))).status_code == 200
    rule = rule_of(other)
    assert (rule.channels, rule.min_severity, rule.quiet_start, rule.quiet_end) == (
        ["portal"],
        3,
        "21:00",
        "07:30",
    )


def _expired_token(app, user_id: int) -> str:
    class _LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - unsubscribe.MAX_AGE_S - 3600

    serializer = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt=unsubscribe.SALT, signer=_LongAgo
    )
    return serializer.dumps({"u": user_id, "c": "email"})


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_or_expired_link_gives_a_clear_french_page_and_changes_nothing(app, client, method):
    user = make_user()
    good = unsubscribe.make_token(user.id)
    password_link = accounts.make_password_token(user)  # signed, but for another purpose
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    invalid = "n'est pas valide (incomplet ou modifié)"
    cases = [
        (tampered, 404, invalid),
        ("pas-un-jeton", 404, invalid),
        (password_link, 404, invalid),
        (unsubscribe.make_token(user.id + 1000), 404, "ne correspond plus à aucun compte actif"),
        (_expired_token(app, user.id), 400, "Ce lien de désabonnement a expiré."),
    ]
    for token, status, expected in cases:
        response = getattr(client, method)(f"/profil/alertes/desabonnement/{token}")
        page = response.get_data(as_text=True)
        assert response.status_code == status, (token, page[:300])
        assert "Lien de désabonnement invalide" in page
        assert "Vos alertes n’ont pas été modifiées." in page
        assert expected in page.replace("&#39;", "'"), (token, page)
    assert rule_of(user) is None


def test_an_inactive_account_cannot_be_unsubscribed_by_link(app, client):
    user = make_user()
    path = path_of(unsubscribe.link(user.id))
    user.active = False
    db.session.commit()
    assert client.post(path).status_code == 404
    assert rule_of(user) is None


def test_staff_without_a_rule_get_no_rule_and_staff_with_one_lose_email(app, client):
    quiet = make_user("support")
    assert client.post(path_of(unsubscribe.link(quiet.id))).status_code == 200
    assert rule_of(quiet) is None, "staff hear nothing without a rule: none is made for them"
    listening = make_user("admin")
    db.session.add(AlertRule(user=listening, channels=["email", "push"], min_severity=5))
    db.session.commit()
    assert client.post(path_of(unsubscribe.link(listening.id))).status_code == 200
    assert rule_of(listening).channels == ["push"]
