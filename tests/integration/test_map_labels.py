"""No two nodes of one demo map read the same on screen (the 6 members and the 300-member scale).

The state line under a label changes live and is the same for most nodes, so the label
lines alone must tell every node of a drawing apart; the whole label stays in the
accessible name.
"""

from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.conftest import _base_config
from tests.conftest import _truncate
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_member
from tests.factories import make_user
from webapp import create_app
from webapp.extensions import db as _db
from webapp.live.monitor import get_monitor
from webapp.presenters import maps
from webapp.sources.demo import DEMO_MEMBERS


class MapTexts(HTMLParser):
    """Every drawing of a page: ``(kind, {node id: (aria-label, label lines, state)})``."""

    def __init__(self) -> None:
        super().__init__()
        self.drawings: list[tuple[str, dict[str, tuple[str, list[str], str]]]] = []
        self._node: str | None = None
        self._text: str | None = None
        self._parts: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "data-map-svg" in a:
            self.drawings.append((a["data-map-svg"], {}))
        elif tag == "g" and "data-node" in a:
            self._node = a["data-node"]
            self._parts = {"aria": [a["aria-label"]], "label": [], "state": []}
        elif tag == "text" and self._node:
            self._text = "label" if "node__label" in a["class"] else "state"
            if self._text == "label" and "y" in a:  # a one-line label: no tspan
                self._parts["label"].append("")
        elif tag == "tspan" and self._text == "label":
            self._parts["label"].append("")

    def handle_data(self, data):
        if self._text == "label" and self._parts["label"]:
            self._parts["label"][-1] += data
        elif self._text == "state":
            self._parts["state"].append(data)

    def handle_endtag(self, tag):
        if tag == "text":
            self._text = None
        elif tag == "g" and self._node:
            parts = self._parts
            state = "".join(parts["state"]).strip()
            self.drawings[-1][1][self._node] = (parts["aria"][0], parts["label"], state)
            self._node = None


def drawings_of(html: str):
    parser = MapTexts()
    parser.feed(html)
    return parser.drawings


def assert_drawing_reads_apart(kind, nodes, names, where):
    """Label lines pairwise different, in the box, and the whole name in the aria-label."""
    box = maps.BOX_TEXT[kind]
    shown = Counter(" ".join(lines) for _, lines, _ in nodes.values())
    twins = [text for text, count in shown.items() if count > 1]
    assert not twins, f"{where} ({kind}): several nodes read {twins}"
    for node_id, (aria, lines, state) in nodes.items():
        assert 1 <= len(lines) <= box["lines"], (where, lines)
        assert all(0 < len(line) <= box["limit"] for line in lines), (where, lines)
        assert state, (where, node_id)
        if node_id in names:
            assert aria.startswith(f"{names[node_id]} : "), (where, aria)


def assert_member_maps_read_apart(client, source, member, wall=False):
    hosts = source.hosts([member.group])
    names = {host.hostid: host.name for host in hosts}
    repeated = [name for name, count in Counter(names.values()).items() if count > 1]
    assert not repeated, f"{member.slug}: demo labels repeated {repeated}"
    pages = [f"/membres/{member.slug}/carte"] + ([f"/mur/membres/{member.slug}"] if wall else [])
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        drawings = drawings_of(response.get_data(as_text=True))
        assert {kind for kind, _ in drawings} == (
            {"wide"} if "/mur/" in url else {"wide", "narrow"}
        )
        for kind, nodes in drawings:
            assert len(nodes) == len(hosts) + 1, "every host and the Internet root"
            assert_drawing_reads_apart(kind, nodes, names, url)


def test_the_six_demo_maps_have_no_two_nodes_alike(app, client, login, source):
    login(make_user("support"))
    for member in DEMO_MEMBERS:
        demo_member(member.slug)
    for member in source.members:
        assert_member_maps_read_apart(client, source, member, wall=True)


def test_sarralbe_cameras_and_switches_read_apart(app, client, login, source):
    """The report: three « Caméra abords mairie » and two « Commutateur mairi… »."""
    login(make_user("viewer", member=demo_member("sarralbe")))
    html = client.get("/membres/sarralbe/carte").get_data(as_text=True)
    wide = dict(drawings_of(html))["wide"]
    shown = {" ".join(lines) for _, lines, _ in wide.values()}
    assert {"Commutateur mairie 1", "Commutateur mairie 2"} <= shown
    assert {f"Caméra abords mairie {n}" for n in (1, 2, 3)} <= shown


@pytest.fixture
def scaled_app(database_url, tmp_path):
    """The app on the 300-member demo estate (50 000 items)."""
    config = {**_base_config(database_url, tmp_path), "DEMO_MEMBERS": 300, "DEMO_ITEMS": 50_000}
    app = create_app(config)
    with app.app_context():
        yield app
        _db.session.remove()
        _truncate()
        _db.engine.dispose()


def test_the_300_member_maps_have_no_two_nodes_alike(scaled_app):
    source = get_monitor(scaled_app).source
    assert len(source.members) == 300
    for demo in source.members:
        make_member(name=demo.name, slug=demo.slug, kind=demo.kind, host_groups=[demo.group])
    client = scaled_app.test_client()
    user = make_user("support")
    token = csrf_from(client, "/connexion")
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/connexion", data=form).status_code == 302
    for member in source.members:
        assert_member_maps_read_apart(client, source, member)


def test_a_shortened_label_is_whole_in_the_accessible_name_and_the_node_panel(
    app, client, login, source
):
    login(make_user("viewer", member=demo_member("bitche")))
    switch = source.host_by_name("bitche-sw-1-2")
    assert switch.name == "Commutateur centre technique municipal 2"
    html = client.get("/membres/bitche/carte").get_data(as_text=True)
    for kind, nodes in drawings_of(html):
        aria, lines, _ = nodes[switch.hostid]
        assert aria.startswith(f"{switch.name} : ") and lines[-1].endswith("… 2"), (kind, lines)
    panel = client.get(f"/membres/bitche/equipements/{switch.hostid}").get_data(as_text=True)
    assert switch.name in panel
