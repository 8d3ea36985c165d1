"""zabbix_sender -> browser at the default settings, and the load the poller puts on Zabbix.

The production topology (PostgreSQL, Redis, gunicorn ×2, ``flask vigie poll``, see
:class:`bench.stack.Stack`) against the development Zabbix in its default estate
(6 members; ``scripts/zabbix.sh up`` provisions it): nothing of the poller's timing
is set (``VIGIE_POLL_INTERVAL``, ``VIGIE_FULL_RESYNC_INTERVAL``,
``VIGIE_STALE_AFTER_POLLS`` unset), so this measures what ``webapp.config.BaseConfig``
gives out of the box.

1. **Load on Zabbix, quiet estate**: over a window of ``FULL_RESYNC_INTERVAL`` plus a
   few polls (so that it holds a full resync), API calls per minute and the wall-clock
   seconds spent in them per minute (``ZabbixSource.calls`` and ``call_time_s``, read in
   the poller process by :mod:`bench.counted_poll`). The web workers only follow the
   poller's snapshot in Redis: they send no calls.
2. **zabbix_sender -> browser**: the router of Sarralbe goes down and up with
   ``zabbix_sender`` at a random phase against the poll clock; Chromium shows the map
   and a MutationObserver times the node's class change. The load during these rounds
   (each change costs a full read) is given too.

Also the largest gap between two successful reads, against the stale limit
(``STALE_AFTER_POLLS`` × ``POLL_INTERVAL``). The Zabbix is not reset: the router is
sent back up, and the services this module started are stopped.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

from bench.common import summary
from bench.fanout import QueueListener
from bench.fanout import load_sum
from bench.stack import Services
from bench.stack import Stack
from bench.stack import bench_stack
from bench.stack import script
from bench.zabbix_bench import PREFIX
from bench.zabbix_bench import ROUTER
from bench.zabbix_bench import SLUG
from bench.zabbix_bench import VIEWER
from bench.zabbix_bench import env_file
from bench.zabbix_bench import send

#: Settings this bench leaves unset, so that the defaults apply.
DEFAULTED = ("VIGIE_POLL_INTERVAL", "VIGIE_FULL_RESYNC_INTERVAL", "VIGIE_STALE_AFTER_POLLS")


def _samples(path) -> list[dict]:
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.endswith("\n")]


def _load(samples: list[dict], start: float, end: float) -> dict:
    """API calls and seconds in calls per minute between the samples nearest two instants."""
    inside = [s for s in samples if start <= s["t"] <= end]
    first, last = inside[0], inside[-1]
    window = last["t"] - first["t"]
    calls = last["calls"] - first["calls"]
    call_time = last["call_time_s"] - first["call_time_s"]
    full_reads = len({s["last_full"] for s in inside}) - 1
    return {
        "calls_per_min": round(calls * 60 / window, 1),
        "call_time_s_per_min": round(call_time * 60 / window, 3),
        "ms_per_call": round(call_time * 1000 / calls, 1) if calls else None,
        "calls": calls,
        "call_time_s": round(call_time, 3),
        "window_s": round(window, 1),
        "full_reads": full_reads,
    }


def _largest_read_gap(samples: list[dict]) -> float | None:
    """Seconds between two successive successful reads, at most (the source age peaks there)."""
    reads = sorted({s["last_success"] for s in samples if s["last_success"] is not None})
    gaps = [b - a for a, b in zip(reads, reads[1:], strict=False)]
    return round(max(gaps), 3) if gaps else None


def _latency_rounds(stack: Stack, listener: QueueListener, hostid: str, rounds: int) -> dict:
    """Down and up ``rounds`` times; delay from zabbix_sender to the node's class in Chromium."""
    from bench.browser import _MARK_AFTER
    from bench.browser import _OBSERVE
    from bench.browser import WIDE
    from bench.browser import _context
    from bench.browser import chromium
    from bench.browser import log_in
    from webapp.services import demo as demo_service

    delays: dict[str, list[float]] = {"fail": [], "repair": []}
    to_emit, emit_to_dom = [], []
    misses = 0
    with chromium() as browser:
        context = _context(browser, stack.url, WIDE)
        try:
            log_in(context, VIEWER, demo_service.DEMO_PASSWORD)
            page = context.new_page()
            page.goto(f"/membres/{SLUG}/carte")
            page.wait_for_selector('[data-live-map][data-live-state="live"]')
            page.wait_for_selector(f'svg[data-map-svg] g.node[data-node="{hostid}"]')
            observed = page.evaluate(_OBSERVE, hostid)
            rnd = random.Random(1)
            for _ in range(rounds):
                for value, action, wanted in (
                    (0, "fail", "node--problem"),
                    (1, "repair", "node--ok"),
                ):
                    time.sleep(rnd.uniform(0, 1.0))  # random phase against the poll clock
                    t0 = time.time()
                    send(ROUTER, value)
                    try:
                        handle = page.wait_for_function(
                            _MARK_AFTER, arg=[t0 * 1000, wanted], polling=50, timeout=15_000
                        )
                    except Exception:  # noqa: BLE001 - a lost update is counted
                        misses += 1
                        send(ROUTER, 1)
                        continue
                    seen = handle.json_value() / 1000
                    delays[action].append((seen - t0) * 1000)
                    emitted = listener.first_after(t0, "member.update", f"member:{SLUG}")
                    if emitted is not None and emitted <= seen:
                        to_emit.append((emitted - t0) * 1000)
                        emit_to_dom.append((seen - emitted) * 1000)
        finally:
            context.close()
    every = delays["fail"] + delays["repair"]
    return {
        **(summary(every, 1) if every else {}),
        "n": len(every),
        "missed": misses,
        "fail": summary(delays["fail"], 1) if delays["fail"] else None,
        "repair": summary(delays["repair"], 1) if delays["repair"] else None,
        "sender_to_publish_ms": summary(to_emit, 1) if to_emit else None,
        "publish_to_dom_ms": summary(emit_to_dom, 1) if emit_to_dom else None,
        "svg_nodes_observed": observed,
    }


def measure(quick: bool) -> dict:
    """Start the stack at the default settings; the load window, then the latency rounds."""
    from webapp.config import BaseConfig
    from webapp.sources.zabbix import ZabbixSource

    interval = float(BaseConfig.POLL_INTERVAL)
    resync = float(BaseConfig.FULL_RESYNC_INTERVAL)
    load_before = os.getloadavg()
    env = env_file()
    probe = ZabbixSource(
        env["VIGIE_ZABBIX_URL"],
        token=env["VIGIE_ZABBIX_TOKEN"],
        groups_prefix=env.get("VIGIE_ZABBIX_GROUPS_PREFIX"),
    )
    try:
        routers = [h for h in probe.hosts([PREFIX + SLUG]) if h.host == ROUTER]
    finally:
        probe.close()
    if not routers:
        raise RuntimeError(f"{ROUTER} not in Zabbix: not the default estate (scripts/zabbix.sh)")
    hostid = routers[0].hostid
    send(ROUTER, 1)  # up, whatever an earlier run left
    unset = dict.fromkeys(DEFAULTED)
    stack = bench_stack(
        "zbxdefaults", {**env, "VIGIE_SOURCE": "zabbix", "VIGIE_THREADS": "50", **unset}
    )
    samples_path = stack.tmp / "poller-counters.jsonl"
    listener = None
    try:
        stack.create_database(VIGIE_SOURCE="demo", VIGIE_DEMO_MEMBERS="6")
        stack.start_web()
        stack.start_poller(
            command=[sys.executable, "-m", "bench.counted_poll", str(samples_path)], ready=True
        )
        listener = QueueListener(stack.channel)
        time.sleep(3 * interval)  # past the first cycles
        quiet_start = time.time()
        # A full resync comes every `resync` s plus part of a cycle: a window a bit longer.
        time.sleep((resync + 5 * interval) * (0.5 if quick else 1.0))
        quiet_end = rounds_start = time.time()
        latency = _latency_rounds(stack, listener, hostid, 8 if quick else 20)
        rounds_end = time.time()
        time.sleep(2 * interval)  # the last sample after the rounds
    finally:
        if listener is not None:
            listener.close()
        stack.close()
        send(ROUTER, 1)
    samples = _samples(samples_path)
    stale_after = interval * int(BaseConfig.STALE_AFTER_POLLS)
    gap = _largest_read_gap([s for s in samples if s["t"] >= quiet_start])
    return {
        "poll_interval_s": interval,
        "full_resync_interval_s": resync,
        "stale_after_s": stale_after,
        "sender_to_browser_ms": latency,
        "zabbix_load": _load(samples, quiet_start, quiet_end),
        "zabbix_load_during_latency_rounds": _load(samples, rounds_start, rounds_end),
        "largest_gap_between_reads_s": gap,
        "stale_banner_possible": gap is not None and gap > stale_after,
        "host": ROUTER,
        "members": 6,
        "topology": "PostgreSQL + Redis + gunicorn (2 gevent workers) + flask vigie poll",
        "settings_unset": list(DEFAULTED),
        "load_avg": load_sum(load_before, os.getloadavg()),
    }


def run(quick: bool = False) -> dict:
    started = time.perf_counter()
    with Services(zabbix=True) as services:
        if "zabbix" in services.started:
            script("zabbix.sh", "up")  # provisions the default estate
        result = measure(quick)
        result["services_started_and_stopped"] = list(services.started)
    result["total_s"] = round(time.perf_counter() - started, 1)
    return result
