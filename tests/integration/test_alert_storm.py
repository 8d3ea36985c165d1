"""The storm test, with the real protocols on loopback: an upstream failure → one message each.

The poller sees a member's Internet box fail (12 devices behind it); after the alert delay
the worker decides and delivers through the real channels: e-mail to an SMTP server
(aiosmtpd), Web Push to a push service that checks VAPID and decrypts the RFC 8291
body, SMS to the OVH API that checks the request signature. Exactly one message per
person per channel (one per subscribed device for push) names the cause and the number
of devices behind it; then exactly one recovery each.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from email.utils import parseaddr

import pytest
from sqlalchemy import select

from tests.factories import demo_member
from tests.factories import make_user
from tests.loopback.push_service import PushService
from tests.loopback.sms_gateway import OvhApi
from webapp.channels import registry
from webapp.extensions import db
from webapp.live.poller import Poller
from webapp.models import Incident
from webapp.services import alerts
from webapp.services import notify
from webapp.services import push

UPSTREAM = "college-la-salle-box"  # its Internet box: the 12 other devices are behind it


@pytest.fixture
def ovh(app):
    with OvhApi() as api:
        app.config.update(
            SMS_PROVIDER="ovh",
            SMS_SENDER="VIGIE",
            OVH_ENDPOINT=api.endpoint,
            OVH_APPLICATION_KEY=api.application_key,
            OVH_APPLICATION_SECRET=api.application_secret,
            OVH_CONSUMER_KEY=api.consumer_key,
            OVH_SMS_SERVICE=api.service,
        )
        yield api


@pytest.fixture
def push_service(app, tmp_path):
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "vapid_private.pem")
    key = push.generate_keys()
    with PushService() as service:
        service.server_key = key
        yield service


def test_a_router_down_is_exactly_one_message_per_person_and_channel(
    app, source, smtp, push_service, ovh
):
    member = demo_member("college-la-salle")
    mayor = make_user("viewer", member=member, name="Maire")
    clerk = make_user("member_admin", member=member, name="Secrétaire")
    phones = []
    for user in (mayor, clerk):
        browser = push_service.subscribe(server_key=push_service.server_key)
        push.subscribe(user, browser.to_json(), "Mozilla/5.0 (Linux; Android 14) Chrome/126.0")
        phones.append(browser)
    mayor.phone, mayor.phone_confirmed_at = "+33612345678", datetime.now(UTC)
    db.session.commit()
    emails = {mayor.email, clerk.email}
    channels = registry.build(app.config)
    assert {"email", "push", "sms", "portal"} <= set(channels)
    poller = Poller(app, publish=lambda *a, **k: None, observe=alerts.observe_cycle)
    poller.cycle()
    source.fail(UPSTREAM)
    for _ in range(3):
        poller.cycle()  # the failure holds over several cycles
    (incident,) = db.session.scalars(select(Incident)).all()
    behind = incident.dependents
    assert behind == 12, "the demo's collège: 12 devices behind its box"
    cause = incident.cause

    app.config["ALERT_DELAY"] = 0  # the delay is over
    while notify.run_round(channels).delivered:
        pass
    mails = smtp.wait_for(2)
    pushes = push_service.wait_for(2)
    (sms,) = ovh.wait_for(1)
    assert sorted(parseaddr(m["To"])[1] for m in mails) == sorted(emails)
    for mail in mails:
        assert cause in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        assert f"Les {behind} équipements qui sont derrière lui ne sont plus joignables." in text
        assert "L'accès à Internet est probablement coupé sur ce site." in text
    for received in pushes:
        note = received.json["notification"]
        assert received.json["web_push"] == 8030
        assert cause in note["title"] and str(behind) in note["body"]
        assert note["navigate"].endswith(f"/equipements/{incident.hostid}")
    assert sms.to == "+33612345678" and sms.fields["noStopClause"] is True
    assert str(behind) in sms.message and len(sms.message) <= 160

    # Nothing more: more cycles and rounds find nothing new to say.
    for _ in range(3):
        poller.cycle()
        notify.run_round(channels)
    assert (len(smtp.messages), len(push_service.received), len(ovh.jobs)) == (2, 2, 1)

    source.repair(UPSTREAM)
    poller.cycle()
    while notify.run_round(channels).delivered:
        pass
    mails = smtp.wait_for(4)[2:]
    pushes = push_service.wait_for(4)[2:]
    ovh.wait_for(2)
    assert sorted(parseaddr(m["To"])[1] for m in mails) == sorted(emails)
    for mail in mails:
        assert "fonctionne de nouveau" in mail.get_body(("plain",)).get_content()
        assert mail["In-Reply-To"], "the recovery follows the problem in one thread"
    assert all("fonctionne de nouveau" in p.json["notification"]["title"] for p in pushes)
    assert (len(smtp.messages), len(push_service.received), len(ovh.jobs)) == (4, 4, 2)
