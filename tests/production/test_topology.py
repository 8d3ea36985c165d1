"""gunicorn ×2 + Redis + PostgreSQL + a separate poller, and the faults they survive."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest
import requests
import socketio

from webapp.services import demo as demo_service

pytestmark = pytest.mark.production

VIEWER = "elu@sarralbe.demo.example.org"


class LiveClient:
    """A websocket client as the map page uses it: subscribe on every (re)connect."""

    def __init__(self, stack, session: requests.Session, member: str = "sarralbe") -> None:
        self.member = member
        self.version = None
        self.worker = None
        self.updates: list[dict] = []
        self.acks: list[dict] = []
        self.connected = threading.Event()
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        self.sio = socketio.Client(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1
        )
        self.sio.on("connect", self._subscribe, namespace="/live")
        self.sio.on("disconnect", self.connected.clear, namespace="/live")
        self.sio.on("member.update", self._update, namespace="/live")
        self.sio.connect(
            stack.url,
            namespaces=["/live"],
            transports=["websocket"],
            headers={"Cookie": cookie, "User-Agent": session.headers["User-Agent"]},
            wait_timeout=10,
        )
        assert self.connected.wait(10), "subscribed"

    def _subscribe(self):
        def ack(data):
            self.acks.append(data)
            self.worker = data.get("worker")
            if data.get("full"):
                self.updates.append(data)
            self.version = data.get("version") or self.version
            self.connected.set()

        self.sio.emit(
            "subscribe",
            {"member": self.member, "version": self.version},
            namespace="/live",
            callback=ack,
        )

    def _update(self, data):
        self.updates.append(data)
        self.version = data["version"]

    def state_of(self, hostid: str) -> str | None:
        for update in reversed(self.updates):
            for node in update.get("nodes", []):
                if node["id"] == hostid:
                    return node["state"]
        return None

    def close(self):
        self.sio.disconnect()


def router_id(stack) -> str:
    from webapp.sources.demo import DemoSource

    return DemoSource().host_by_name("sarralbe-routeur").hostid


def clients_on_both_workers(stack, session) -> list[LiveClient]:
    clients, workers = [], set()
    for _ in range(30):
        client = LiveClient(stack, session)
        clients.append(client)
        workers.add(client.worker)
        if len(workers) >= 2:
            break
    assert len(workers) == 2, f"connections reached workers {workers}"
    by_worker = {}
    for client in clients:
        by_worker.setdefault(client.worker, client)
    for client in clients:
        if client not in by_worker.values():
            client.close()
    return list(by_worker.values())


def test_both_workers_relay_the_same_update(stack):
    stack.start_web()
    session = stack.login(VIEWER, demo_service.DEMO_PASSWORD)
    clients = clients_on_both_workers(stack, session)
    assert {c.acks[0]["async_mode"] for c in clients} == {"gevent"}, "gunicorn -k gevent"
    hostid = router_id(stack)
    # A change made before the poller starts: its first cycle sends whole states.
    stack.flask("vigie", "demo", "fail", "sarralbe-routeur")
    stack.start_poller()
    for client in clients:
        stack.wait_for(
            lambda c=client: c.state_of(hostid) == "problem",
            f"worker {client.worker} relays the failure",
            timeout=15,
        )
    # Pages served by any worker show it too (the snapshot comes from the poller).
    for _ in range(4):
        page = session.get(stack.url + "/membres/sarralbe/").text
        assert "1 panne en cours" in page
    # Then a change while it runs: a diff, relayed by both workers.
    stack.flask("vigie", "demo", "repair", "sarralbe-routeur")
    for client in clients:
        stack.wait_for(
            lambda c=client: c.state_of(hostid) == "ok",
            f"worker {client.worker} relays the repair",
            timeout=10,
        )
        assert not client.updates[-1]["full"], "only what changed"
    for client in clients:
        client.close()


def test_one_poller_at_a_time_and_takeover(stack):
    stack.start_web()
    first = stack.start_poller("poller-1")
    stack.wait_for(lambda: "Poller started" in stack.log("poller-1"), "first poller runs")
    time.sleep(1.5)
    stack.start_poller("poller-2")
    stack.wait_for(
        lambda: "Another poller is active" in stack.log("poller-2"), "second poller waits"
    )
    session = stack.login(VIEWER, demo_service.DEMO_PASSWORD)
    client = LiveClient(stack, session)
    assert first.poll() is None
    stack.stop("poller-1", signal.SIGKILL)  # dies without cleaning up
    stack.wait_for(
        lambda: "now the active one" in stack.log("poller-2"),
        "second poller takes over",
        timeout=20,
    )
    hostid = router_id(stack)
    stack.flask("vigie", "demo", "fail", "sarralbe-routeur")
    stack.wait_for(lambda: client.state_of(hostid) == "problem", "updates resume")
    client.close()


def test_redis_restart_clients_reconnect_and_catch_up(stack):
    stack.start_web()
    stack.start_poller()
    session = stack.login(VIEWER, demo_service.DEMO_PASSWORD)
    client = LiveClient(stack, session)
    hostid = router_id(stack)
    subprocess.run(["scripts/redis.sh", "down"], check=True, capture_output=True)
    try:
        stack.flask("vigie", "demo", "fail", "sarralbe-routeur")
        time.sleep(1.0)
    finally:
        subprocess.run(["scripts/redis.sh", "up"], check=True, capture_output=True)
    # The poller and the workers reconnect to Redis; the client catches up.
    stack.wait_for(
        lambda: client.state_of(hostid) == "problem", "caught up after Redis", timeout=30
    )
    assert stack.processes["gunicorn"].poll() is None
    assert stack.processes["poller"].poll() is None
    client.close()


def test_postgresql_restart_fails_cleanly_then_works(stack):
    stack.start_web()
    stack.start_poller()
    session = stack.login(VIEWER, demo_service.DEMO_PASSWORD)
    assert session.get(stack.url + "/membres/sarralbe/").status_code == 200
    page = session.get(stack.url + "/membres/sarralbe/support/nouvelle").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    subprocess.run(["scripts/pg.sh", "down"], check=True, capture_output=True)
    try:
        down = session.get(stack.url + "/membres/sarralbe/", timeout=10)
        assert down.status_code == 503, stack.log("gunicorn")[-3000:]
        assert "momentanément indisponible" in down.text
        health = requests.get(stack.url + "/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["database"] == "error"
        posted = session.post(
            stack.url + "/membres/sarralbe/support/nouvelle",
            data={
                "subject": "Pendant la panne",
                "message": "Ne doit pas être à moitié écrit.",
                "csrf_token": token,
            },
            timeout=10,
            allow_redirects=False,
        )
        assert posted.status_code == 503
    finally:
        subprocess.run(["scripts/pg.sh", "up"], check=True, capture_output=True)
    stack.wait_for(
        lambda: session.get(stack.url + "/membres/sarralbe/", timeout=5).status_code == 200,
        "pages work again",
        timeout=30,
    )
    listing = session.get(stack.url + "/membres/sarralbe/support").text
    assert "Pendant la panne" not in listing, "nothing half-written"
    assert "Traceback" not in stack.log("gunicorn")


def test_the_poller_sends_a_cycle_of_room_events_in_one_go(redis_url):
    import json
    import uuid

    import redis

    from webapp.live.events import QueuePublisher

    channel = "vigie-test-" + uuid.uuid4().hex[:8]
    listener = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    publisher = QueuePublisher(redis_url, channel)

    def received(timeout=0.5):
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = listener.get_message(timeout=0.05)
            if message is not None:
                out.append(json.loads(message["data"]))
        return out

    publisher.publish("source", {"source_ok": True})
    (alone,) = received()
    assert (alone["event"], alone["room"], alone["namespace"]) == ("source", None, "/live")
    with publisher.batch():
        for slug in ("sarralbe", "bitche", "cc-saulnois"):
            publisher.publish("member.update", {"member": slug}, f"member:{slug}")
        assert received(timeout=0.2) == [], "held until the batch ends"
    together = received()
    assert [(m["room"], m["data"]) for m in together] == [
        ("member:sarralbe", [{"member": "sarralbe"}]),
        ("member:bitche", [{"member": "bitche"}]),
        ("member:cc-saulnois", [{"member": "cc-saulnois"}]),
    ]
    with publisher.batch():
        pass
    assert received(timeout=0.2) == [], "an empty batch sends nothing"
    listener.close()
