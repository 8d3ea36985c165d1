"""Websocket fan-out: 2,000 logged-in clients over 300 member rooms, one change for all.

The production topology, as ``tests/production`` starts it: PostgreSQL, Redis,
``gunicorn -c gunicorn.conf.py wsgi:app`` (2 gevent workers) and ``flask vigie
poll`` apart, publishing through Redis; the demo source with 300 members and no
natural incidents. The load generator runs in SHARDS processes of python-socketio
``AsyncClient`` s (websocket transport, as the browsers), all logged in as the
demo administrator (staff may subscribe to any member), each subscribed to one
member room (client ``i`` -> member ``i % 300``).

One wave = one change touching every member: the router of each member fails
(or is repaired) in one write of the demo state file. For each client: delay
from the fault to the ``member.update`` received, and from the poller's publish
(seen on the Redis channel by a subscriber of this process) to receipt — the
fan-out proper. The web processes' RSS is read before and after connecting.

The stack itself is :mod:`bench.stack`, shared with ``tests/production``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import threading
import time

from bench.common import summary
from bench.stack import REDIS_URL
from bench.stack import Services
from bench.stack import Stack
from bench.stack import bench_stack
from bench.stack import raise_nofile

NAMESPACE = "/live"

MEMBERS = 300
CLIENTS = 2000
WORKER_CLASS = os.environ.get("VIGIE_BENCH_WORKER_CLASS", "gevent")
THREADS = 1100  # gthread only: one thread per websocket
ADMIN_EMAIL = "admin@demo.example.org"
CONNECT_CONCURRENCY = 50
SHARDS = 4  # load-generator processes
WAVE_S = 5.0  # seconds per wave: a 1 s poll, the read, the fan-out


class QueueListener:
    """Subscribes to the Socket.IO Redis channel: when each event was published, to which room."""

    def __init__(self, channel: str) -> None:
        import redis

        self.client = redis.Redis.from_url(REDIS_URL + "/0")
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.events: list[tuple[float, str, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="queue-listener")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if not message:
                continue
            at = time.time()
            try:
                data = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            if data.get("method") == "emit":
                self.events.append((at, data.get("event"), data.get("room")))

    def first_after(self, t0: float, event: str, room: str | None) -> float | None:
        return next(
            (at for at, name, to in list(self.events) if at >= t0 and name == event and to == room),
            None,
        )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.pubsub.close()
        self.client.close()


def load_sum(before: tuple, after: tuple) -> dict:
    return {
        "before": [round(x, 2) for x in before],
        "after": [round(x, 2) for x in after],
    }


# -- the load generator ---------------------------------------------------------------------


class Client:
    """One websocket client subscribed to one member room."""

    def __init__(self, index: int, slug: str) -> None:
        self.index = index
        self.slug = slug
        self.sio = None
        self.subscribed = False
        self.worker = None
        self.error: str | None = None
        self.connect_s: float | None = None
        self.updates: list[float] = []

    async def start(self, url: str, headers: dict, semaphore: asyncio.Semaphore) -> None:
        import socketio

        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("member.update", self._on_update, namespace=NAMESPACE)
        async with semaphore:
            started = time.perf_counter()
            try:
                await self.sio.connect(
                    url,
                    namespaces=[NAMESPACE],
                    transports=["websocket"],
                    headers=dict(headers),  # engine.io moves the Cookie out of the dict
                    wait_timeout=30,
                )
                ack = await self.sio.call(
                    "subscribe",
                    {"member": self.slug, "version": None},
                    namespace=NAMESPACE,
                    timeout=60,
                )
            except Exception as exc:  # noqa: BLE001 - counted as a failed client
                self.error = f"{exc.__class__.__name__}: {exc}"[:200]
                return
            self.connect_s = time.perf_counter() - started
            if isinstance(ack, dict) and ack.get("ok"):
                self.subscribed = True
                self.worker = ack.get("worker")
            else:
                self.error = f"subscribe refused: {ack!r}"[:200]

    async def _on_update(self, data) -> None:
        self.updates.append(time.time())

    async def stop(self) -> None:
        if self.sio is None:
            return
        try:
            if self.sio.connected:
                await asyncio.wait_for(self.sio.disconnect(), 10)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        http = getattr(self.sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()

    def report(self) -> dict:
        return {
            "index": self.index,
            "slug": self.slug,
            "subscribed": self.subscribed,
            "worker": self.worker,
            "error": self.error,
            "connect_s": self.connect_s,
        }


def _shard(conn, url: str, headers: dict, assignments: list[tuple[int, str]]) -> None:
    """A load-generator process: connect its clients, report, record receipts until told to stop.

    Several processes, so that no client's receipt waits behind the decoding of
    thousands of others in one busy event loop (that would time the load
    generator, not Vigie).
    """
    raise_nofile()

    async def main() -> None:
        semaphore = asyncio.Semaphore(max(1, CONNECT_CONCURRENCY // SHARDS))
        clients = [Client(index, slug) for index, slug in assignments]
        await asyncio.gather(*(c.start(url, headers, semaphore) for c in clients))
        conn.send([c.report() for c in clients])
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
        conn.send({c.index: c.updates for c in clients})
        await asyncio.gather(*(c.stop() for c in clients))

    asyncio.run(main())
    conn.close()


class LoadGenerator:
    """Websocket clients over ``SHARDS`` processes (client ``i`` -> ``slugs[i % n]``)."""

    def __init__(self, url: str, headers: dict, slugs: list[str], clients: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        assignments = [(i, slugs[i % len(slugs)]) for i in range(clients)]
        self.pipes = []
        self.processes = []
        for shard in range(SHARDS):
            parent, child = context.Pipe()
            process = context.Process(
                target=_shard,
                args=(child, url, headers, assignments[shard::SHARDS]),
                daemon=True,
            )
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def connected(self, timeout: float = 300) -> list[dict]:
        reports = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise RuntimeError("a load-generator process did not report its connections")
            reports += pipe.recv()
        return sorted(reports, key=lambda r: r["index"])

    def receipts(self, timeout: float = 120) -> dict[int, list[float]]:
        for pipe in self.pipes:
            pipe.send("stop")
        updates: dict[int, list[float]] = {}
        for pipe in self.pipes:
            if pipe.poll(timeout):
                updates.update(pipe.recv())
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        return updates


def _routers(source) -> dict[str, list[str]]:
    """Member slug -> hostids of its routers (role tag ``router``)."""
    out: dict[str, list[str]] = {}
    for member in source.members:
        for host in source.hosts([member.group]):
            if ("role", "router") in host.tags:
                out.setdefault(member.slug, []).append(host.hostid)
    return out


def _inject(source, hostids: list[str], fail: bool) -> float:
    """Fail (or repair) every host in one write of the demo state file; the time of it.

    ``DemoSource.set_faults`` writes them all at once (one write per host would spread
    the change over several poll cycles).
    """
    names = [source._by_id[hostid].host for hostid in hostids]
    now = time.time()
    source.set_faults(names, failed=fail)
    return now


def _first_after(times: list[float], t0: float, t1: float) -> float | None:
    return next((t for t in times if t0 <= t < t1), None)


def _wave_stats(
    t0: float, t1: float, fail: bool, clients: list[dict], updates: dict, listener
) -> dict:
    published = {
        room: listener.first_after(t0, "member.update", room)
        for room in {f"member:{c['slug']}" for c in clients}
    }
    pubs = [t for t in published.values() if t is not None]
    first = min(pubs) if pubs else None
    total, relay, cycle, missed = [], [], [], 0
    for c in clients:
        got = _first_after(updates.get(c["index"], []), t0, t1)
        if got is None:
            missed += 1
            continue
        total.append((got - t0) * 1000)
        if first is not None:
            cycle.append((got - first) * 1000)
        room_at = published.get(f"member:{c['slug']}")
        if room_at is not None:
            relay.append((got - room_at) * 1000)
    return {
        "action": "fail" if fail else "repair",
        "fault_to_receipt_ms": summary(total, 1) if total else None,
        "first_publish_to_receipt_ms": summary(cycle, 1) if cycle else None,
        "room_publish_to_receipt_ms": summary(relay, 1) if relay else None,
        "fault_to_first_publish_ms": round((first - t0) * 1000, 1) if pubs else None,
        "publish_spread_ms": round((max(pubs) - first) * 1000, 1) if pubs else None,
        "rooms_published": len(pubs),
        "clients": len(clients),
        "missed": missed,
        "_total": total,
        "_cycle": cycle,
        "_relay": relay,
    }


def _load(
    stack: Stack, headers: dict, slugs: list[str], clients_n: int, source, hostids, waves: int
) -> dict:
    before = stack.web_processes()
    started = time.perf_counter()
    generator = LoadGenerator(stack.url, headers, slugs, clients_n)
    listener = None
    try:
        reports = generator.connected()
        connect_wall = time.perf_counter() - started
        time.sleep(2)
        after = stack.web_processes()
        listener = QueueListener(stack.channel)
        windows = []
        for index in range(waves):
            fail = index % 2 == 0
            t0 = _inject(source, hostids, fail)
            time.sleep(WAVE_S)
            windows.append((t0, time.time(), fail))
        during = stack.web_processes()
        updates = generator.receipts()
    finally:
        if listener is not None:
            listener.close()
    subscribed = [r for r in reports if r["subscribed"]]
    results = [_wave_stats(t0, t1, fail, subscribed, updates, listener) for t0, t1, fail in windows]
    errors: dict[str, int] = {}
    for r in reports:
        if r["error"]:
            key = r["error"].split(":", 1)[0] + ": " + r["error"].split(":", 1)[-1].strip()[:80]
            errors[key] = errors.get(key, 0) + 1
    by_worker: dict[str, int] = {}
    for r in subscribed:
        by_worker[str(r["worker"])] = by_worker.get(str(r["worker"]), 0) + 1
    total = [x for w in results for x in w.pop("_total")]
    cycle = [x for w in results for x in w.pop("_cycle")]
    relay = [x for w in results for x in w.pop("_relay")]
    return {
        "clients_attempted": clients_n,
        "clients_connected": len(subscribed),
        "clients_failed": clients_n - len(subscribed),
        "errors": errors,
        "clients_per_worker": by_worker,
        "load_generator_processes": SHARDS,
        "rooms": len({r["slug"] for r in subscribed}),
        "connect_wall_s": round(connect_wall, 1),
        "connect_and_subscribe_s": summary([r["connect_s"] for r in subscribed], 3)
        if subscribed
        else None,
        "web_processes_before": before,
        "web_processes_connected": after,
        "web_processes_after_waves": during,
        "waves": results,
        "fault_to_receipt_ms": summary(total, 1) if total else None,
        "first_publish_to_receipt_ms": summary(cycle, 1) if cycle else None,
        "room_publish_to_receipt_ms": summary(relay, 1) if relay else None,
    }


def _rss_kb(processes: dict[int, dict]) -> int:
    return sum(p.get("rss_kb") or 0 for p in processes.values())


def run(quick: bool = False) -> dict:
    from webapp.services import demo as demo_service
    from webapp.sources.demo import DemoSource

    raise_nofile()
    load_start = os.getloadavg()
    clients_n = 500 if quick else CLIENTS
    started = time.perf_counter()
    with Services():
        stack = bench_stack(
            "fanout",
            {
                "VIGIE_SOURCE": "demo",
                "VIGIE_DEMO_MEMBERS": str(MEMBERS),
                "VIGIE_DEMO_INCIDENTS": "false",
                "VIGIE_WORKER_CLASS": WORKER_CLASS,
                "VIGIE_THREADS": str(THREADS),
            },
        )
        stack.env["VIGIE_DEMO_STATE_FILE"] = str(stack.tmp / "demo-state.json")
        try:
            stack.create_database()
            setup_s = time.perf_counter() - started
            stack.start_web()
            stack.start_poller(ready=True)
            source = DemoSource(
                members=MEMBERS, incidents=False, state_file=stack.env["VIGIE_DEMO_STATE_FILE"]
            )
            routers = _routers(source)
            hostids = [hostid for ids in routers.values() for hostid in ids]
            slugs = [m.slug for m in source.members]
            session = stack.login(ADMIN_EMAIL, demo_service.DEMO_PASSWORD)
            headers = {
                "Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.items()),
                "User-Agent": session.headers["User-Agent"],
            }
            result = _load(stack, headers, slugs, clients_n, source, hostids, 2 if quick else 4)
            gunicorn_log = stack.log("gunicorn")
            poller_log = stack.log("poller")
        finally:
            stack.close()
    before = _rss_kb(result["web_processes_before"])
    after = _rss_kb(result["web_processes_connected"])
    connected = result["clients_connected"]
    result.update(
        {
            "members": MEMBERS,
            "routers_failed_per_wave": len(hostids),
            "gunicorn": {
                "workers": 2,
                "worker_class": WORKER_CLASS,
                **({"threads": THREADS} if WORKER_CLASS == "gthread" else {}),
            },
            "nofile_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "web_rss_kb_before": before,
            "web_rss_kb_connected": after,
            "rss_per_connection_kb": round((after - before) / connected, 1) if connected else None,
            "setup_s": round(setup_s, 1),
            "total_s": round(time.perf_counter() - started, 1),
            "load_avg": load_sum(load_start, os.getloadavg()),
            "gunicorn_log_tail": _interesting(gunicorn_log),
            "poller_log_tail": _interesting(poller_log),
            "note": f"Receipt times are taken by {SHARDS} asyncio processes on the same CPUs "
            "as the server; publish times when a thread of it saw the message on the Redis channel "
            "(a few ms late at worst: small negative relays). first_publish_to_receipt: from "
            "the poller's first member.update of the wave (change detected) to each client "
            "(the poller computes every member, then sends the 300 rooms through one Redis "
            "pipeline); "
            "room_publish_to_receipt: from the client's own room publish (Redis + worker relay "
            "only); fault_to_receipt adds the wait for the next 1 s poll cycle and the read.",
        }
    )
    return result


def _interesting(log: str, lines: int = 12) -> list[str]:
    keep = [
        line[:300]
        for line in log.splitlines()
        if any(w in line for w in ("WARNING", "ERROR", "Error", "Traceback", "CRITICAL"))
    ]
    return keep[-lines:]
