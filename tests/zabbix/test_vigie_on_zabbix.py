"""Vigie end to end on the real Zabbix: sender → problem → map, recovery, maintenance,
acknowledgement, probe counts, and a Zabbix that stops and comes back."""

from __future__ import annotations

import logging
import subprocess
import time
from datetime import UTC
from datetime import datetime

import pytest

from tests.factories import PASSWORD
from tests.zabbix.conftest import ROOT
from tests.zabbix.conftest import send
from tests.zabbix.conftest import wait_for
from webapp.live.monitor import get_monitor

pytestmark = pytest.mark.zabbix

ROUTER = "sarralbe-routeur"


def login(zapp, role="viewer", slug="sarralbe"):
    from tests.conftest import csrf_from
    from webapp.extensions import db
    from webapp.models import Member
    from webapp.services import accounts

    member = db.session.execute(db.select(Member).where(Member.slug == slug)).scalar_one()
    staff = role if role in ("support", "admin") else None
    user = accounts.create_user(
        f"{role}-{time.time_ns()}@example.org",
        role.title(),
        member=None if staff else member,
        role="viewer",
        staff_role=staff,
        password=PASSWORD,
    )
    client = zapp.test_client()
    token = csrf_from(client, "/connexion")
    response = client.post(
        "/connexion", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def map_nodes(client, slug="sarralbe"):
    data = client.get(f"/api/v1/members/{slug}/map").json
    return data, {node["label"]: node for node in data["nodes"]}


@pytest.fixture
def router_back_up():
    send(ROUTER, "icmp.ok", "1")
    yield
    send(ROUTER, "icmp.ok", "1")


def test_probes_used_equal_zabbix_item_count(zapp, admin_api):
    client = login(zapp)
    used = client.get("/api/v1/members/sarralbe").json["probes"]["used"]
    group = admin_api.hostgroup.get(filter={"name": ["Membres/sarralbe"]})[0]
    hosts = admin_api.host.get(groupids=[group["groupid"]], output=["hostid"], filter={"status": 0})
    count = admin_api.item.get(
        hostids=[h["hostid"] for h in hosts], monitored=True, countOutput=True
    )
    assert used == int(count) and used > 100


def test_sender_value_turns_the_map_red_then_back(zapp, running_poller, router_back_up):
    client = login(zapp)
    wait_for(
        lambda: map_nodes(client)[1]["Routeur mairie"]["state"] == "ok",
        20,
        "router ok before the test",
    )
    started = time.monotonic()
    send(ROUTER, "icmp.ok", "0")
    wait_for(
        lambda: map_nodes(client)[1]["Routeur mairie"]["state"] == "problem",
        20,
        "router down on the map",
    )
    elapsed = time.monotonic() - started
    data, nodes = map_nodes(client)
    router = nodes["Routeur mairie"]
    behind = [n for n in nodes.values() if n["state"] == "unreachable"]
    assert len(behind) > 10 and all(n["cause"] == router["id"] for n in behind)
    assert data["summary"]["incidents"] == 1
    assert "ne répond plus" in data["summary"]["sentences"][0]
    assert elapsed < 10
    send(ROUTER, "icmp.ok", "1")
    wait_for(
        lambda: map_nodes(client)[1]["Routeur mairie"]["state"] == "ok", 20, "recovery on the map"
    )
    assert not [n for n in map_nodes(client)[1].values() if n["state"] == "unreachable"]


def test_acknowledgement_from_vigie_reaches_zabbix(zapp, running_poller, admin_api, router_back_up):
    from tests.conftest import csrf_from

    viewer = login(zapp)
    staff = login(zapp, "support")
    send(ROUTER, "icmp.ok", "0")
    router = wait_for(lambda: map_nodes(staff)[1]["Routeur mairie"]["problems"], 20, "the problem")[
        0
    ]
    token = csrf_from(viewer, "/profil/")
    refused = viewer.post(
        f"/membres/sarralbe/problemes/{router['eventid']}/acquitter", data={"csrf_token": token}
    )
    assert refused.status_code == 403
    token = csrf_from(staff, "/support")
    response = staff.post(
        f"/membres/sarralbe/problemes/{router['eventid']}/acquitter", data={"csrf_token": token}
    )
    assert response.status_code == 303
    events = admin_api.event.get(
        eventids=[router["eventid"]],
        select_acknowledges="extend",
        output=["eventid", "acknowledged"],
    )
    assert events[0]["acknowledged"] == "1"
    assert any("Vigie" in ack["message"] for ack in events[0]["acknowledges"])
    wait_for(
        lambda: map_nodes(viewer)[1]["Routeur mairie"]["problems"][0]["acknowledged"],
        10,
        "acknowledged on the map",
    )


def test_maintenance_shows_the_host_in_maintenance(zapp, running_poller, admin_api):
    client = login(zapp)
    host = admin_api.host.get(
        filter={"host": ["sarralbe-sw-0-1-nas-2"]}, output=["hostid", "name"]
    )[0]
    now = int(datetime.now(UTC).timestamp())
    maintenance = admin_api.maintenance.create(
        name=f"Test Vigie {now}",
        active_since=now - 60,
        active_till=now + 3600,
        hosts=[{"hostid": host["hostid"]}],
        timeperiods=[{"timeperiod_type": 0, "start_date": now - 60, "period": 3660}],
    )
    try:
        # Zabbix's timer applies maintenances at the start of each minute, and a host's
        # maintenance status reaches Vigie with its next full read (VIGIE_FULL_RESYNC_INTERVAL,
        # 60 s): up to two minutes in the worst case (75 s failed once in CI-like load).
        wait_for(
            lambda: map_nodes(client)[1][host["name"]]["state"] == "maintenance",
            150,
            "host in maintenance",
        )
        page = client.get("/membres/sarralbe/").get_data(as_text=True)
        assert "En maintenance" in page
    finally:
        admin_api.maintenance.delete(maintenance["maintenanceids"][0])


def test_zabbix_stopped_then_back(zapp, running_poller, caplog):
    client = login(zapp)
    wait_for(
        lambda: get_monitor(zapp).last_error is None and get_monitor(zapp).snapshot,
        10,
        "a first read",
    )
    caplog.set_level(logging.WARNING)
    subprocess.run(
        [str(ROOT / "scripts/zabbix.sh"), "down"], check=True, capture_output=True, timeout=60
    )
    try:
        wait_for(
            lambda: (
                "data-stale-banner hidden"
                not in client.get("/membres/sarralbe/").get_data(as_text=True)
            ),
            10,
            "the stale banner (2 poll intervals)",
        )
        page = client.get("/membres/sarralbe/").get_data(as_text=True)
        assert "Routeur mairie" in page, "the last known state stays on screen"
        # Positive signal first: more failed polls (the poller's count) since then. The poller
        # backs off (0.5 s × 2^n), so two more take up to ~12 s here.
        failed = running_poller.failures
        wait_for(lambda: running_poller.failures >= failed + 2, 40, "two more failed polls")
        unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(unavailable) == 1, "one clear line, not a storm"
        assert not [r for r in caplog.records if r.exc_info]
        assert running_poller.failures >= 1
    finally:
        subprocess.run(
            [str(ROOT / "scripts/zabbix.sh"), "up"], check=True, capture_output=True, timeout=300
        )
    wait_for(
        lambda: (
            "data-stale-banner hidden" in client.get("/membres/sarralbe/").get_data(as_text=True)
        ),
        60,
        "fresh data without restarting Vigie",
    )
