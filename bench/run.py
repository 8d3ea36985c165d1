"""Run every benchmark, write ``bench/results.json`` and print a short table.

``python -m bench.run [--quick] [--only layout,poll,browser] [--output PATH]``

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
SECTIONS = ("layout", "poll", "browser")
KB = 1000  # bytes in a kB, as the Ecoindex reference scraper counts


def _run_section(name: str, quick: bool) -> tuple[dict | None, str | None, float]:
    started = time.perf_counter()
    print(f"[bench] {name}…", flush=True)
    try:
        if name == "layout":
            from bench import layout as module
        elif name == "poll":
            from bench import poll as module
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
    for kind in ("layered_layout_ms", "narrow_layout_ms"):
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

    t["idle_map_bytes_per_minute"] = {
        **verdict(results.get("idle_bytes_per_minute"), 2000.0),
        "unit": "B/min",
        "what": "websocket payload + HTTP, 5 s poll, no change",
    }
    return t


def _browser_sections(results: dict, browser: dict) -> None:
    transfer = browser.get("transfer") or {}
    results["map_page_transfer"] = {
        **transfer,
        "viewport": "390x844 (phone, DPR 2), fresh context, logged in without loading pages",
        "kB": KB,
        "member": "cc-saulnois",
        "note": "gzip_* = gzip level 6 of each body (the production proxy compresses); "
        "raw_* = what the app itself sends; headers counted as sent",
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help="comma-separated sections: " + ",".join(SECTIONS)
    )
    parser.add_argument("--output", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    results: dict = {"machine": machine()}
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    for name in SECTIONS:
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
        else:
            _browser_sections(results, value)
    results["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = _targets(results)
    results["run"] = {
        "quick": args.quick,
        "sections": wanted,
        "section_seconds": durations,
        "total_seconds": round(time.perf_counter() - started, 1),
        "errors": errors,
    }
    ordered = {"targets": results.pop("targets"), **results}
    Path(args.output).write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")
    print()
    print_table(ordered["targets"])
    print(f"\nResults: {args.output} ({ordered['run']['total_seconds']} s)")
    if errors:
        print("Failed sections: " + ", ".join(f"{k} ({v})" for k, v in errors.items()))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
