"""The member map in Chromium, fed by the real Zabbix: a zabbix_sender value turns it red."""

from __future__ import annotations

import threading

import pytest

from tests.zabbix.conftest import send
from tests.zabbix.test_vigie_on_zabbix import ROUTER

pytestmark = [pytest.mark.zabbix, pytest.mark.browser]


@pytest.fixture
def zabbix_live_server(zapp):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, zapp, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_sender_value_turns_the_router_red_in_the_browser(
    zapp, running_poller, zabbix_live_server, browser
):
    from tests.browser.helpers import log_in
    from tests.factories import PASSWORD
    from webapp.extensions import db
    from webapp.live.monitor import get_monitor
    from webapp.models import Member
    from webapp.services import accounts

    member = db.session.execute(db.select(Member).where(Member.slug == "sarralbe")).scalar_one()
    viewer = accounts.create_user(
        "elu-navigateur@example.org", "Élu", member=member, password=PASSWORD
    )
    router = next(h for h in get_monitor(zapp).source.hosts() if h.host == ROUTER)
    send(ROUTER, "icmp.ok", "1")
    context = browser.new_context(
        base_url=zabbix_live_server,
        viewport={"width": 1920, "height": 1080},
        locale="fr-FR",
        timezone_id="Europe/Paris",
    )
    try:
        page = context.new_page()
        log_in(page, viewer.email)
        page.goto("/membres/sarralbe/carte")
        page.wait_for_selector('[data-live-map][data-live-state="live"]')
        node = f'svg[data-map-svg="wide"] g.node[data-node="{router.hostid}"]'
        page.wait_for_function(
            f"""() => document.querySelector('{node}')
            .classList.contains('node--ok')""",
            timeout=20_000,
        )
        send(ROUTER, "icmp.ok", "0")
        page.wait_for_function(
            f"""() => document.querySelector('{node}')
            .classList.contains('node--problem')""",
            timeout=20_000,
        )
        # Everything behind the router, devices and folds (a fold follows with the redraw).
        unreachable = 'svg[data-map-svg="wide"] g.node.node--unreachable'
        page.wait_for_function(
            f"() => document.querySelectorAll('{unreachable}').length > 10", timeout=20_000
        )
        send(ROUTER, "icmp.ok", "1")
        page.wait_for_function(
            f"""() => document.querySelector('{node}')
            .classList.contains('node--ok')""",
            timeout=20_000,
        )
        page.wait_for_function(
            f"() => document.querySelectorAll('{unreachable}').length === 0", timeout=20_000
        )
        assert page.locator('svg[data-map-svg="wide"] g.node.node--group').count() > 0
    finally:
        context.close()
        send(ROUTER, "icmp.ok", "1")
