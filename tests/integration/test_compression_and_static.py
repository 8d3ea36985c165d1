"""Light as it was (issue 14, part 8): the portal compresses its own answers; static files
have content-hashed names, cached for a year; their plain names still work, revalidated."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest

from tests.factories import demo_member
from tests.factories import make_user
from webapp.assets import IMMUTABLE

HASHED = re.compile(r'/static/(?P<name>[\w./-]+?)\.(?P<hash>[0-9a-f]{12})\.(?P<ext>[a-z]+)"')


@pytest.fixture
def map_page(client, login):
    login(make_user("viewer", member=demo_member("cc-saulnois")))
    return "/membres/cc-saulnois/carte"


@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [("br", "br", brotli.decompress), ("gzip", "gzip", gzip.decompress)],
)
def test_a_page_is_compressed_when_asked(client, map_page, accept, encoding, decode):
    plain = client.get(map_page)
    assert plain.status_code == 200
    answer = client.get(map_page, headers={"Accept-Encoding": f"{accept}, identity;q=0.5"})
    assert answer.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in answer.headers["Vary"]
    assert answer.headers["Cache-Control"] == "no-store"  # a signed-in page stays unkept
    html = decode(answer.get_data()).decode()
    assert "data-live-map" in html and "</html>" in html
    assert len(answer.get_data()) < len(plain.get_data()) / 3


def test_brotli_is_preferred_and_nothing_is_compressed_unasked(client, map_page):
    both = client.get(map_page, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert both.headers["Content-Encoding"] == "br"
    plain = client.get(map_page)
    assert "Content-Encoding" not in plain.headers
    assert "data-live-map" in plain.get_data(as_text=True)
    refused = client.get(map_page, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in refused.headers


def test_json_and_scripts_are_compressed_images_are_not(client, map_page):
    api = client.get("/api/v1/members/cc-saulnois/map", headers={"Accept-Encoding": "br"})
    assert api.status_code == 200 and api.headers["Content-Encoding"] == "br"
    html = client.get(map_page).get_data(as_text=True)
    script = re.search(r'src="(/static/vendor/htmx\.min\.[0-9a-f]{12}\.js)"', html)[1]
    assert (
        client.get(script, headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"]
        == "gzip"
    )
    icon = client.get("/static/img/icon-192.png", headers={"Accept-Encoding": "br, gzip"})
    assert icon.status_code == 200 and "Content-Encoding" not in icon.headers


def test_pages_name_static_files_by_hash_and_those_are_immutable(client, map_page):
    html = client.get(map_page).get_data(as_text=True)
    found = {m["name"] + "." + m["ext"] for m in HASHED.finditer(html)}
    for name in ("css/vigie.css", "js/live-map.js", "vendor/htmx.min.js", "img/vigie.svg"):
        assert name in found, name
    plain = r'(src|href)="/static/(css|js|vendor)/[\w.-]+?(?<!\.[0-9a-f]{12})\.(css|js)"'
    assert not re.search(plain, html)
    for match in HASHED.finditer(html):
        answer = client.get(match[0][:-1])
        assert answer.status_code == 200, match[0]
        assert answer.headers["Cache-Control"] == IMMUTABLE
        assert answer.headers["ETag"]
        # Signed in, yet no "Vary: Cookie" nor cookie: the cached copy outlives the session.
        assert "cookie" not in answer.headers.get("Vary", "").lower(), match[0]
        assert "Set-Cookie" not in answer.headers, match[0]
        again = client.get(match[0][:-1], headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304


def test_hashed_modules_import_hashed_modules(client, map_page):
    html = client.get(map_page).get_data(as_text=True)
    url = re.search(r'src="(/static/js/live-map\.[0-9a-f]{12}\.js)"', html)[1]
    body = client.get(url).get_data(as_text=True)
    imports = re.findall(r'from "\./([\w.-]+)"', body)
    assert imports and all(re.fullmatch(r"[\w-]+\.[0-9a-f]{12}\.js", i) for i in imports)
    for name in imports:
        assert client.get(f"/static/js/{name}").headers["Cache-Control"] == IMMUTABLE


def test_unhashed_names_still_work_revalidated(client):
    answer = client.get("/static/css/vigie.css")
    assert answer.status_code == 200 and answer.mimetype == "text/css"
    assert answer.headers["Cache-Control"] == "no-cache"
    etag = answer.headers["ETag"]
    assert client.get("/static/css/vigie.css", headers={"If-None-Match": etag}).status_code == 304
    module = client.get("/static/js/live-map.js").get_data(as_text=True)
    assert 'from "./clock.js"' in module  # the file as it is, importing plain names
    assert client.get("/static/css/nothing.css").status_code == 404
    assert client.get("/static/css/vigie.000000000000.css").status_code == 404


def test_the_web_app_manifest_and_the_service_worker_keep_their_urls(client):
    html = client.get("/connexion").get_data(as_text=True)
    assert 'href="/static/manifest.webmanifest"' in html
    assert 'data-sw-url="/sw.js"' in html
    manifest = client.get("/static/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.headers["Cache-Control"] == "no-cache"
    worker = client.get("/sw.js", headers={"Accept-Encoding": "br"})
    assert worker.status_code == 200
    assert worker.headers["Cache-Control"] == "no-cache"
    assert worker.headers["Content-Encoding"] == "br"
    body = brotli.decompress(worker.get_data()).decode()
    # Its offline shell names the files the offline page itself loads: the hashed ones.
    assert re.search(r"/static/css/vigie\.[0-9a-f]{12}\.css", body)
    offline = client.get("/hors-ligne").get_data(as_text=True)
    css = re.search(r"/static/css/vigie\.[0-9a-f]{12}\.css", offline)[0]
    assert css in body


def test_in_debug_mode_a_changed_file_gets_its_new_name_without_a_restart(app, tmp_path):
    from flask import url_for

    from webapp.assets import build_manifest

    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "vigie.css"
    sheet.write_text("body { color: #123; }\n")
    app.extensions["vigie_assets"] = build_manifest(tmp_path)
    app.debug = True
    with app.test_request_context():
        before = url_for("static", filename="css/vigie.css")
        sheet.write_text("body { color: #456789; }\n")  # another size: whatever the mtime
        after = url_for("static", filename="css/vigie.css")
    assert before != after and re.fullmatch(r"/static/css/vigie\.[0-9a-f]{12}\.css", after)
    answer = app.test_client().get(after)
    assert answer.status_code == 200 and b"#456789" in answer.get_data()


def test_socketio_traffic_is_left_to_engineio(client):
    """Socket.IO's long-polling answers never reach Flask's hooks: Flask-Compress skips them."""
    answer = client.get(
        "/socket.io/?EIO=4&transport=polling", headers={"Accept-Encoding": "br, gzip"}
    )
    assert answer.status_code == 200 and answer.get_data().startswith(b'0{"sid"')
    assert answer.headers.get("Content-Encoding") != "br"
    assert "Vary" not in answer.headers
