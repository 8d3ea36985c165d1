"""Poll cycle at scale: 300 members, 50,000 items, the demo source, no web server.

Cycles measured: the first (cold: every member computed, nothing published
but the source state), steady ones (nothing changed), and cycles right after a
few injected faults or their repair. For each: wall time, process CPU time,
source calls, events and their JSON size. The source read (``Monitor.refresh``,
the demo source generating the estate) is timed apart, since with Zabbix that
part is network wait rather than our CPU.
"""

from __future__ import annotations

import json
import statistics
import time

from bench.common import bench_app
from bench.common import create_demo_members
from bench.common import summary
from bench.common import temp_dir

MEMBERS = 300
ITEMS = 50_000


class Collector:
    """Stands in for ``events.publish``: keeps what would have been sent."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None, int]] = []

    def __call__(self, event: str, data: dict, room: str | None = None) -> None:
        self.events.append((event, room, len(json.dumps(data))))

    def take(self) -> list[tuple[str, str | None, int]]:
        taken, self.events = self.events, []
        return taken


class TimedRefresh:
    """Wraps ``Monitor.refresh`` on one instance to time the source read."""

    def __init__(self, monitor) -> None:
        self.inner = monitor.refresh
        self.wall = 0.0
        self.cpu = 0.0
        monitor.refresh = self

    def __call__(self):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self.inner()
        finally:
            self.wall = time.perf_counter() - wall
            self.cpu = time.process_time() - cpu


def _cycle(app, poller, collector, refresh) -> dict:
    with app.app_context():
        wall, cpu = time.perf_counter(), time.process_time()
        stats = poller.cycle()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    events = collector.take()
    by_kind: dict[str, int] = {}
    for name, _room, _size in events:
        by_kind[name] = by_kind.get(name, 0) + 1
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "source_read_wall_s": refresh.wall,
        "source_read_cpu_s": refresh.cpu,
        "api_calls": stats.api_calls,
        "members": stats.members,
        "changed_members": stats.changed_members,
        "changed_nodes": stats.changed_nodes,
        "events": len(events),
        "events_by_kind": by_kind,
        "payload_bytes": sum(size for *_, size in events),
    }


def _aggregate(cycles: list[dict]) -> dict:
    out = {
        key: summary([c[key] for c in cycles])
        for key in ("wall_s", "cpu_s", "source_read_wall_s", "source_read_cpu_s")
    }
    out["cpu_excluding_source_read_s"] = summary(
        [c["cpu_s"] - c["source_read_cpu_s"] for c in cycles]
    )
    for key in ("api_calls", "changed_members", "changed_nodes", "events", "payload_bytes"):
        out[key] = statistics.median(c[key] for c in cycles)
    kinds: dict[str, list[int]] = {}
    for c in cycles:
        for name in c["events_by_kind"]:
            kinds.setdefault(name, [])
    for name in kinds:
        kinds[name] = statistics.median(c["events_by_kind"].get(name, 0) for c in cycles)
    out["events_by_kind"] = kinds
    out["cycles"] = len(cycles)
    return out


def _codec(snapshot, repeat: int) -> dict:
    """The snapshot the poller hands to web workers through Redis: size and time."""
    from webapp.live.store import decode
    from webapp.live.store import encode

    encode_s, decode_s = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        payload = encode(snapshot)
        encode_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        decode(payload)
        decode_s.append(time.perf_counter() - started)
    return {"bytes": len(payload), "encode_s": summary(encode_s), "decode_s": summary(decode_s)}


def run(quick: bool = False) -> dict:
    import topology
    from webapp.live.monitor import get_monitor
    from webapp.live.poller import Poller

    tmp = temp_dir("poll")
    started = time.perf_counter()
    app = bench_app(tmp, DEMO_MEMBERS=MEMBERS, DEMO_ITEMS=ITEMS, DEMO_INCIDENTS=True)
    create_demo_members(app)
    setup_s = time.perf_counter() - started
    monitor = get_monitor(app)
    source = monitor.source
    refresh = TimedRefresh(monitor)
    collector = Collector()
    poller = Poller(app, publish=collector)
    with app.app_context():
        counts = source.probe_counts()
    hosts = len(source.hosts())
    items = sum(counts.values())

    topology.layout_cache_clear()
    cold = _cycle(app, poller, collector, refresh)
    steady = [_cycle(app, poller, collector, refresh) for _ in range(3 if quick else 8)]
    cache_before = topology.layout_cache_info()
    steady_extra = _cycle(app, poller, collector, refresh)
    cache_after = topology.layout_cache_info()
    steady.append(steady_extra)

    # Faults on a few end devices and a switch of different members, then repairs.
    leaves = []
    for member in source.members[10:60:10]:
        names = [h.host for h in source.hosts([member.group])]
        leaves.append(next(n for n in names if "-printer-" in n or "-ap-" in n))
    switch = next(
        h.host
        for h in source.hosts([source.members[70].group])
        if "-sw-" in h.host and h.host.count("-") == source.members[70].slug.count("-") + 3
    )
    faulted, repaired = [], []
    for _ in range(2 if quick else 4):
        for name in [*leaves, switch]:
            source.fail(name)
        faulted.append(_cycle(app, poller, collector, refresh))
        for name in [*leaves, switch]:
            source.repair(name)
        repaired.append(_cycle(app, poller, collector, refresh))

    return {
        "members": MEMBERS,
        "hosts": hosts,
        "snapshot_codec": _codec(monitor.snapshot, 3 if quick else 9),
        "items": items,
        "setup_s": round(setup_s, 2),
        "faults_per_cycle": {"hosts": len(leaves) + 1, "end_devices": len(leaves), "switches": 1},
        "cold": {**{k: (round(v, 4) if isinstance(v, float) else v) for k, v in cold.items()}},
        "steady": _aggregate(steady),
        "after_faults": _aggregate(faulted),
        "after_repairs": _aggregate(repaired),
        "layout_cache_in_one_steady_cycle": {
            "hits": cache_after.hits - cache_before.hits,
            "misses": cache_after.misses - cache_before.misses,
            "maxsize": cache_after.maxsize,
            "layouts_needed": 2 * MEMBERS,
        },
    }
