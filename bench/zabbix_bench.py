"""Against the real Zabbix 6.0 (``scripts/zabbix.sh``): poll cycles of 300 members.

1. **Poll cycle** with 300 member host groups, at two item counts (provisioned by
   ``scripts/zabbix.sh provision --scale 300 --items N``). The app is built like
   :mod:`bench.poll` (SQLite, no web server) with ``SOURCE="zabbix"`` and a member
   per ``Membres/<slug>`` group; ``Poller.cycle()`` is timed cold (first, full
   read, empty caches), quiet (incremental: one ``changes(cursor)`` call), with a
   forced full resync (warm caches, as every ``FULL_RESYNC_INTERVAL``), and right
   after a real change (``icmp.ok`` of a router sent to 0, then 1). API calls and
   response bytes are counted by wrapping the source's ``pyzabbix`` client, and
   each method of the full read (``read_full``) is timed alone, warm and cold.
2. **zabbix_sender -> browser**, at the default settings on the default estate, is
   :mod:`bench.zabbix_defaults` (its own section: it needs no 300-member estate).

The Zabbix is left in its default provisioned state (``scripts/zabbix.sh
reset``) and the services this module started are stopped.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

from dotenv import dotenv_values

from bench.common import bench_app
from bench.common import summary
from bench.common import temp_dir
from bench.fanout import load_sum
from bench.stack import Services
from bench.stack import script

MEMBERS = 300
ITEM_SCALES = (5_000, 50_000)
SERVER_PORT = os.environ.get("VIGIE_ZABBIX_SERVER_PORT", "10151")
PREFIX = "Membres/"
ROUTER = "sarralbe-routeur"
SLUG = "sarralbe"
VIEWER = "elu@sarralbe.demo.example.org"
READ_METHODS = ("hosts", "changes(None)", "dependencies", "maintenances", "probe_counts")


def env_file() -> dict[str, str]:
    """The ``VIGIE_*`` settings written by the provisioning (URL, token, prefix)."""
    path = Path(script("zabbix.sh", "env-file").splitlines()[-1].strip())
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def send(host: str, value: int, key: str = "icmp.ok") -> None:
    subprocess.run(
        [
            "zabbix_sender",
            "-z",
            "127.0.0.1",
            "-p",
            SERVER_PORT,
            "-s",
            host,
            "-k",
            key,
            "-o",
            str(value),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )


class ApiCounter:
    """Counts the source's JSON-RPC calls (by method), their time and response bytes."""

    def __init__(self, source) -> None:
        self.calls: list[dict] = []
        self._local = threading.local()  # calls run in two threads at once (read_full)
        api = source._api  # the only way in: ZabbixSource keeps no call counter
        inner = api.do_request

        def do_request(method, params=None):
            row = {"method": method, "bytes": 0, "server_s": 0.0}
            self._local.current = row
            started = time.perf_counter()
            try:
                return inner(method, params)
            finally:
                row["wall_s"] = time.perf_counter() - started
                self.calls.append(row)
                self._local.current = None

        def on_response(response, *args, **kwargs):
            current = getattr(self._local, "current", None)
            if current is not None:
                current["bytes"] += len(response.content)
                current["server_s"] += response.elapsed.total_seconds()

        api.do_request = do_request
        source._session.hooks["response"].append(on_response)

    def take(self) -> list[dict]:
        taken, self.calls = self.calls, []
        return taken


def _calls_summary(calls: list[dict]) -> dict:
    by_method: dict[str, int] = {}
    for call in calls:
        by_method[call["method"]] = by_method.get(call["method"], 0) + 1
    return {
        "api_calls": len(calls),
        "by_method": by_method,
        "response_bytes": sum(c["bytes"] for c in calls),
        "http_s": round(sum(c["server_s"] for c in calls), 4),
    }


class _Collector:
    def __init__(self) -> None:
        self.events = 0

    def __call__(self, event, data, room=None) -> None:
        self.events += 1


def _timed_cycle(app, poller, counter, collector) -> dict:
    with app.app_context():
        collector.events = 0
        wall, cpu = time.perf_counter(), time.process_time()
        stats = poller.cycle()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    calls = counter.take()
    return {
        "wall_ms": wall * 1000,
        "cpu_ms": cpu * 1000,
        **_calls_summary(calls),
        "api_wall_ms": sum(c["wall_s"] for c in calls) * 1000,
        "changed_members": stats.changed_members,
        "events": collector.events,
        "ok": stats.ok,
        "api_calls_reported_by_poller": stats.api_calls,
    }


def _aggregate(rows: list[dict]) -> dict:
    out = {key: summary([r[key] for r in rows], 1) for key in ("wall_ms", "cpu_ms", "api_wall_ms")}
    for key in ("api_calls", "response_bytes", "changed_members", "events"):
        out[key] = statistics.median(r[key] for r in rows)
    out["by_method"] = rows[-1]["by_method"]
    out["all_ok"] = all(r["ok"] for r in rows)
    out["api_calls_reported_by_poller"] = rows[-1]["api_calls_reported_by_poller"]
    return out


def _method_breakdown(source, counter, repeat: int) -> dict:
    """Each call of ``read_full``, timed alone: warm caches, and cold (after refresh())."""
    calls = {
        "hosts": lambda: source.hosts(),
        "changes(None)": lambda: source.changes(None),
        "dependencies": lambda: source.dependencies(),
        "maintenances": lambda: source.maintenances(),
        "probe_counts": lambda: source.probe_counts(),
    }
    out: dict[str, dict] = {}
    for mode in ("warm", "cold"):
        for name, call in calls.items():
            samples, rows = [], []
            for _ in range(repeat):
                if mode == "cold":
                    source.refresh()
                    source.host_groups()  # group name -> id cache: not part of the method
                else:
                    call()
                counter.take()
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1000)
                rows.append(counter.take())
            calls_summary = _calls_summary(rows[-1])
            http_ms = [sum(c["server_s"] for c in r) * 1000 for r in rows]
            out.setdefault(name, {})[mode] = {
                "wall_ms": summary(samples, 1),
                "zabbix_http_ms_median": round(statistics.median(http_ms), 1),
                "api_calls": calls_summary["api_calls"],
                "by_method": calls_summary["by_method"],
                "response_bytes": calls_summary["response_bytes"],
            }
    return out


def _wait_problem(probe, present: bool, timeout: float = 30.0) -> float | None:
    """Seconds until the router's problem is (or is no longer) in problem.get."""
    router = probe.hosts([PREFIX + SLUG])
    hostid = next(h.hostid for h in router if h.host == ROUTER)
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if any(p.hostid == hostid for p in probe.problems([PREFIX + SLUG])) == present:
            return time.perf_counter() - started
        time.sleep(0.05)
    return None


def poll_cycles(items: int, quick: bool) -> dict:
    """Provision 300 members and ``items`` items, then time poll cycles against it."""
    from webapp.live.monitor import get_monitor
    from webapp.live.poller import Poller
    from webapp.services import members as member_service
    from webapp.sources.zabbix import ZabbixSource

    load_before = os.getloadavg()
    started = time.perf_counter()
    script("zabbix.sh", "provision", "--scale", str(MEMBERS), "--items", str(items))
    provision_s = time.perf_counter() - started
    env = env_file()
    config = {
        "SOURCE": "zabbix",
        "ZABBIX_URL": env["VIGIE_ZABBIX_URL"],
        "ZABBIX_TOKEN": env["VIGIE_ZABBIX_TOKEN"],
        "ZABBIX_GROUPS_PREFIX": env.get("VIGIE_ZABBIX_GROUPS_PREFIX", PREFIX),
    }
    app = bench_app(temp_dir(f"zabbix{items}"), **config)
    monitor = get_monitor(app)
    source = monitor.source
    counter = ApiCounter(source)
    groups = [g.name for g in source.host_groups() if g.name.startswith(PREFIX)]
    with app.app_context():
        for name in groups:
            slug = name[len(PREFIX) :]
            member_service.create_member(name=slug, slug=slug, kind="commune", host_groups=[name])
    counts = source.probe_counts()
    hosts = len(source.hosts())
    source.refresh()
    counter.take()

    collector = _Collector()
    poller = Poller(app, publish=collector)
    cold = _timed_cycle(app, poller, counter, collector)
    quiet = []
    for _ in range(5 if quick else 20):
        time.sleep(0.05)
        quiet.append(_timed_cycle(app, poller, counter, collector))

    def timed_full_read() -> dict:
        with app.app_context():
            wall = time.perf_counter()
            monitor.refresh(full=True)
            wall = time.perf_counter() - wall
        calls = counter.take()
        return {
            "wall_ms": wall * 1000,
            "cpu_ms": 0.0,
            **_calls_summary(calls),
            "api_wall_ms": sum(c["wall_s"] for c in calls) * 1000,
            "changed_members": 0,
            "events": 0,
            "ok": monitor.last_error is None,
            "api_calls_reported_by_poller": None,
        }

    repeat = 3 if quick else 7
    full_alone = [timed_full_read() for _ in range(repeat)]
    cold_full_alone = []
    for _ in range(3 if quick else 5):
        source.refresh()  # as when the dependency / probe-count caches expire (300 s)
        cold_full_alone.append(timed_full_read())
    resync_s = monitor.resync_s
    monitor.resync_s = 0.0  # every cycle is a full resync
    try:
        full_cycles = [_timed_cycle(app, poller, counter, collector) for _ in range(repeat)]
    finally:
        monitor.resync_s = resync_s
    _timed_cycle(app, poller, counter, collector)  # back to incremental

    # A real change: the router of one member stops answering, then answers again.
    probe = ZabbixSource(
        config["ZABBIX_URL"],
        token=config["ZABBIX_TOKEN"],
        groups_prefix=config["ZABBIX_GROUPS_PREFIX"],
    )
    changed, zabbix_s = [], []
    try:
        for index in range(2 if quick else 4):
            value = index % 2  # 0: down, 1: up again
            send(ROUTER, value)
            seen = _wait_problem(probe, present=value == 0)
            if seen is not None:
                zabbix_s.append(seen * 1000)
            changed.append(_timed_cycle(app, poller, counter, collector))
    finally:
        send(ROUTER, 1)
        probe.close()
    breakdown = _method_breakdown(source, counter, 3 if quick else 5)
    source.close()
    return {
        "items_requested": items,
        "items": sum(counts.values()),
        "hosts": hosts,
        "members": len(groups),
        "provision_s": round(provision_s, 1),
        "cold_cycle": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in cold.items()},
        "incremental_cycle": _aggregate(quiet),
        "full_resync_refresh_alone": _aggregate(full_alone),
        "full_resync_refresh_alone_cold_caches": _aggregate(cold_full_alone),
        "full_resync_cycle": _aggregate(full_cycles),
        "cycle_after_change": _aggregate(changed),
        "sender_to_problem_get_ms": summary(zabbix_s, 1) if zabbix_s else None,
        "read_full_methods": breakdown,
        "load_avg": load_sum(load_before, os.getloadavg()),
    }


def run(quick: bool = False) -> dict:
    load_start = os.getloadavg()
    started = time.perf_counter()
    results: dict = {}
    with Services(zabbix=True) as services:
        try:
            script("zabbix.sh", "reset", "--no-provision")
            for items in ITEM_SCALES:
                results[f"poll_300_members_{items}_items"] = poll_cycles(items, quick)
        finally:
            script("zabbix.sh", "reset")  # back to the default estate, whatever happened
            results["zabbix_left"] = "default estate (scripts/zabbix.sh reset)"
            results["services_started_and_stopped"] = list(services.started)
    results["total_s"] = round(time.perf_counter() - started, 1)
    results["load_avg"] = load_sum(load_start, os.getloadavg())
    return results
