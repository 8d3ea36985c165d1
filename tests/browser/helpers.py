"""Helpers shared by the browser tests: viewports, axe-core, overflow, screenshots, login."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests import conftest
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "screenshots"

# Served by a Playwright route on the app's own origin, so that the page's
# Content-Security-Policy (script-src 'self') stays enforced while axe runs.
AXE_URL = "/__tests__/axe.min.js"

VIEWPORTS: dict[str, dict] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "wall": {"viewport": {"width": 1920, "height": 1080}},
}

_AXE_RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                              summary: n.failureSummary})),
  }));
}"""

_OVERFLOW = """(limit) => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {  // inside a box that scrolls or clips its own overflow
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className.trim()
       ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const offenders = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.table-wrap, .visually-hidden, .skip-link')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if ((box.right > width + 1 || box.left < -1) && !clipped(el)) {
      const name = describe(el) + (el.parentElement ? ' in ' + describe(el.parentElement) : '');
      offenders.push(`${name} [${Math.round(box.left)}, ${Math.round(box.right)}]`);
      if (offenders.length >= limit) break;
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, offenders};
}"""


def run_axe(page: Page) -> list[dict]:
    """Run axe-core (all rules enabled by default) on the current document."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    return page.evaluate(_AXE_RUN)


def format_violations(violations: list[dict]) -> str:
    """One paragraph per violated rule, with its RGAA criteria first."""
    lines = []
    for v in violations:
        rgaa = [t for t in v["tags"] if t.startswith("RGAA-")]
        wcag = [t for t in v["tags"] if t.startswith("wcag") and t[4:5].isdigit()]
        lines.append(
            f"- {v['id']} [{', '.join(rgaa) or 'pas de critère RGAA'}]"
            f" ({v['impact']}; {', '.join(wcag) or 'best-practice'}): {v['help']}"
        )
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['html']}")
            if node["summary"]:
                lines.append("      " + node["summary"].replace("\n", "\n      "))
        if len(v["nodes"]) > 5:
            lines.append(f"    … {len(v['nodes']) - 5} autre(s) élément(s)")
    return "\n".join(lines)


def assert_accessible(page: Page, label: str) -> None:
    violations = run_axe(page)
    assert not violations, (
        f"axe-core: {len(violations)} règle(s) violée(s) sur {label} ({page.url}):\n"
        + format_violations(violations)
    )


def assert_no_horizontal_overflow(page: Page, label: str) -> None:
    """Nothing wider than the viewport, except the content of ``.table-wrap`` boxes."""
    result = page.evaluate(_OVERFLOW, 10)
    assert result["scrollWidth"] <= result["width"] + 1 and not result["offenders"], (
        f"débordement horizontal sur {label}: scrollWidth {result['scrollWidth']} > "
        f"{result['width']}; éléments hors cadre : {result['offenders']}"
    )


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", scale="css")
    return path


def log_in(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    """Sign in through the real login form and wait to leave it."""
    page.goto("/connexion")
    fill_login(page, email, password)
    page.wait_for_url(lambda url: "/connexion" not in url)


def fill_login(page: Page, email: str, password: str) -> None:
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()


# HTML checks (axe-core, layout, screenshots) run on the first database backend only:
# the markup does not depend on the database.
FIRST_BACKEND = conftest.FIRST_BACKEND
first_backend_only = conftest.first_backend_only


def socket_events(page: Page) -> int:
    """How many Socket.IO events the page has received so far (see conftest's recorder)."""
    return page.evaluate("window.__socketEvents.length")


def wait_socket_event(page: Page, event: str, test: str, after: int, timeout: int = 15000) -> None:
    """Wait until the page receives ``event`` (the ``after``-th or a later one) whose ``data``
    passes the JS expression ``test`` (``data`` in scope): the positive signal to wait for
    before asserting that the page did not move."""
    page.wait_for_function(
        f"""([event, after]) => window.__socketEvents.slice(after)
              .some(({{event: name, data}}) => name === event && ({test}))""",
        arg=[event, after],
        timeout=timeout,
    )


def run_poller(app, interval: float, publish=None):
    """Run the embedded poller every ``interval`` s while a test runs (a fixture's body)."""
    import threading

    from webapp.live.monitor import get_monitor
    from webapp.live.poller import Poller

    app.config["POLL_INTERVAL"] = interval
    get_monitor(app).interval = interval
    poller = Poller(app, publish=publish) if publish else Poller(app)
    thread = threading.Thread(target=poller.run, kwargs={"interval": interval}, daemon=True)
    thread.start()
    try:
        yield poller
    finally:
        poller.stop()
        thread.join(timeout=5)
