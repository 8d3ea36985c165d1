"""The support wall (/mur): staff and kiosk links only, tiles worst first, live room."""

import re
import time

import pytest

from tests.conftest import csrf_from
from tests.factories import demo_member
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.extensions import socketio
from webapp.live.events import NAMESPACE
from webapp.live.monitor import get_monitor
from webapp.live.poller import Poller
from webapp.services import demo
from webapp.services import kiosk

WALL_PAGES = ["/mur", "/mur/tuiles", "/mur/membres/sarralbe", "/mur/liens"]
KIOSK_URL = re.compile(r"https?://[^\s<\"]+/mur/kiosque/(mur_[\w-]+)")


def tile_slugs(html: str) -> list[str]:
    return re.findall(r'data-tile data-slug="([^"]+)"', html)


def connect(app, client):
    return socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)


def events(sio, name):
    return [e["args"][0] for e in sio.get_received(NAMESPACE) if e["name"] == name]


@pytest.fixture
def members(app):
    return [demo_member(slug) for slug in ("sarralbe", "bitche", "cc-saulnois")]


@pytest.fixture
def kiosk_client(app, members):
    """A second browser (the TV) that opened a fresh kiosk link; returns (client, link)."""
    clear, link = kiosk.create("Télévision du support", make_user("support"))
    tv = app.test_client()
    response = tv.get(f"/mur/kiosque/{clear}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/mur?kiosque=1"
    return tv, link


@pytest.mark.parametrize("role", ["support", "admin"])
def test_staff_open_the_wall(app, client, login, members, role):
    login(make_user(role))
    for path in WALL_PAGES:
        assert client.get(path).status_code == 200, path
    page = client.get("/mur").get_data(as_text=True)
    assert 'class="theme-wall page-wall"' in page
    assert 'href="/membres/sarralbe/carte"' in page, "staff: the full member map"
    assert "data-wall-stale hidden" in page and "Données à jour" in page
    panel = client.get("/mur/membres/sarralbe", headers={"HX-Request": "true"})
    assert "<html" not in panel.get_data(as_text=True), "the panel's fragment"
    assert 'data-wall-member="sarralbe"' in panel.get_data(as_text=True)
    assert panel.headers["Cache-Control"] == "no-store"
    data = client.get("/api/v1/wall").json
    assert [t["slug"] for t in data["tiles"]] == ["bitche", "cc-saulnois", "sarralbe"]
    assert set(data["tiles"][0]) == {
        "slug",
        "name",
        "overall",
        "incidents",
        "since",
        "severity",
        "unacked_high",
        "open_requests",
    }
    assert data["generated_at"] and data["source_age_s"] is not None


@pytest.mark.parametrize("role", ["viewer", "member_admin"])
def test_member_users_get_not_found(app, client, login, members, role):
    login(make_user(role, member=members[0]))
    for path in WALL_PAGES:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Démo bitche" not in response.get_data(as_text=True)
    token = csrf_from(client, "/profil/")
    assert client.post("/mur/liens", data={"name": "x", "csrf_token": token}).status_code == 404
    assert client.post("/mur/liens/1/revoquer", data={"csrf_token": token}).status_code == 404
    response = client.get("/api/v1/wall")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_anonymous_gets_not_found(app, client, members):
    for path in WALL_PAGES:
        assert client.get(path).status_code == 404, path
    response = client.get("/api/v1/wall")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "authentication_required"


def test_tiles_are_sorted_worst_first_after_a_failure(app, client, login, members):
    staff = login(make_user("support"))
    make_support_request(members[1], staff, subject="Imprimante", message="Bourrage")
    before = tile_slugs(client.get("/mur/tuiles").get_data(as_text=True))
    assert before == ["bitche", "cc-saulnois", "sarralbe"], "all fine: by name"
    demo.fail("sarralbe-routeur")
    html = client.get("/mur/tuiles").get_data(as_text=True)
    assert tile_slugs(html) == ["sarralbe", "bitche", "cc-saulnois"]
    tile = html[html.index('data-slug="sarralbe"') : html.index('data-slug="bitche"')]
    assert "tile--problem" in html[: html.index('data-slug="sarralbe"')]
    assert "En panne" in tile and "1 incident" in tile and "depuis " in tile
    assert "1 problème grave non acquitté" in tile
    assert "1 demande ouverte" in html and "Aucune demande ouverte" in html
    data = client.get("/api/v1/wall").json
    first = data["tiles"][0]
    assert first["slug"] == "sarralbe" and first["overall"] == "problem"
    assert first["severity"] == 4 and first["incidents"] == 1 and first["since"]
    assert len(first["unacked_high"]) == 1
    assert data["tiles"][1]["open_requests"] == 1


def test_stale_source_shows_the_banner(app, client, login, members):
    login(make_user("support"))
    monitor = get_monitor()
    client.get("/mur")
    demo.set_outage(True)
    monitor.last_success = time.time() - 120
    page = client.get("/mur").get_data(as_text=True)
    assert "data-wall-stale hidden" not in page
    assert re.search(r"Données non actualisées depuis \d{1,2} h \d\d<", page)
    assert re.search(r"Dernières données : \d{1,2} h \d\d<", page)
    assert client.get("/api/v1/wall").json["stale"] is True


def test_kiosk_link_is_shown_once_and_opens_the_wall(app, client, login, members):
    login(make_user("admin"))
    token = csrf_from(client, "/mur/liens")
    response = client.post("/mur/liens", data={"name": "Télé du bureau", "csrf_token": token})
    assert response.status_code == 201
    clear = KIOSK_URL.search(response.get_data(as_text=True)).group(1)
    listing = client.get("/mur/liens").get_data(as_text=True)
    assert "Télé du bureau" in listing and clear not in listing, "shown once"
    assert clear[:10] in listing, "its prefix identifies it"
    assert client.post("/mur/liens", data={"name": "", "csrf_token": token}).status_code == 400

    tv = app.test_client()
    assert tv.get(f"/mur/kiosque/{clear}").headers["Location"] == "/mur?kiosque=1"
    page = tv.get("/mur?kiosque=1").get_data(as_text=True)
    assert "wall-kiosk" in page
    assert 'href="/mur/membres/sarralbe"' in page, "kiosk: the wall's own member view"
    assert "/mur/liens" not in page
    assert tv.get("/mur/tuiles").status_code == 200
    assert tv.get("/mur/membres/sarralbe").status_code == 200
    assert tv.get("/api/v1/wall").status_code == 200


def test_kiosk_session_opens_nothing_else(app, kiosk_client):
    tv, _link = kiosk_client
    for path in (
        "/membres/sarralbe/",
        "/membres/sarralbe/carte",
        "/admin/",
        "/profil/",
        "/support",
    ):
        response = tv.get(path)
        assert response.status_code in (302, 404), path
        if response.status_code == 302:
            assert "/connexion" in response.headers["Location"], path
    assert tv.get("/mur/liens").status_code == 404
    assert tv.get("/api/v1/members").status_code == 401
    assert tv.get("/mur/membres/nope").status_code == 404


def test_revoked_link_closes_an_open_kiosk_at_once(app, client, login, kiosk_client):
    tv, link = kiosk_client
    assert tv.get("/mur").status_code == 200
    login(make_user("admin"))
    token = csrf_from(client, "/mur/liens")
    response = client.post(f"/mur/liens/{link.id}/revoquer", data={"csrf_token": token})
    assert response.status_code == 302
    assert "révoqué" in client.get("/mur/liens").get_data(as_text=True)
    for path in ("/mur", "/mur/tuiles", "/mur/membres/sarralbe"):
        assert tv.get(path).status_code == 404, path
    assert tv.get("/api/v1/wall").status_code == 401


def test_bad_or_revoked_kiosk_tokens_are_not_found(app, client, members):
    clear, link = kiosk.create("Télé", make_user("admin"))
    kiosk.revoke(link.id)
    for token in (clear, "mur_nope", "mur_" + "a" * 200, "vigie_abc", clear[:-1]):
        response = client.get(f"/mur/kiosque/{token}")
        assert response.status_code == 404, token
        assert client.get("/mur").status_code == 404


def test_member_user_cannot_subscribe_to_the_wall(app, client, login, members):
    login(make_user("viewer", member=members[0]))
    poller = Poller(app)
    poller.cycle()
    sio = connect(app, client)
    assert sio.is_connected(NAMESPACE)
    answer = sio.emit("subscribe_wall", {}, namespace=NAMESPACE, callback=True)
    assert answer == {"ok": False, "error": "not_found"}
    sio.get_received(NAMESPACE)
    demo.fail("sarralbe-routeur")
    poller.cycle()
    assert events(sio, "wall.update") == []


def test_staff_receive_only_the_changed_tile(app, client, login, members):
    login(make_user("support"))
    poller = Poller(app)
    poller.cycle()
    sio = connect(app, client)
    answer = sio.emit("subscribe_wall", {}, namespace=NAMESPACE, callback=True)
    assert answer["ok"] is True and answer["source_ok"] is True
    sio.get_received(NAMESPACE)
    poller.cycle()
    assert events(sio, "wall.update") == [], "no change, nothing sent"
    demo.fail("sarralbe-routeur")
    poller.cycle()
    (update,) = events(sio, "wall.update")
    (tile,) = update["tiles"]
    assert tile["slug"] == "sarralbe" and tile["overall"] == "problem"
    assert len(tile["unacked_high"]) == 1


def test_kiosk_receives_the_wall_and_hears_of_revocation(app, kiosk_client):
    tv, link = kiosk_client
    poller = Poller(app)
    poller.cycle()
    sio = connect(app, tv)
    assert sio.emit("subscribe_wall", {}, namespace=NAMESPACE, callback=True)["ok"] is True
    sio.get_received(NAMESPACE)
    demo.fail("bitche-routeur")
    poller.cycle()
    assert [t["slug"] for t in events(sio, "wall.update")[0]["tiles"]] == ["bitche"]
    kiosk.revoke(link.id)
    assert events(sio, "kiosk.revoked") == [{"kiosk": link.id}]
    again = connect(app, tv)
    assert not again.is_connected(NAMESPACE), "a revoked kiosk cannot reconnect"


def test_revoked_kiosk_socket_is_closed_by_the_server(app, kiosk_client):
    from webapp.realtime import close_revoked_kiosk_sockets

    tv, link = kiosk_client
    sio = connect(app, tv)
    assert sio.emit("subscribe_wall", {}, namespace=NAMESPACE, callback=True)["ok"] is True
    assert close_revoked_kiosk_sockets() == 0
    kiosk.revoke(link.id)
    assert close_revoked_kiosk_sockets() == 1, "even a client that ignores the notice"
    assert not sio.is_connected(NAMESPACE)
