"""The installable web app in Chromium: service worker, pushed notifications, offline page.

Pushes are delivered to the service worker through the DevTools protocol
(``ServiceWorker.deliverPushMessage``), with the exact payload the server's channel
builds (or, in the subscription test, the one the loopback push service decrypted).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from tests import factories
from tests.browser.helpers import AXE_URL
from tests.browser.helpers import SCREENSHOTS
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import format_violations
from tests.browser.helpers import log_in
from tests.loopback.push_service import PushService
from webapp.channels.base import Outgoing
from webapp.channels.base import Recipient
from webapp.channels.push import WebPushChannel
from webapp.extensions import db
from webapp.live.monitor import get_monitor
from webapp.services import outbox
from webapp.services import push

pytestmark = pytest.mark.browser

SLUG = "sarralbe"
phone_only = pytest.mark.parametrize("viewport", ["phone"], indirect=True)


class _OneRequestPerConnection(WSGIRequestHandler):
    # No keep-alive: once stopped, the server is unreachable for every request,
    # including on a socket the browser had kept open.
    protocol_version = "HTTP/1.0"


class StoppableServer:
    def __init__(self, app) -> None:
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_OneRequestPerConnection
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)


@pytest.fixture
def server(app) -> Iterator[StoppableServer]:
    running = StoppableServer(app)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def live_server(server) -> str:
    """The page fixture's server is one this module can stop."""
    return server.url


@pytest.fixture
def vapid(app, tmp_path):
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "vapid_private.pem")
    return push.generate_keys()


def _viewer():
    member = factories.demo_member(SLUG)
    return member, factories.make_user("viewer", member)


def _hostid(app, member) -> str:
    hosts = get_monitor(app).source.hosts()
    return next(h.hostid for h in hosts if member.group_names[0] in h.groups)


def _controlled(page) -> None:
    """Wait until the service worker is active and controls the page (reload once)."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => Boolean(navigator.serviceWorker.controller)"):
        page.reload()
    page.wait_for_function("() => Boolean(navigator.serviceWorker.controller)")


def _registration_id(page, origin: str) -> str:
    """The service worker registration's id, as DevTools knows it."""
    cdp = page.context.new_cdp_session(page)
    found: dict[str, str] = {}
    ready = threading.Event()

    def seen(event) -> None:
        for registration in event["registrations"]:
            if registration["scopeURL"] == f"{origin}/" and not registration["isDeleted"]:
                found["id"] = registration["registrationId"]
                ready.set()

    cdp.on("ServiceWorker.workerRegistrationUpdated", seen)
    cdp.send("ServiceWorker.enable")  # reports the current registrations
    for _ in range(200):  # events reach Python while it talks to the browser
        if ready.wait(0.05):
            break
        page.evaluate("() => 0")
    assert "id" in found, "no service worker registration at scope / in DevTools"
    page.vigie_cdp = cdp  # keep the session
    return found["id"]


def _deliver_push(page, origin: str, data: str) -> None:
    registration = _registration_id(page, origin)
    page.vigie_cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration, "data": data},
    )


_NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).map((n) => ({
    title: n.title, body: n.body, tag: n.tag, lang: n.lang, icon: n.icon,
    requireInteraction: n.requireInteraction, data: n.data,
  }));
}"""


def until(page, predicate: str, timeout_ms: int = 10_000) -> None:
    """Wait until the async JS function ``predicate`` resolves truthy in the page.

    (``page.wait_for_function`` takes a returned promise for a truthy value.)
    """
    polled = f"""async () => {{
      const test = {predicate};
      const end = Date.now() + {timeout_ms};
      while (Date.now() < end) {{
        if (await test()) return true;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }}
      return false;
    }}"""
    assert page.evaluate(polled), f"still false after {timeout_ms} ms: {predicate}"


def _wait_notifications(page, count: int) -> list[dict]:
    until(
        page,
        f"""async () => {{
          const registration = await navigator.serviceWorker.ready;
          return (await registration.getNotifications()).length === {count};
        }}""",
    )
    return page.evaluate(_NOTIFICATIONS)


def _click_notification(page) -> None:
    """Dispatch ``notificationclick`` in the service worker for its shown notification.

    Chromium offers no way to click a notification from a test; the event is built in
    the worker itself with the notification ``getNotifications()`` returns, and the
    worker's own listener handles it.
    """
    (worker,) = page.context.service_workers
    worker.evaluate(
        """async () => {
          const [notification] = await self.registration.getNotifications();
          self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
        }"""
    )


def _payload(app, subject: str, body: str, url: str, severity: int = 5) -> dict:
    channel = WebPushChannel.from_config(app.config)
    message = Outgoing(
        id=1,
        key="incident-7:open:push:user-1",
        channel="push",
        kind="alert",
        recipient=Recipient(1, "Élu", "elu@example.org"),
        subject=subject,
        body=body,
        data={"url": url, "severity": severity, "topic": "incident-7"},
    )
    return channel.payload(message)


# -- the service worker ----------------------------------------------------------------


@phone_only
def test_service_worker_registers_at_the_root_scope(page, live_server, problems):
    response = requests.get(f"{live_server}/sw.js", timeout=5)
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    manifest = requests.get(f"{live_server}/static/manifest.webmanifest", timeout=5)
    assert manifest.headers["Content-Type"].startswith("application/manifest+json")
    page.goto("/connexion")
    scope = page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == f"{live_server}/"
    assert (
        page.evaluate("() => document.querySelector('link[rel=manifest]').href")
        == f"{live_server}/static/manifest.webmanifest"
    )
    icons = json.loads(manifest.text)["icons"]
    for icon in icons:  # every icon the manifest names exists, at its size
        png = requests.get(f"{live_server}{icon['src']}", timeout=5)
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png.content[16:20], "big")
        assert f"{width}x{width}" == icon["sizes"]
    assert {i["purpose"] for i in icons} == {"any", "maskable"}


@phone_only
def test_push_shows_a_notification_and_its_click_opens_the_node(
    app, page, live_server, problems, vapid
):
    member, user = _viewer()
    node_url = f"{live_server}/membres/{SLUG}/equipements/{_hostid(app, member)}"
    page.context.grant_permissions(["notifications"], origin=live_server)
    log_in(page, user.email)
    _controlled(page)
    payload = _payload(
        app, "Panne : Routeur mairie", "Le routeur ne répond plus depuis 20 h 09.", node_url
    )
    _deliver_push(page, live_server, json.dumps(payload))
    (shown,) = _wait_notifications(page, 1)
    assert shown["title"] == "Panne : Routeur mairie"
    assert shown["body"] == "Le routeur ne répond plus depuis 20 h 09."
    assert shown["tag"] == "incident-7" and shown["lang"] == "fr"
    assert shown["requireInteraction"] is True
    assert shown["data"] == {"navigate": node_url}
    assert re.search(r"/static/img/icon-192\.[0-9a-f]{12}\.png$", shown["icon"])  # hashed

    page.goto("/profil/")  # a Vigie window elsewhere
    _click_notification(page)
    page.wait_for_url(node_url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert _wait_notifications(page, 0) == [], "the clicked notification is closed"


@phone_only
def test_a_push_with_the_same_tag_replaces_the_first(app, page, live_server, problems, vapid):
    _member, user = _viewer()
    page.context.grant_permissions(["notifications"], origin=live_server)
    log_in(page, user.email)
    _controlled(page)
    url = f"{live_server}/membres/{SLUG}/carte"
    _deliver_push(page, live_server, json.dumps(_payload(app, "Panne", "1", url)))
    _wait_notifications(page, 1)
    page.vigie_cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server,
            "registrationId": _registration_id(page, live_server),
            "data": json.dumps(_payload(app, "Rétabli", "2", url, severity=3)),
        },
    )
    until(
        page,
        """async () => {
          const r = await navigator.serviceWorker.ready;
          const shown = await r.getNotifications();
          return shown.length === 1 && shown[0].title === "Rétabli";
        }""",
    )


@phone_only
def test_an_unreadable_push_still_shows_a_notification(app, page, live_server, problems):
    _member, user = _viewer()
    page.context.grant_permissions(["notifications"], origin=live_server)
    log_in(page, user.email)
    _controlled(page)
    _deliver_push(page, live_server, "pas du JSON {")
    (shown,) = _wait_notifications(page, 1)
    assert shown["title"] == "Vigie"
    assert shown["body"] == "Nouvelle alerte : ouvrez Vigie pour la voir."
    assert shown["data"] == {"navigate": f"{live_server}/"}


@phone_only
def test_a_link_to_another_origin_stays_in_vigie(app, page, live_server, problems, vapid):
    _member, user = _viewer()
    page.context.grant_permissions(["notifications"], origin=live_server)
    log_in(page, user.email)
    _controlled(page)
    payload = _payload(app, "Panne", "b", f"https://evil.example/membres/{SLUG}/carte")
    _deliver_push(page, live_server, json.dumps(payload))
    (shown,) = _wait_notifications(page, 1)
    assert shown["data"] == {"navigate": f"{live_server}/membres/{SLUG}/carte"}


# -- subscribing from the alerts page --------------------------------------------------

# Headless Chromium has no push service of its own (no Google Cloud Messaging): the
# browser's PushManager answers with a subscription of the loopback push service, made
# by the test exactly as a browser makes one (P-256 key pair, auth secret).
_FAKE_PUSH_MANAGER = """(() => {
  const subscription = %s;
  const subscribed = () => sessionStorage.getItem("vigieSubscribed") === "1";
  const make = () => ({
    endpoint: subscription.endpoint,
    options: { applicationServerKey: null, userVisibleOnly: true },
    toJSON: () => subscription,
    unsubscribe: async () => { sessionStorage.removeItem("vigieSubscribed"); return true; },
  });
  PushManager.prototype.getSubscription = async function () {
    return subscribed() ? make() : null;
  };
  PushManager.prototype.subscribe = async function (options) {
    sessionStorage.setItem("vigieSubscribed", "1");
    sessionStorage.setItem("vigieSubscribeOptions", JSON.stringify({
      userVisibleOnly: options.userVisibleOnly,
      key: Array.from(new Uint8Array(options.applicationServerKey)),
    }));
    return make();
  };
})();"""


@phone_only
def test_subscribe_test_and_receive_end_to_end(
    app, page, live_server, problems, vapid, shoot, viewport
):
    _member, user = _viewer()
    page.context.grant_permissions(["notifications"], origin=live_server)
    log_in(page, user.email)
    with PushService() as service:
        browser_side = service.subscribe(server_key=vapid)
        page.context.add_init_script(_FAKE_PUSH_MANAGER % json.dumps(browser_side.to_json()))
        page.goto("/profil/alertes")
        _controlled(page)
        section = page.locator("#push-devices")
        expect(section.get_by_text("Aucun appareil ne reçoit encore les alertes.")).to_be_visible()
        section.get_by_role("button", name="Recevoir les alertes sur cet appareil").click()
        expect(section.get_by_role("status")).to_have_text("Cet appareil recevra les alertes.")
        expect(section.locator(".device")).to_have_count(1)  # the page reloaded with it
        expect(section.locator(".device__name")).to_have_text("Chrome sur Linux (cet appareil)")
        expect(section.get_by_role("status")).to_have_text("Cet appareil reçoit les alertes.")
        (row,) = push.devices(user)
        assert row.endpoint == browser_side.endpoint
        options = json.loads(page.evaluate("() => sessionStorage.getItem('vigieSubscribeOptions')"))
        assert options["userVisibleOnly"] is True
        assert bytes(options["key"]) == push.b64url_decode(vapid), "subscribed with our key"
        shoot(page, "push-devices")
        if viewport == "phone":
            section.screenshot(path=str(SCREENSHOTS / "push-devices-section-phone.png"))

        section.get_by_role("button", name="Envoyer un test").click()
        expect(
            page.get_by_text("Notification de test envoyée à « Chrome sur Linux »")
        ).to_be_visible()
        db.session.expire_all()
        outbox.deliver_due({"push": WebPushChannel.from_config(app.config)})
        (received,) = service.wait_for(1)
    assert received.json["notification"]["title"] == "Vigie : notification de test"
    # the decrypted message, handed to the service worker as the push service would
    _deliver_push(page, live_server, received.payload.decode())
    (shown,) = _wait_notifications(page, 1)
    assert shown["title"] == "Vigie : notification de test"
    assert "Chrome sur Linux" in shown["body"]


IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@first_backend_only
@phone_only
def test_iphone_safari_is_told_to_add_vigie_to_the_home_screen(
    app, browser, live_server, vapid, shoot
):
    _member, user = _viewer()
    context = browser.new_context(
        base_url=live_server,
        user_agent=IPHONE_SAFARI,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        locale="fr-FR",
    )
    try:
        page = context.new_page()
        log_in(page, user.email)
        page.goto("/profil/alertes")
        section = page.locator("#push-devices")
        help_box = section.locator("[data-push-ios]")
        expect(help_box).to_be_visible()
        expect(help_box).to_contain_text("Sur l’écran d’accueil")
        expect(help_box).to_contain_text("16.4")
        expect(
            section.get_by_role("button", name="Recevoir les alertes sur cet appareil")
        ).to_be_hidden()
        help_box.scroll_into_view_if_needed()
        shoot(page, "push-devices-iphone")
        section.screenshot(path=str(SCREENSHOTS / "push-devices-section-iphone.png"))
    finally:
        context.close()


@phone_only
def test_denied_notifications_are_said_plainly(app, page, live_server, problems, vapid):
    _member, user = _viewer()
    page.context.add_init_script(
        "Object.defineProperty(Notification, 'permission', { get: () => 'denied' });"
    )
    log_in(page, user.email)
    page.goto("/profil/alertes")
    expect(page.locator("[data-push-denied]")).to_be_visible()
    expect(page.locator("[data-push-denied]")).to_contain_text("bloquées")
    expect(page.get_by_role("button", name="Recevoir les alertes sur cet appareil")).to_be_hidden()


@phone_only
def test_without_push_support_it_says_so(app, page, live_server, problems, vapid):
    _member, user = _viewer()
    page.context.add_init_script("delete window.PushManager;")
    log_in(page, user.email)
    page.goto("/profil/alertes")
    expect(page.locator("[data-push-unsupported]")).to_be_visible()
    expect(page.get_by_role("button", name="Recevoir les alertes sur cet appareil")).to_be_hidden()


# -- offline ---------------------------------------------------------------------------

_SUMMARY_KEPT = """async () => {
  const cache = await caches.open("vigie-data");
  const kept = await cache.match("/api/v1/members");
  return Boolean(kept);
}"""


def _go_offline_with_data(app, page, server) -> datetime:
    member, user = _viewer()
    log_in(page, user.email)
    _controlled(page)
    page.goto(f"/membres/{SLUG}/")  # a navigation through the worker: it keeps the summary
    until(page, _SUMMARY_KEPT)
    seen_at = datetime.now(UTC)
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url, timeout=2)
    return seen_at


@first_backend_only
def test_offline_page_shows_the_last_known_state_when_the_server_is_stopped(
    app, page, server, problems, viewport, shoot
):
    seen_at = _go_offline_with_data(app, page, server)
    response = page.goto(f"/membres/{SLUG}/carte")
    assert response.status == 200 and response.from_service_worker
    expect(page.get_by_role("heading", level=1)).to_have_text("Vigie est hors ligne")
    members = page.locator(".offline-member")
    expect(members).to_have_count(1)
    expect(members.first).to_contain_text(f"Démo {SLUG}")
    expect(members.first.locator(".badge")).to_contain_text("Fonctionne")
    age = page.locator("[data-offline-age]")
    expect(age).to_be_visible()
    text = age.inner_text()
    match = re.fullmatch(
        r"Dernières données : (\d{1,2}) h (\d{2}) \((à l’instant|il y a 1 min)\)", text
    )
    assert match, text
    paris = seen_at.astimezone(ZoneInfo("Europe/Paris"))
    shown = paris.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
    assert abs(shown - paris) <= timedelta(minutes=1), (text, paris)
    expect(page.locator("[data-offline-empty]")).to_be_hidden()
    assert_accessible(page, f"hors-ligne avec données ({viewport})")
    assert_no_horizontal_overflow(page, "hors-ligne")
    shoot(page, "offline")


@first_backend_only
def test_offline_page_without_data_passes_axe(app, page, problems, viewport, shoot):
    page.goto("/hors-ligne")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vigie est hors ligne")
    expect(page.locator("[data-offline-empty]")).to_be_visible()
    assert_accessible(page, f"hors-ligne sans données ({viewport})")
    assert_no_horizontal_overflow(page, "hors-ligne")
    shoot(page, "offline-empty")


@phone_only
def test_logging_out_forgets_the_kept_summary(app, page, server, problems):
    _member, user = _viewer()
    log_in(page, user.email)
    _controlled(page)
    page.goto(f"/membres/{SLUG}/")
    until(page, _SUMMARY_KEPT)
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile("/connexion"))
    until(page, f"async () => !(await ({_SUMMARY_KEPT})())")


_AXE_SECTION = """async (selector) => {
  const results = await axe.run(selector, {resultTypes: ['violations']});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                              summary: n.failureSummary})),
  }));
}"""


@first_backend_only
def test_devices_partial_passes_axe(app, page, live_server, problems, vapid, viewport):
    """The partial only (the rest of /profil/alertes is checked with its page)."""
    _member, user = _viewer()
    log_in(page, user.email)
    with PushService() as service:
        push.subscribe(user, service.subscribe(server_key=vapid).to_json(), IPHONE_SAFARI)
    page.goto("/profil/alertes")
    expect(page.get_by_role("button", name="Recevoir les alertes sur cet appareil")).to_be_visible()
    page.add_script_tag(url=AXE_URL)
    violations = page.evaluate(_AXE_SECTION, "#push-devices")
    assert not violations, format_violations(violations)
    assert_no_horizontal_overflow(page, "/profil/alertes")
