"""Weight of the map page with the app alone: empty cache, then a repeat visit.

``flask vigie serve`` (the embedded default: SQLite, demo source, one process, no proxy)
runs in a subprocess with the demo data loaded (``flask db upgrade``, ``flask vigie demo
load``). Chromium, at 390×844, signs in as the demo reader of the largest demo member (the
most devices) and opens its map with an empty cache, then opens it again in the same
context (a repeat visit: the cache kept). The bytes are what Chromium's network layer
counts for each response (CDP ``Network.loadingFinished`` ``encodedDataLength``: headers
and body as they came over the wire, compressed or not, 0 when the cache answered), plus
the websocket frames until the page has settled. The service worker is blocked: its
one-off precache of the offline page is not the map page's weight, and pages it answers
would hide their bytes from the page's own network events. Median of 3 runs (2 with
``--quick``); the Ecoindex of the first visit with ``bench/ecoindex_score.py``.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time

from bench import ecoindex_score
from bench.browser import PHONE
from bench.browser import chromium
from bench.browser import log_in
from bench.common import ROOT
from bench.common import temp_dir

KB = 1000
PASSWORD = "demo-vigie-2026"  # webapp.services.demo.DEMO_PASSWORD


def _largest_member() -> str:
    """The slug of the demo member with the most devices (the default estate)."""
    from collections import Counter

    from webapp.config import BaseConfig
    from webapp.sources.demo.estate import build_estate

    estate = build_estate(BaseConfig.DEMO_SEED, BaseConfig.DEMO_MEMBERS)
    groups = Counter(group for host in estate.hosts for group in host.groups)
    group = groups.most_common(1)[0][0]
    return next(m.slug for m in estate.members if m.group == group)


def _free_port() -> int:
    wanted = os.environ.get("BENCH_WEIGHT_PORT")
    if wanted:
        return int(wanted)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``flask vigie serve`` on a scratch database, as ``make run`` starts it."""

    def __init__(self) -> None:
        self.tmp = temp_dir("weight")
        self.port = _free_port()
        self.env = {
            **os.environ,
            "FLASK_APP": "wsgi.py",
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "VIGIE_DATABASE_URL": f"sqlite:///{self.tmp / 'vigie.db'}",
            "VIGIE_DEMO_STATE_FILE": str(self.tmp / "demo-state.json"),
            "VIGIE_SECRET_KEY": "bench-secret-key-not-for-production",
            "VIGIE_SOURCE": "demo",
            "VIGIE_RATELIMIT_ENABLED": "false",
        }
        for name in ("VIGIE_ENV", "VIGIE_ZABBIX_URL", "VIGIE_ZABBIX_TOKEN"):
            self.env.pop(name, None)
        self.process: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def _flask(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self) -> str:
        self._flask("db", "upgrade")
        self._flask("vigie", "demo", "load")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "vigie", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "serve.log", "wb"),  # noqa: SIM115 - closed with the process
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"flask vigie serve ended: {self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self.url
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"flask vigie serve did not answer on {self.url}")

    def tail(self) -> str:
        return (self.tmp / "serve.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


_DOM_COUNTS = """() => ({
  elements: document.getElementsByTagName('*').length,
  svg_descendants: document.querySelectorAll('svg *').length,
})"""


def _visit(context, path: str) -> dict:
    """Open ``path`` in a new page of ``context``; what came over the network until settled."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    pending: dict[str, str] = {}
    rows: dict[str, dict] = {}
    ws = {"sockets": 0, "bytes": 0}

    def sent(event):
        pending[event["requestId"]] = event["request"]["url"]
        rows.setdefault(event["requestId"], {"url": event["request"]["url"]})

    def received(event):
        row = rows.setdefault(event["requestId"], {"url": event["response"]["url"]})
        response = event["response"]
        row.update(
            status=response["status"],
            encoding=(response.get("headers") or {}).get("content-encoding")
            or (response.get("headers") or {}).get("Content-Encoding"),
            from_cache=bool(response.get("fromDiskCache") or response.get("fromPrefetchCache")),
        )

    def cached(event):
        rows.setdefault(event["requestId"], {}).update(from_cache=True, memory_cache=True)

    def finished(event):
        pending.pop(event["requestId"], None)
        rows.setdefault(event["requestId"], {})["bytes"] = int(event["encodedDataLength"])

    def failed(event):
        pending.pop(event["requestId"], None)
        rows.setdefault(event["requestId"], {})["failed"] = event.get("errorText")

    def frame(event):
        ws["bytes"] += len(event["response"]["payloadData"].encode())

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", received)
    cdp.on("Network.requestServedFromCache", cached)
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.loadingFailed", failed)
    cdp.on("Network.webSocketCreated", lambda _e: ws.__setitem__("sockets", ws["sockets"] + 1))
    cdp.on("Network.webSocketFrameReceived", frame)
    cdp.on("Network.webSocketFrameSent", frame)
    page.goto(path, wait_until="load")
    if "/connexion" in page.url:
        raise RuntimeError("not signed in")
    page.wait_for_selector('[data-live-map][data-live-state="live"]')
    quiet = waited = 0
    while waited < 5000 and quiet < 500:  # no HTTP request in flight for 0.5 s
        page.wait_for_timeout(100)
        waited += 100
        quiet = quiet + 100 if not pending else 0
    dom = page.evaluate(_DOM_COUNTS)
    page.close()
    responses = [
        {**row, "url": row.get("url", "?").split("//", 1)[-1].split("/", 1)[-1]}
        for row in rows.values()
    ]
    http_bytes = sum(r.get("bytes", 0) for r in responses)
    over_network = [r for r in responses if r.get("bytes", 0) > 0]
    return {
        "transfer_bytes": http_bytes + ws["bytes"],
        "http_bytes": http_bytes,
        "websocket_payload_bytes": ws["bytes"],
        "http_requests": len(responses),
        "http_requests_over_network": len(over_network),
        "websockets": ws["sockets"],
        "requests": len(responses) + ws["sockets"],
        "dom_elements": dom["elements"],
        "dom_elements_outside_svg": dom["elements"] - dom["svg_descendants"],
        "responses": sorted(responses, key=lambda r: -r.get("bytes", 0)),
    }


def _run_once(browser, base_url: str, path: str, email: str) -> tuple[dict, dict]:
    context = browser.new_context(
        base_url=base_url,
        locale="fr-FR",
        timezone_id="Europe/Paris",
        service_workers="block",
        **PHONE,
    )
    context.set_default_timeout(20_000)
    try:
        log_in(context, email, PASSWORD)  # the request API: the HTTP cache stays empty
        first = _visit(context, path)
        repeat = _visit(context, path)
        return first, repeat
    finally:
        context.close()


def _median_run(loads: list[dict]) -> dict:
    ordered = sorted(loads, key=lambda r: r["transfer_bytes"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["transfer_bytes_over_runs"] = [r["transfer_bytes"] for r in loads]
    chosen["median_kb"] = round(statistics.median(r["transfer_bytes"] for r in loads) / KB, 1)
    return chosen


def run(quick: bool = False) -> dict:
    slug = _largest_member()
    email = f"elu@{slug}.demo.example.org"
    path = f"/membres/{slug}/carte"
    server = Server()
    firsts, repeats = [], []
    try:
        url = server.start()
        with chromium() as browser:
            for _ in range(2 if quick else 3):
                first, repeat = _run_once(browser, url, path, email)
                firsts.append(first)
                repeats.append(repeat)
            version = browser.version
    except Exception:
        print(server.tail(), file=sys.stderr)
        raise
    finally:
        server.stop()
    first, repeat = _median_run(firsts), _median_run(repeats)
    size_kb = first["transfer_bytes"] / KB
    eco = {
        "implementation": ecoindex_score.implementation(),
        **ecoindex_score.score(first["dom_elements_outside_svg"], first["requests"], size_kb),
        "every_element": ecoindex_score.score(first["dom_elements"], first["requests"], size_kb),
    }
    return {
        "member": slug,
        "path": path,
        "server": "flask vigie serve (embedded default: SQLite, demo source), no proxy",
        "viewport": "390x844 (phone, DPR 2), signed in through the request API",
        "service_worker": "blocked",
        "chromium": version,
        "kB": KB,
        "empty_cache": first,
        "repeat_visit": repeat,
        "ecoindex": eco,
        "runs": len(firsts),
    }


if __name__ == "__main__":  # python -m bench.weight: this section alone, printed
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2, ensure_ascii=False))
