"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright's sync API.

One browser for the whole session; each test gets a fresh context (cookies,
storage) at one of two viewports: ``phone`` (390×844, touch) and ``wall``
(1920×1080). Console errors, uncaught exceptions and Content-Security-Policy
violations are collected on every page and must stay empty.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import AXE_JS
from tests.browser.helpers import AXE_URL
from tests.browser.helpers import VIEWPORTS
from tests.browser.helpers import screenshot
from tests.conftest import FIRST_BACKEND

# Registered before any page script runs; reports through an exposed function.
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  const where = (e.sourceFile || e.documentURI) + (e.lineNumber ? `:${e.lineNumber}` : '');
  window.__vigieCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}`
    + ` in ${where}` + (e.sample ? ` (${e.sample})` : ''));
}, true);
"""

# Records every Socket.IO event the page receives (``window.__socketEvents``), so that a test
# can wait for the positive signal "the page was told" before asserting that nothing moved.
# Wraps ``window.io`` as the vendored client defines it; socket.onAny runs before handlers.
_SOCKET_EVENTS = """
window.__socketEvents = [];
(() => {
  let wrapped;
  Object.defineProperty(window, 'io', {
    configurable: true,
    get() { return wrapped; },
    set(io) {
      wrapped = Object.assign(function (...args) {
        const socket = io.apply(this, args);
        socket.onAny((event, data) => window.__socketEvents.push({event, data}));
        return socket;
      }, io);
    },
  });
})();
"""


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """As the shared fixture, but stopping in milliseconds (a short poll interval).

    Every browser test starts its own server; the default half-second poll would
    add half a second to each of them.
    """
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _backend(request) -> str | None:
    callspec = getattr(request.node, "callspec", None)
    return callspec.params.get("database_url") if callspec else None


@pytest.fixture
def shoot(request, viewport):
    """``shoot(page, name)`` saves ``screenshots/<name>-<viewport>.png`` (first backend only)."""
    first = _backend(request) in (None, FIRST_BACKEND)

    def do(page: Page, name: str) -> None:
        if first:
            screenshot(page, f"{name}-{viewport}")

    return do


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    """``phone`` or ``wall``."""
    return request.param


class PageProblems(list):
    """Console errors, page exceptions, CSP violations and unexpected HTTP errors of a test.

    A document answered with an error status is a problem unless the test said it
    expects that status (``problems.expected_statuses.add(404)``); Chromium's own
    console line for such a document is then not reported twice.
    """

    _FAILED_LOAD = "Failed to load resource: the server responded with a status of"

    def __init__(self) -> None:
        super().__init__()
        self.expected_statuses: set[int] = set()
        self._error_documents: set[str] = set()

    def on_console(self, msg) -> None:
        if msg.type != "error":
            return
        url = msg.location.get("url", "")
        if msg.text.startswith(self._FAILED_LOAD) and url in self._error_documents:
            return
        self.append(f"console error: {msg.text} ({url})")

    def on_response(self, response) -> None:
        if response.status < 400 or response.request.resource_type != "document":
            return
        self._error_documents.add(response.url)
        if response.status not in self.expected_statuses:
            self.append(f"HTTP {response.status} on {response.request.method} {response.url}")

    def check(self) -> None:
        assert not self, "problems seen in the browser:\n" + "\n".join(self)


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.vigie_call_passed = report.passed
    return report


@pytest.fixture
def page(request, browser, viewport, live_server, problems) -> Iterator[Page]:
    """A page in a fresh context, relative URLs resolved against the live server."""
    context = browser.new_context(
        base_url=live_server, locale="fr-FR", timezone_id="Europe/Paris", **VIEWPORTS[viewport]
    )
    context.set_default_timeout(10_000)
    context.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(
            path=str(AXE_JS), content_type="text/javascript; charset=utf-8"
        ),
    )
    context.expose_function(
        "__vigieCspViolation", lambda text: problems.append(f"CSP violation: {text}")
    )
    context.add_init_script(_CSP_LISTENER)
    context.add_init_script(_SOCKET_EVENTS)
    page = context.new_page()
    page.on("response", problems.on_response)
    page.on("console", problems.on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        yield page
        if getattr(request.node, "vigie_call_passed", False):
            page.evaluate("() => 0")  # let pending console/CSP events reach Python
            problems.check()  # whatever a test forgot to check, or what arrived late
    finally:
        context.close()
