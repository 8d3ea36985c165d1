"""In Chromium: bytes and requests of a first page load, live latency, idle traffic.

The app runs on a real server in this process (Werkzeug, threaded; Flask-SocketIO
in threading mode) with the embedded poller in a thread, as ``flask vigie
serve`` does. Debian's Chromium is driven by Playwright's sync API.
"""

from __future__ import annotations

import gzip
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.common import bench_app
from bench.common import create_demo_members
from bench.common import summary
from bench.common import temp_dir

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
# The latency is read on the whole drawing (fetched by wide screens only): a desktop.
WIDE = {"viewport": {"width": 1920, "height": 1080}}
SLUG = "cc-saulnois"
EMAIL = "bench.viewer@example.org"
PASSWORD = "bench-password-123456"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

_DOM_COUNTS = """() => ({
  elements: document.getElementsByTagName('*').length,
  svg_descendants: document.querySelectorAll('svg *').length,
})"""

# The node's class as it changes: patched in place, or drawn anew when the server's drawing
# replaces the old one after an update (the first of the two counts).
_OBSERVE = """(id) => {
  window.__marks = [];
  const selector = `g.node[data-node="${id}"]`;
  const mark = (node) => window.__marks.push({t: Date.now(),
    cls: node.getAttribute('class') || '', svg: node.closest('svg')?.dataset.mapSvg || ''});
  const observer = new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === 'attributes' && m.target.matches(selector)) mark(m.target);
      for (const added of m.addedNodes || []) {
        if (added.nodeType !== 1) continue;
        const node = added.matches(selector) ? added : added.querySelector(selector);
        if (node) mark(node);
      }
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true,
                                   attributeFilter: ['class']});
  return document.querySelectorAll(selector).length;
}"""

_MARK_AFTER = """([t0, wanted]) => {
  const m = window.__marks.find((m) => m.t >= t0 && m.cls.split(/\\s+/).includes(wanted));
  return m ? m.t : null;
}"""


class Estate:
    """A migrated app, a server on 127.0.0.1, an optional poller thread."""

    def __init__(self, members: int, items: int | None) -> None:
        from webapp.services import accounts
        from webapp.services.members import all_members

        self.tmp = temp_dir(f"browser{members}")
        config = {"DEMO_MEMBERS": members, "DEMO_INCIDENTS": False}
        if items:
            config["DEMO_ITEMS"] = items
        self.app = bench_app(self.tmp, **config)
        create_demo_members(self.app)
        with self.app.app_context():
            member = next(m for m in all_members() if m.slug == SLUG)
            accounts.create_user(
                EMAIL, "Lecteur bench", member=member, role="viewer", password=PASSWORD
            )
        from webapp.live.monitor import get_monitor

        self.monitor = get_monitor(self.app)
        self.source = self.monitor.source
        # Who reads the source: the poller, or page and socket handlers (Monitor.current()
        # refreshes when the last read is older than the poll interval).
        self.refreshes = {"poller": 0, "requests": 0}
        inner_refresh = self.monitor.refresh

        def refresh():
            poller = threading.current_thread().name == "bench-poller"
            self.refreshes["poller" if poller else "requests"] += 1
            return inner_refresh()

        self.monitor.refresh = refresh
        self.server = None
        self.poller = None
        self.emits: list[float] = []
        self.cycles: list[tuple[float, float, float]] = []
        self._threads: list[threading.Thread] = []

    def start_server(self) -> str:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self._server_thread = thread
        return f"http://127.0.0.1:{self.server.server_port}"

    def start_poller(self, interval: float) -> None:
        from webapp.live import events
        from webapp.live.poller import Poller

        self.stop_poller()
        self.app.config["POLL_INTERVAL"] = interval
        self.monitor.interval = interval
        self.emits = []
        self.cycles = []
        self.refreshes.update(poller=0, requests=0)

        def publish(event: str, data: dict, room: str | None = None) -> None:
            if event == "member.update" and data.get("member") == SLUG:
                self.emits.append(time.time() * 1000)
            events.publish(event, data, room)

        self.poller = Poller(self.app, publish=publish)
        inner = self.poller.cycle

        def cycle():
            started, cpu = time.time(), time.thread_time()
            try:
                return inner()
            finally:
                self.cycles.append((started, time.time() - started, time.thread_time() - cpu))

        self.poller.cycle = cycle
        thread = threading.Thread(
            target=self.poller.run, kwargs={"interval": interval}, daemon=True, name="bench-poller"
        )
        thread.start()
        self._poller_thread = thread

    def stop_poller(self) -> None:
        if self.poller is not None:
            self.poller.stop()
            self._poller_thread.join(timeout=30)
            self.poller = None

    def close(self) -> None:
        self.stop_poller()
        if self.server is not None:
            self.server.shutdown()
            self._server_thread.join(timeout=10)
            self.server = None

    def leaf(self) -> tuple[str, str]:
        """(technical name, hostid) of an end device of the member, no one behind it."""
        group = next(m.group for m in self.source.members if m.slug == SLUG)
        for host in self.source.hosts([group]):
            if "-printer-" in host.host or "-ap-" in host.host:
                return host.host, host.hostid
        raise LookupError("no end device in the demo member")


@contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def _context(browser, base_url: str, device: dict = PHONE):
    context = browser.new_context(
        base_url=base_url, locale="fr-FR", timezone_id="Europe/Paris", **device
    )
    context.set_default_timeout(20_000)
    return context


def log_in(context, email: str = EMAIL, password: str = PASSWORD) -> None:
    """Sign in through the form with the context's request API (the HTTP cache stays empty)."""
    page = context.request.get("/connexion")
    token = CSRF_RE.search(page.text()).group(1)
    answer = context.request.post(
        "/connexion", form={"email": email, "password": password, "csrf_token": token, "next": ""}
    )
    if "/connexion" in answer.url:
        raise RuntimeError(f"login failed ({answer.status})")


def _wait_quiet(page, pending: dict, settle_ms: int = 500, limit_ms: int = 5000) -> None:
    """Wait until no HTTP request is in flight for ``settle_ms`` (websockets ignored)."""
    waited = 0
    quiet = 0
    while waited < limit_ms and quiet < settle_ms:
        page.wait_for_timeout(100)
        waited += 100
        quiet = quiet + 100 if not pending else 0


def page_load(browser, base_url: str, path: str, live: bool) -> dict:
    """First load of ``path`` in a fresh context (empty cache), phone viewport."""
    context = _context(browser, base_url)
    try:
        log_in(context)
        page = context.new_page()
        requests, responses, sockets, pending = [], [], [], {}
        ws_bytes = [0]

        def on_request(request):
            requests.append(request)
            pending[id(request)] = request

        def done(request):
            pending.pop(id(request), None)

        def on_socket(ws):
            sockets.append(ws.url)
            ws.on("framereceived", lambda p: ws_bytes.__setitem__(0, ws_bytes[0] + _size(p)))
            ws.on("framesent", lambda p: ws_bytes.__setitem__(0, ws_bytes[0] + _size(p)))

        page.on("request", on_request)
        page.on("requestfinished", done)
        page.on("requestfailed", done)
        page.on("response", lambda response: responses.append(response))
        page.on("websocket", on_socket)
        started = time.perf_counter()
        page.goto(path, wait_until="load")
        load_s = time.perf_counter() - started
        if live:
            page.wait_for_selector('[data-live-map][data-live-state="live"]')
        _wait_quiet(page, pending)
        live_s = time.perf_counter() - started
        if "/connexion" in page.url:
            raise RuntimeError("not logged in")
        dom = page.evaluate(_DOM_COUNTS)
        rows = []
        for response in responses:
            try:
                body = response.body()
            except Exception:  # noqa: BLE001 - redirects and aborted loads have no body
                body = b""
            try:
                headers = response.request.sizes()["responseHeadersSize"]
            except Exception:  # noqa: BLE001
                headers = 0
            path_only = response.url.replace(base_url, "")
            rows.append(
                {
                    "url": path_only,
                    "status": response.status,
                    "type": response.request.resource_type,
                    "raw_bytes": len(body),
                    "gzip_bytes": len(gzip.compress(body, compresslevel=6)) if body else 0,
                    "header_bytes": max(0, headers),
                }
            )
        raw = sum(r["raw_bytes"] for r in rows)
        gz = sum(r["gzip_bytes"] for r in rows)
        head = sum(r["header_bytes"] for r in rows)
        return {
            "path": path,
            "http_requests": len(requests),
            "websockets": len(sockets),
            "requests": len(requests) + len(sockets),
            "raw_body_bytes": raw,
            "gzip_body_bytes": gz,
            "response_header_bytes": head,
            "raw_transfer_bytes": raw + head,
            "gzip_transfer_bytes": gz + head,
            "websocket_bytes_until_settled": ws_bytes[0],
            "dom_elements": dom["elements"],
            "dom_elements_outside_svg": dom["elements"] - dom["svg_descendants"],
            "load_event_s": round(load_s, 3),
            "settled_s": round(live_s, 3),
            "responses": rows,
        }
    finally:
        context.close()


def _size(payload) -> int:
    return len(payload.encode() if isinstance(payload, str) else payload)


def transfer(browser, base_url: str, runs: int = 3) -> dict:
    out = {}
    for name, path, live in (
        ("member_home", f"/membres/{SLUG}/", False),
        ("map", f"/membres/{SLUG}/carte", True),
    ):
        loads = [page_load(browser, base_url, path, live) for _ in range(runs)]
        best = sorted(loads, key=lambda r: r["gzip_transfer_bytes"])[len(loads) // 2]
        keys = (
            "requests",
            "http_requests",
            "raw_body_bytes",
            "gzip_body_bytes",
            "gzip_transfer_bytes",
            "dom_elements",
        )
        best["spread_over_runs"] = {k: [r[k] for r in loads] for k in keys}
        best["settled_s"] = summary([r["settled_s"] for r in loads])
        out[name] = best
    return out


def latency(browser, base_url: str, estate: Estate, samples: int, interval: float) -> dict:
    """Fault (or repair) injected in the source -> class of the node changed in the page."""
    estate.start_poller(interval)
    name, hostid = estate.leaf()
    context = _context(browser, base_url, WIDE)
    try:
        log_in(context)
        page = context.new_page()
        page.goto(f"/membres/{SLUG}/carte")
        page.wait_for_selector('[data-live-map][data-live-state="live"]')
        page.wait_for_selector(f'svg[data-map-svg] g.node[data-node="{hostid}"]')
        observed = page.evaluate(_OBSERVE, hostid)
        rnd = random.Random(1)
        delays = {"fail": [], "repair": []}
        server_side, browser_side = [], []
        misses = 0
        for index in range(samples):
            action = "fail" if index % 2 == 0 else "repair"
            wanted = "node--problem" if action == "fail" else "node--ok"
            # A random phase against the poll clock: otherwise every sample would
            # start right after a cycle and wait a whole interval.
            time.sleep(rnd.uniform(0, interval))
            t0 = time.time() * 1000
            (estate.source.fail if action == "fail" else estate.source.repair)(name)
            try:
                handle = page.wait_for_function(
                    _MARK_AFTER, arg=[t0, wanted], polling=50, timeout=15_000
                )
            except Exception:  # noqa: BLE001 - a lost update is counted, not fatal
                misses += 1
                continue
            seen = handle.json_value()
            delays[action].append(seen - t0)
            emitted = next((t for t in estate.emits if t >= t0), None)
            if emitted is not None and emitted <= seen:
                server_side.append(emitted - t0)
                browser_side.append(seen - emitted)
        every = delays["fail"] + delays["repair"]
        cycles = [d for _, d, _ in estate.cycles]
        cycles_cpu = [c for _, _, c in estate.cycles]
        starts = [s for s, _, _ in estate.cycles]
        periods = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        result = summary(every, 1) if every else {}
        return {
            "median": result.get("median"),
            "p95": result.get("p95"),
            "min": result.get("min"),
            "max": result.get("max"),
            "samples": len(every),
            "missed": misses,
            "poll_interval_s": interval,
            "fail_median": summary(delays["fail"], 1)["median"] if delays["fail"] else None,
            "repair_median": summary(delays["repair"], 1)["median"] if delays["repair"] else None,
            "fault_to_emit_ms": summary(server_side, 1) if server_side else None,
            "emit_to_dom_ms": summary(browser_side, 1) if browser_side else None,
            "poll_cycle_s": summary(cycles) if cycles else None,
            "poll_cycle_thread_cpu_s": summary(cycles_cpu) if cycles_cpu else None,
            "source_reads": dict(estate.refreshes),
            "poll_period_s": summary(periods) if periods else None,
            "svg_nodes_observed": observed,
            "host": name,
        }
    finally:
        context.close()
        estate.stop_poller()


def idle(browser, base_url: str, estate: Estate, seconds: float, interval: float) -> dict:
    """Bytes an open page receives and sends while nothing changes (map and home)."""
    for fault in list(estate.source.faults()):
        estate.source.repair(fault)
    estate.start_poller(interval)
    pages = {}
    try:
        for name, path, live in (
            ("map", f"/membres/{SLUG}/carte", True),
            ("member_home", f"/membres/{SLUG}/", False),
        ):
            context = _context(browser, base_url)
            log_in(context)
            page = context.new_page()
            frames: list[tuple[float, str, int]] = []
            http: list[tuple[float, object]] = []
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.on(
                "Network.webSocketFrameReceived",
                lambda p, f=frames: f.append(
                    (time.time(), "in", len(p["response"]["payloadData"].encode()))
                ),
            )
            cdp.on(
                "Network.webSocketFrameSent",
                lambda p, f=frames: f.append(
                    (time.time(), "out", len(p["response"]["payloadData"].encode()))
                ),
            )
            page.on("requestfinished", lambda r, h=http: h.append((time.time(), r)))
            page.goto(path)
            if live:
                page.wait_for_selector('[data-live-map][data-live-state="live"]')
            pages[name] = {"context": context, "page": page, "frames": frames, "http": http}
        pages["map"]["page"].wait_for_timeout(2000)
        start = time.time()
        pages["map"]["page"].wait_for_timeout(seconds * 1000)  # pumps the CDP events
        end = time.time()
        out = {}
        for name, p in pages.items():
            frames = [f for f in p["frames"] if start <= f[0] <= end]
            http_rows = []
            for at, request in p["http"]:
                if not start <= at <= end:
                    continue
                sizes = request.sizes()
                response = request.response()
                body = response.body() if response is not None else b""
                http_rows.append(
                    {
                        "url": request.url.replace(base_url, ""),
                        "bytes": sum(max(0, v) for v in sizes.values()),
                        "body_bytes": len(body),
                        "gzip_body_bytes": len(gzip.compress(body, 6)) if body else 0,
                    }
                )
            before = [f for f in p["frames"] if f[0] < start]
            ws_in = sum(size for _, d, size in frames if d == "in")
            ws_out = sum(size for _, d, size in frames if d == "out")
            http_bytes = sum(r["bytes"] for r in http_rows)
            per_minute = 60 / (end - start)
            out[name] = {
                "bytes_per_minute": round((ws_in + ws_out + http_bytes) * per_minute),
                "websocket_frames": len(frames),
                "websocket_payload_in_bytes": ws_in,
                "websocket_payload_out_bytes": ws_out,
                "http_requests": len(http_rows),
                "http_bytes": http_bytes,
                "http_body_bytes": sum(r["body_bytes"] for r in http_rows),
                "http_gzip_body_bytes": sum(r["gzip_body_bytes"] for r in http_rows),
                "http_urls": sorted({r["url"] for r in http_rows}),
                "window_s": round(end - start, 1),
                "websocket_frames_before_window": len(before),
            }
        out["poll_interval_s"] = interval
        return out
    finally:
        for p in pages.values():
            p["context"].close()
        estate.stop_poller()


def run(quick: bool = False) -> dict:
    from bench.poll import ITEMS
    from bench.poll import MEMBERS
    from webapp.config import BaseConfig

    samples = 16 if quick else 40
    results: dict = {}
    with chromium() as browser:
        results["chromium"] = browser.version
        # The small estate first: latency without the cost of 300 members per cycle.
        small = Estate(6, None)
        try:
            url = small.start_server()
            results["latency_6_members"] = latency(browser, url, small, samples * 3 // 4, 1.0)
        finally:
            small.close()
        big = Estate(MEMBERS, ITEMS)
        try:
            url = big.start_server()
            results["transfer"] = transfer(browser, url, runs=2 if quick else 3)
            results["latency_300_members"] = latency(browser, url, big, samples, 1.0)
            # At the default poll interval: the traffic a quiet map costs out of the box.
            interval = float(BaseConfig.POLL_INTERVAL)
            results["idle"] = idle(browser, url, big, 20 if quick else 60, interval)
        finally:
            big.close()
    return results
