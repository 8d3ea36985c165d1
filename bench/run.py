"""Run every benchmark, write ``bench/results.json`` and print a short table.

``python -m bench.run [--quick] [--zabbix] [--only layout,poll,browser,alerts,support,weight,...]
[--output PATH]``

``weight`` (issue 14 part 8, about 1 min, alone: ``--only weight``): the map page of the
largest demo member with the app alone (``flask vigie serve``, the embedded default, no
proxy: the portal compresses its own answers), phone, empty cache then a repeat visit,
bytes as Chromium counts them on the wire, and its Ecoindex (written under ``map_weight``).

``alerts`` (issue 11, about 3 min, alone: ``--only alerts``): problem → SMTP / push / SMS /
portal latency beyond the alert delay, the delivery worker's messages per second, and a
storm at 300 members (about 2,000 devices down: one message per person and channel).

``support`` (issue 13, about 1 min, alone: ``--only support``): the support queue at 300
members (6,000 requests, 30,000 thread entries) through the test client on SQLite, and on
PostgreSQL too when the project's one already answers (never started here): median and p95
of the queue's pages, a thread, a member's list, ``/support``'s size and SQL statements
per page (written under ``support_queue``).

``--zabbix`` adds the sections that need the project's services (about 10 min more):
``zabbix`` (the real development Zabbix: poll cycles with 300 members at 5,000 and
50,000 items), ``zabbix_defaults`` (zabbix_sender -> browser and the load put on
Zabbix, production topology at the default settings, default estate; about 3 min,
alone: ``--only zabbix_defaults``) and ``fanout`` (2,000 websocket clients on
gunicorn). They start PostgreSQL, Redis and
Zabbix when needed, stop what they started and leave Zabbix in its default estate.
When only some sections run, the others' previous results are kept (listed under
``run.carried_over``).

Numbers are medians of repeated runs (p95 where a tail matters); each target
gets a value, its ratio to the target and a verdict (met / not met). Missing a
target never fails the run; a benchmark that crashes does (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from bench import ecoindex_score
from bench.common import machine
from bench.common import verdict

HERE = Path(__file__).resolve().parent
SECTIONS = ("layout", "poll", "browser", "alerts", "support", "weight")
SERVICE_SECTIONS = ("zabbix", "zabbix_defaults", "fanout")  # behind --zabbix
ALL_SECTIONS = SECTIONS + SERVICE_SECTIONS
#: Top-level keys of results.json written by each section (kept when it is not run).
SECTION_KEYS = {
    "layout": ("layout",),
    "poll": ("poll_cycle_300_members_50000_items",),
    "browser": (
        "map_page_transfer",
        "ecoindex",
        "event_to_browser_latency_ms",
        "idle_bytes_per_minute",
        "idle_traffic",
    ),
    "alerts": ("alerts",),
    "support": ("support_queue",),
    "weight": ("map_weight",),
    "zabbix": ("zabbix",),
    "zabbix_defaults": ("zabbix_defaults",),
    "fanout": ("fanout",),
}
KB = 1000  # bytes in a kB, as the Ecoindex reference scraper counts


def _run_section(name: str, quick: bool) -> tuple[dict | None, str | None, float]:
    started = time.perf_counter()
    print(f"[bench] {name}…", flush=True)
    try:
        if name == "layout":
            from bench import layout as module
        elif name == "poll":
            from bench import poll as module
        elif name == "zabbix":
            from bench import zabbix_bench as module
        elif name == "zabbix_defaults":
            from bench import zabbix_defaults as module
        elif name == "fanout":
            from bench import fanout as module
        elif name == "alerts":
            from bench import alerts as module
        elif name == "support":
            from bench import support_queue as module
        elif name == "weight":
            from bench import weight as module
        else:
            from bench import browser as module
        result = module.run(quick=quick)
    except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
        error = traceback.format_exc()
        print(error, file=sys.stderr, flush=True)
        return None, error.strip().splitlines()[-1], time.perf_counter() - started
    elapsed = time.perf_counter() - started
    print(f"[bench] {name} done in {elapsed:.1f} s", flush=True)
    return result, None, elapsed


def _targets(results: dict) -> dict:
    t: dict[str, dict] = {}
    layout = results.get("layout") or {}
    big = layout.get("500") or {}
    for kind in ("site_layout_ms", "site_layout_with_failures_ms", "site_layout_narrow_ms"):
        value = (big.get(kind) or {}).get("median")
        t[f"layout_500_nodes_{kind}"] = {
            **verdict(value, 100.0),
            "unit": "ms",
            "what": f"median {kind[:-3]}, uncached",
        }

    poll = results.get("poll_cycle_300_members_50000_items") or {}
    for phase in ("steady", "after_faults"):
        value = ((poll.get(phase) or {}).get("cpu_s") or {}).get("median")
        t[f"poll_cycle_cpu_s_{phase}"] = {
            **verdict(value, 0.5),
            "unit": "s",
            "what": f"median process CPU per cycle ({phase})",
        }
    cold = (poll.get("cold") or {}).get("cpu_s")
    t["poll_cycle_cpu_s_cold"] = {
        **verdict(cold, 0.5),
        "unit": "s",
        "what": "first cycle after start (one run)",
    }

    transfer = results.get("map_page_transfer") or {}
    value = (transfer.get("map") or {}).get("gzip_transfer_bytes")
    t["map_page_first_load_kb_gzip"] = {
        **verdict(round(value / KB, 1) if value is not None else None, 100.0),
        "unit": "kB",
        "what": "gzip bodies + response headers, phone, empty cache",
    }

    eco = results.get("ecoindex") or {}
    for page, floor in (("member_home", 80.0), ("map", 70.0)):
        value = (eco.get(page) or {}).get("score")
        t[f"ecoindex_{page}"] = {
            **verdict(value, floor, lower_is_better=False),
            "unit": "score",
            "what": "DOM = every element",
        }
        alt = (eco.get(page) or {}).get("outside_svg", {}).get("score")
        t[f"ecoindex_{page}_scraper_dom"] = {
            **verdict(alt, floor, lower_is_better=False),
            "unit": "score",
            "what": "DOM = elements outside SVG (reference scraper)",
        }

    lat = results.get("event_to_browser_latency_ms") or {}
    t["event_to_browser_p95_ms_300_members"] = {
        **verdict(lat.get("p95"), 2000.0),
        "unit": "ms",
        "what": "1 s poll, 300 members",
    }
    small = lat.get("estate_6_members") or {}
    t["event_to_browser_p95_ms_6_members"] = {
        **verdict(small.get("p95"), 2000.0),
        "unit": "ms",
        "what": "1 s poll, 6 members",
    }

    idle_poll = (results.get("idle_traffic") or {}).get("poll_interval_s")
    t["idle_map_bytes_per_minute"] = {
        **verdict(results.get("idle_bytes_per_minute"), 2000.0),
        "unit": "B/min",
        "what": f"websocket payload + HTTP, {idle_poll or '?'} s poll, no change",
    }
    _weight_targets(t, results)
    _alerts_targets(t, results)
    _support_targets(t, results)
    _zabbix_targets(t, results)
    return t


def _weight_targets(t: dict, results: dict) -> None:
    """Rows of the weight section (issue 14 part 8): the map page, the app alone."""
    weight = results.get("map_weight") or {}
    member = weight.get("member", "?")
    for key, limit, what in (
        ("empty_cache", 80.0, "empty cache"),
        ("repeat_visit", 15.0, "repeat visit (cache kept)"),
    ):
        value = (weight.get(key) or {}).get("median_kb")
        t[f"map_weight_{key}_kb"] = {
            **verdict(value, limit),
            "unit": "kB",
            "what": f"bytes on the wire, map of {member}, phone, {what}, "
            "flask vigie serve alone (no proxy)",
        }
    eco = weight.get("ecoindex") or {}
    t["ecoindex_map_app_alone"] = {
        **verdict(eco.get("score"), 75.0, lower_is_better=False),
        "unit": "score",
        "what": "empty cache, DOM = elements outside SVG (reference scraper)",
    }
    t["ecoindex_map_app_alone_every_element"] = {
        **verdict((eco.get("every_element") or {}).get("score"), 75.0, lower_is_better=False),
        "unit": "score",
        "what": "the same with DOM = every element (the map's SVG counted)",
    }


def _alerts_targets(t: dict, results: dict) -> None:
    """Rows of the alerts section (issue 11); the time limits are provisional."""
    alerts = results.get("alerts") or {}
    latency = alerts.get("latency") or {}
    beyond = latency.get("seen_to_endpoint_beyond_delay_ms") or {}
    worst = max((v.get("p95") for v in beyond.values() if v), default=None)
    t["alert_beyond_delay_p95_ms_6_members"] = {
        **verdict(worst, 2000.0),
        "unit": "ms",
        "what": "poll cycle saw it -> endpoint, minus VIGIE_ALERT_DELAY, worst channel "
        f"({', '.join(beyond) or '?'}; provisional limit)",
    }
    storm = alerts.get("storm") or {}
    outage = storm.get("outage") or {}
    extra = None
    if "messages_received" in outage:
        extra = outage["messages_received"] - outage["messages_expected"]
    t["alert_storm_extra_messages"] = {
        **verdict(extra, 1),
        "unit": "msg",
        "what": f"received - (members hit x people x channels), "
        f"{storm.get('hosts_of_members_hit', '?')} devices down",
    }
    last = outage.get("seen_to_last_message_ms")
    t["alert_storm_seen_to_last_message_s"] = {
        **verdict(round(last / 1000, 1) if last is not None else None, 60.0),
        "unit": "s",
        "what": f"{outage.get('messages_expected', '?')} messages, "
        f"{storm.get('members', '?')} members (provisional limit)",
    }


def _support_targets(t: dict, results: dict) -> None:
    """Rows of the support section (issue 13): the queue at 300 members, reported only."""
    support = results.get("support_queue") or {}
    for label in ("sqlite", "postgresql"):
        pages = (support.get(label) or {}).get("pages") or {}
        queue = pages.get("queue_default") or {}
        t[f"support_queue_median_ms_300_members_{label}"] = {
            **verdict((queue.get("ms") or {}).get("median"), 150.0),
            "unit": "ms",
            "what": f"GET /support (open, by due date, 25 rows), 6,000 requests, {label}",
        }
    pages = (support.get("sqlite") or {}).get("pages") or {}
    value = (pages.get("queue_default") or {}).get("sql", {}).get("statements")
    t["support_queue_sql_statements"] = {
        **verdict(value, 15),
        "unit": "stmt",
        "what": "SQL statements of one GET /support (no N+1: independent of the rows)",
    }


def _zabbix_targets(t: dict, results: dict) -> None:
    """Rows of the --zabbix sections ("not measured" when they were not run)."""
    zabbix = results.get("zabbix") or {}
    for items in (5_000, 50_000):
        scale = zabbix.get(f"poll_300_members_{items}_items") or {}
        label = f"{items // 1000}k"
        rows = (
            ("incremental_cycle", 100.0, "median Poller.cycle(), nothing changed"),
            ("full_resync_cycle", 500.0, "median Poller.cycle() with a full resync"),
            ("full_resync_refresh_alone", 500.0, "median monitor.refresh(full=True) alone"),
        )
        for key, limit, what in rows:
            value = ((scale.get(key) or {}).get("wall_ms") or {}).get("median")
            t[f"zabbix_{key}_ms_300_members_{label}_items"] = {
                **verdict(value, limit),
                "unit": "ms",
                "what": f"{what}, real Zabbix (--zabbix)",
            }
    defaults = results.get("zabbix_defaults") or {}
    latency = defaults.get("sender_to_browser_ms") or {}
    interval = defaults.get("poll_interval_s")
    t["zabbix_sender_to_browser_p95_ms"] = {
        **verdict(latency.get("p95"), 2000.0),
        "unit": "ms",
        "what": f"zabbix_sender -> map node class, default settings ({interval or '?'} s poll), "
        "gunicorn x2 + poller (--zabbix)",
    }
    fanout = results.get("fanout") or {}
    clients = fanout.get("clients_connected")
    for key, what in (
        ("first_publish_to_receipt_ms", "change detected (first publish) -> each client"),
        ("room_publish_to_receipt_ms", "room publish -> each client (Redis + relay)"),
    ):
        value = (fanout.get(key) or {}).get("p95")
        t[f"fanout_{key.removesuffix('_ms')}_p95_ms"] = {
            **verdict(value, 500.0),
            "unit": "ms",
            "what": f"{what}, {clients or '?'} websockets, 300 rooms (--zabbix)",
        }


def _browser_sections(results: dict, browser: dict) -> None:
    transfer = browser.get("transfer") or {}
    results["map_page_transfer"] = {
        **transfer,
        "viewport": "390x844 (phone, DPR 2), fresh context, logged in without loading pages",
        "kB": KB,
        "member": "cc-saulnois",
        "note": "gzip_* = gzip level 6 of each body, raw_* = the bodies decoded (the app "
        "compresses its answers itself: see map_weight for the bytes on the wire); headers "
        "counted as sent",
    }
    eco = {"implementation": ecoindex_score.implementation()}
    for name, page in transfer.items():
        size_kb = page["gzip_transfer_bytes"] / KB
        eco[name] = {
            **ecoindex_score.score(page["dom_elements"], page["requests"], size_kb),
            "outside_svg": ecoindex_score.score(
                page["dom_elements_outside_svg"], page["requests"], size_kb
            ),
        }
    results["ecoindex"] = eco
    lat = browser.get("latency_300_members") or {}
    results["event_to_browser_latency_ms"] = {
        **lat,
        "estate": "300 members, 50,000 items (embedded poller + server in one process)",
        "estate_6_members": browser.get("latency_6_members"),
    }
    idle = browser.get("idle") or {}
    results["idle_bytes_per_minute"] = (idle.get("map") or {}).get("bytes_per_minute")
    results["idle_traffic"] = idle
    results["machine"]["chromium"] = browser.get("chromium")


def _carry_over(results: dict, wanted: list[str], output: Path) -> dict[str, str]:
    """Copy the previous results of the sections not run this time; section -> its date."""
    try:
        previous = json.loads(output.read_text())
    except (OSError, ValueError):
        return {}
    carried = {}
    for section, keys in SECTION_KEYS.items():
        if section in wanted:
            continue
        kept = [key for key in keys if key in previous and key not in results]
        for key in kept:
            results[key] = previous[key]
        if kept:
            when = (previous.get("run") or {}).get("carried_over", {}).get(section)
            carried[section] = when or (previous.get("machine") or {}).get("date") or "?"
            if section == "browser" and "chromium" in (previous.get("machine") or {}):
                results["machine"].setdefault("chromium", previous["machine"]["chromium"])
    return carried


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"
    return f"{value:,}"


def print_table(targets: dict) -> None:
    rows = [("target", "value", "limit", "ratio", "verdict")]
    for name, t in targets.items():
        sign = "≥" if name.startswith("ecoindex") else "<"
        rows.append(
            (
                name,
                f"{_fmt(t['value'])} {t['unit']}",
                f"{sign} {_fmt(t['target'])}",
                _fmt(t["ratio"]),
                t["verdict"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def _print_zabbix_load(defaults: dict | None) -> None:
    load = (defaults or {}).get("zabbix_load")
    if not load:
        return
    latency = defaults.get("sender_to_browser_ms") or {}
    print(
        f"\nAt the default settings ({defaults['poll_interval_s']:g} s poll, full resync every "
        f"{defaults['full_resync_interval_s']:g} s): zabbix_sender -> browser median "
        f"{_fmt(latency.get('median'))} ms, p95 {_fmt(latency.get('p95'))} ms "
        f"(n={latency.get('n')}); load on Zabbix {_fmt(load['calls_per_min'])} calls/min, "
        f"{_fmt(load['call_time_s_per_min'])} s of calls/min "
        f"({load['window_s']:g} s window, {load['full_reads']} full read(s))"
    )


def _print_alerts(alerts: dict | None) -> None:
    if not alerts or "latency" not in alerts:
        return
    latency, throughput, storm = alerts["latency"], alerts["throughput"], alerts["storm"]
    email = latency["seen_to_endpoint_beyond_delay_ms"].get("email") or {}
    rates = ", ".join(
        f"{name} {_fmt(throughput[name]['messages_per_s']['median'])}/s"
        for name in ("portal", "email", "push", "sms")
        if name in throughput
    )
    outage = storm["outage"]
    print(
        f"\nAlerts: poll cycle -> e-mail beyond the {latency['alert_delay_s']:g} s delay median "
        f"{_fmt(email.get('median'))} ms, p95 {_fmt(email.get('p95'))} ms (n={email.get('runs')}); "
        f"worker {rates}; storm {storm['members_hit']} members, "
        f"{outage['devices_down_in_poller_statuses']:,} devices down: "
        f"{outage['messages_received']:,} messages for {outage['messages_expected']:,} expected, "
        f"last {_fmt(outage['seen_to_last_message_ms'] / 1000)} s after the poll cycle"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help="comma-separated sections: " + ",".join(ALL_SECTIONS),
    )
    parser.add_argument(
        "--zabbix",
        action="store_true",
        help="also run " + " and ".join(SERVICE_SECTIONS) + " (real Zabbix, PostgreSQL, Redis)",
    )
    parser.add_argument("--output", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    if args.zabbix:
        wanted += [s for s in SERVICE_SECTIONS if s not in wanted]
    unknown = set(wanted) - set(ALL_SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    results: dict = {"machine": machine()}
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    for name in ALL_SECTIONS:
        if name not in wanted:
            continue
        value, error, elapsed = _run_section(name, args.quick)
        durations[name] = round(elapsed, 1)
        if error:
            errors[name] = error
            continue
        if name == "layout":
            results["layout"] = value
        elif name == "poll":
            results["poll_cycle_300_members_50000_items"] = value
        elif name in SERVICE_SECTIONS or name == "alerts":
            results[name] = value
        elif name == "support":
            results["support_queue"] = value
        elif name == "weight":
            results["map_weight"] = value
        else:
            _browser_sections(results, value)
    carried = _carry_over(results, wanted, Path(args.output))
    results["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = _targets(results)
    results["run"] = {
        "quick": args.quick,
        "sections": wanted,
        "section_seconds": durations,
        "total_seconds": round(time.perf_counter() - started, 1),
        "errors": errors,
        "carried_over": carried,
    }
    ordered = {"targets": results.pop("targets"), **results}
    Path(args.output).write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")
    print()
    print_table(ordered["targets"])
    _print_alerts(ordered.get("alerts"))
    if ordered.get("support_queue"):
        from bench.support_queue import print_table as print_support

        print_support(ordered["support_queue"])
    _print_zabbix_load(ordered.get("zabbix_defaults"))
    if carried:
        print("\nKept from the previous results: " + ", ".join(carried))
    if not set(SERVICE_SECTIONS) & set(wanted) and not set(SERVICE_SECTIONS) & set(carried):
        print(
            "\nzabbix_* and fanout_* rows: `python -m bench.run --zabbix` "
            "(`make bench BENCH_ARGS=--zabbix`; real Zabbix, PostgreSQL, Redis; ~10 min more)"
        )
    print(f"\nResults: {args.output} ({ordered['run']['total_seconds']} s)")
    if errors:
        print("Failed sections: " + ", ".join(f"{k} ({v})" for k, v in errors.items()))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
