"""The delivery workers for real: two `flask vigie notify` on PostgreSQL, one SIGKILLed mid-burst.

A burst of 1,000 alert e-mails (50 members with a failure each, 20 people per member)
goes to a real SMTP server on loopback (aiosmtpd). One worker is killed with SIGKILL
while it sends, then started again: every message arrives (0 lost), and no message
arrives twice under two different identities — a message in flight at the kill may be
handed again once its lease ends, with the same ``Message-ID``, so the mailbox keeps one.
Two workers side by side never take the same message (``SKIP LOCKED``).
"""

from __future__ import annotations

import signal
from collections import Counter

import pytest
from sqlalchemy import func
from sqlalchemy import select

from bench.stack import BIN
from tests.loopback.smtp import SmtpServer
from webapp import create_app
from webapp.channels.email import message_id
from webapp.extensions import db
from webapp.models import AlertRule
from webapp.models import Delivery
from webapp.models import HostGroupLink
from webapp.models import Member
from webapp.models import Membership
from webapp.models import User
from webapp.models.alerts import DeliveryStatus
from webapp.services import alerts

pytestmark = pytest.mark.production

MEMBERS, PEOPLE = 50, 20
BURST = MEMBERS * PEOPLE


def _burst(stack):
    """Members, people (e-mail only) and one failure each, in the stack's database."""
    app = create_app({"DATABASE_URL": stack.db_url, "ALERT_DELAY": 0, "TESTING": True})
    with app.app_context():
        for m in range(MEMBERS):
            member = Member(name=f"Commune {m}", slug=f"commune-burst-{m}")
            member.host_groups.append(HostGroupLink(name=f"Burst/{m}"))
            db.session.add(member)
            for p in range(PEOPLE):
                user = User(email=f"p{p}@commune-{m}.example.org", name=f"Personne {m}-{p}")
                db.session.add_all(
                    [
                        user,
                        Membership(user=user, member=member, role="viewer"),
                        AlertRule(user=user, channels=["email"]),
                    ]
                )
        db.session.commit()
        seen = {
            member.id: [alerts.Cause("r1", "r1", "Routeur mairie", "Mairie", 4, 12, "", True)]
            for member in db.session.scalars(
                select(Member).where(Member.slug.like("commune-burst-%"))
            )
        }
        alerts.observe(seen)
    return app


def _sent() -> int:
    db.session.remove()  # a fresh read of what the workers committed
    return db.session.scalar(
        select(func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.SENT)
    )


@pytest.fixture
def burst_app(stack):
    """The test's own connection to the stack's database, closed before it is dropped."""
    app = _burst(stack)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_worker_killed_mid_burst_loses_nothing_and_doubles_nothing(stack, burst_app):
    app = burst_app
    with SmtpServer() as smtp:
        env = {
            "VIGIE_MAIL_SERVER": "127.0.0.1",
            "VIGIE_MAIL_PORT": str(smtp.port),
            "VIGIE_ALERT_DELAY": "0",
            "VIGIE_NOTIFY_LEASE": "3",
            "VIGIE_NOTIFY_INTERVAL": "0.2",
            "VIGIE_NOTIFY_WORKER": "external",
        }
        stack.env.update(env)
        notify = [str(BIN / "flask"), "vigie", "notify"]
        stack.start("notify-a", notify)
        stack.start("notify-b", notify)
        smtp.wait_for(BURST // 4, timeout=120)
        stack.stop("notify-a", signal.SIGKILL)  # in the middle of the burst
        received_at_kill = len(smtp.messages)
        assert received_at_kill < BURST, "killed before the end of the burst"
        stack.start("notify-a", notify)
        smtp.wait_for(BURST, timeout=180)

        with app.app_context():
            stack.wait_for(lambda: _sent() == BURST, "every message recorded as sent", timeout=60)
            keys = {
                message_id(row.key, app.config["MAIL_SENDER"]): row.key
                for row in db.session.scalars(select(Delivery))
            }
            statuses = Counter(db.session.scalars(select(Delivery.status)))
        assert statuses == {DeliveryStatus.SENT: BURST}
        ids = Counter(m["Message-ID"] for m in smtp.messages)
        assert set(ids) == set(keys), "0 lost, and nothing Vigie did not decide"
        again = {mid: n for mid, n in ids.items() if n > 1}
        # At most the one message each worker had in flight at the kill: the same
        # Message-ID, one message in the mailbox.
        assert len(again) <= 1 and all(n == 2 for n in again.values()), again
        recipients = Counter(m["To"] for m in smtp.messages)
        assert len(recipients) == BURST
        log = stack.log("notify-a") + stack.log("notify-b")
        assert "Traceback" not in log, log[-3000:]
