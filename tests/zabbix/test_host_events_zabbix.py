"""``host_events`` and acknowledgement times on the development Zabbix (``make zabbix-up``).

A problem is opened on ``bitche-routeur`` (not the router the other Zabbix tests use),
acknowledged by Vigie's least-privileged token, then closed again before the test ends.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from tests.zabbix.conftest import send
from tests.zabbix.conftest import wait_for
from webapp.sources.base import Severity
from webapp.sources.zabbix import ZabbixSource

pytestmark = pytest.mark.zabbix

ROUTER = "bitche-routeur"


@pytest.fixture
def source(zabbix_env):
    source = ZabbixSource(
        zabbix_env["VIGIE_ZABBIX_URL"],
        token=zabbix_env["VIGIE_ZABBIX_TOKEN"],
        groups_prefix=zabbix_env.get("VIGIE_ZABBIX_GROUPS_PREFIX", "Membres/"),
        cache_ttl=0,
    )
    yield source
    source.close()


def test_a_problem_is_a_host_event_firing_then_ended_and_its_acknowledgement_is_timed(source):
    router = next(h for h in source.hosts() if h.host == ROUTER)

    def router_problem():
        return next(
            (
                p
                for p in source.problems()
                if p.hostid == router.hostid and p.severity >= Severity.HIGH
            ),
            None,
        )

    send(ROUTER, "icmp.ok", "1")
    try:
        wait_for(lambda: router_problem() is None, what="the router answering")
        since = datetime.now(UTC) - timedelta(seconds=2)  # Zabbix runs on this machine
        send(ROUTER, "icmp.ok", "0")
        problem = wait_for(router_problem, what="the router's problem")
        assert problem.acknowledged_at is None

        events = source.host_events(router.hostid, since)
        assert events[0].eventid == problem.eventid
        assert (events[0].started_at, events[0].ended_at) == (problem.since, None)
        assert events[0].name == problem.name and events[0].severity == problem.severity
        # Started before a later ``since``, but still firing: still one of the host's events.
        later = source.host_events(router.hostid, problem.since + timedelta(seconds=1))
        assert [(e.eventid, e.ended_at) for e in later] == [(problem.eventid, None)]

        asked = datetime.now(UTC).replace(microsecond=0)
        source.acknowledge([problem.eventid], "Pris en charge (test des événements)")
        acked = wait_for(
            lambda: (found := router_problem()) is not None and found.acknowledged and found,
            what="the acknowledgement",
        )
        assert asked - timedelta(seconds=2) <= acked.acknowledged_at
        assert acked.acknowledged_at <= datetime.now(UTC) + timedelta(seconds=2)
        (full,) = [p for p in source.changes(None).opened if p.eventid == problem.eventid]
        assert full.acknowledged_at == acked.acknowledged_at
    finally:
        send(ROUTER, "icmp.ok", "1")
    wait_for(lambda: router_problem() is None, what="the router answering again")

    def ended():
        return next(
            (
                e
                for e in source.host_events(router.hostid, since)
                if e.eventid == problem.eventid and e.ended_at is not None
            ),
            None,
        )

    event = wait_for(ended, what="the problem's end")
    assert event.started_at == problem.since <= event.ended_at <= datetime.now(UTC)
