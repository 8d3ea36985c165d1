"""No two nodes of one demo map read the same on screen (the 8 members and the 300-member scale).

The state line under a label changes live and is the same for most nodes, so the label
lines alone must tell every node of a drawing apart; the whole label stays in the
accessible name.
"""

import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.conftest import _base_config
from tests.conftest import app_in_context
from tests.conftest import csrf_from
from tests.conftest import first_backend_only
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_member
from tests.factories import make_user
from webapp.live.monitor import get_monitor
from webapp.presenters import maps
from webapp.services import demo as demo_service


class MapTexts(HTMLParser):
    """Every drawing of a page: ``(kind, {node id: (aria-label, label lines, state)})``."""

    def __init__(self) -> None:
        super().__init__()
        self.drawings: list[tuple[str, dict[str, tuple[str, list[str], str]]]] = []
        self._node: str | None = None
        self._text: str | None = None
        self._parts: dict[str, list[str]] = {}
        self.folded: dict[int, set[str]] = {}  # drawing index -> members of its groups

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "data-map-svg" in a:
            self.drawings.append((a["data-map-svg"], {}))
        elif tag == "g" and "data-node" in a:
            self._node = a["data-node"]
            for member in a.get("data-members", "").split():
                self.folded.setdefault(len(self.drawings) - 1, set()).add(member)
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


def parsed(html: str) -> MapTexts:
    parser = MapTexts()
    parser.feed(html)
    return parser


def member_drawings(client, slug: str, wall: bool = False):
    """The whole map (wide), each site's map (narrow) and the wall's panel, parsed."""
    urls = [f"/membres/{slug}/carte/dessin"]
    page = client.get(f"/membres/{slug}/carte").get_data(as_text=True)
    urls += sorted(set(re.findall(rf'href="(/membres/{slug}/carte/site/[^"]+)"', page)))
    if wall:
        urls.append(f"/mur/membres/{slug}")
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        yield url, parsed(response.get_data(as_text=True))


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
    seen_in_sites: set[str] = set()
    for url, parser in member_drawings(client, member.slug, wall):
        assert len(parser.drawings) == 1, url
        kind, nodes = parser.drawings[0]
        assert kind == ("narrow" if "/site/" in url else "wide"), url
        shown = set(nodes) | parser.folded.get(0, set())
        if "/site/" in url:
            seen_in_sites |= shown
        else:
            assert set(names) <= shown, "every host drawn, or folded in a group"
        assert_drawing_reads_apart(kind, nodes, names, url)
    assert set(names) <= seen_in_sites | {
        h.hostid
        for h in hosts
        if h.tag("role") in ("access", "router", "firewall") and h.tag("site") == member.sites[0]
    }


def app_on(database_url, tmp_path, **config):
    """The app on another demo estate (more members, more items)."""
    yield from app_in_context({**_base_config(database_url, tmp_path), **config})


@pytest.fixture
def large_app(database_url, tmp_path):
    """The app on the eight hand-written members (``make run``'s estate)."""
    yield from app_on(database_url, tmp_path, DEMO_MEMBERS=8)


def signed_in(app, source, role="support"):
    """A client signed in as ``role``, every member of ``source`` created."""
    for demo in source.members:
        make_member(name=demo.name, slug=demo.slug, kind=demo.kind, host_groups=[demo.group])
    client = app.test_client()
    user = make_user(role)
    token = csrf_from(client, "/connexion")
    form = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/connexion", data=form).status_code == 302
    return client


def test_the_eight_demo_maps_have_no_two_nodes_alike(large_app):
    source = get_monitor(large_app).source
    assert [m.slug for m in source.members][-2:] == ["ca-forbach", "metz"]
    client = signed_in(large_app, source)
    for member in source.members:
        assert_member_maps_read_apart(client, source, member)


@pytest.mark.parametrize(
    ("slug", "devices", "sites", "drawn_at_most"),
    [("ca-forbach", 150, 5, 0.65), ("metz", 499, 10, 0.5)],
)
def test_a_large_member_folds_into_a_readable_map(large_app, slug, devices, sites, drawn_at_most):
    """150 and 500 devices: frames per site, inter-site links, rows of devices folded."""
    source = get_monitor(large_app).source
    member = next(m for m in source.members if m.slug == slug)
    hosts = source.hosts([member.group])
    assert len(hosts) == devices
    roles = Counter(h.tag("role") for h in hosts)
    assert {"firewall", "phone", "camera", "printer", "ap", "link"} <= set(roles)
    assert roles["link"] == sites - 1, "one inter-site link per other site"
    client = signed_in(large_app, source)
    html = client.get(f"/membres/{slug}/carte/dessin").get_data(as_text=True)
    drawing = parsed(html)
    ((kind, nodes),) = drawing.drawings
    assert kind == "wide"
    groups = [i for i in nodes if i.startswith("group:")]
    assert len(nodes) <= drawn_at_most * devices, f"{len(nodes)} nodes drawn for {devices}"
    assert len(groups) >= 10 and all(len(nodes[g][1]) >= 1 for g in groups)
    assert set(h.hostid for h in hosts) <= set(nodes) | drawing.folded[0]
    assert html.count('class="frame__title"') == sites
    # Rows of telephones under numbered floor switches read by their switch.
    group_texts = {" ".join(nodes[g][1]) for g in groups}
    assert any(text.endswith("téléphones · Commutateur 1") for text in group_texts), group_texts
    assert sum(1 for h in hosts if h.tag("role") == "link" and h.hostid in nodes) == sites - 1
    # The phone's page: the path, then one card per site, each opening its site's map.
    page = client.get(f"/membres/{slug}/carte").get_data(as_text=True)
    assert page.count("data-site-card") == sites
    for site in member.sites:
        response = client.get(f"/membres/{slug}/carte/site/{site}")
        assert response.status_code == 200, site
        ((narrow, site_nodes),) = parsed(response.get_data(as_text=True)).drawings
        assert narrow == "narrow" and 0 < len(site_nodes) <= 80, (site, len(site_nodes))
    # A failure inside a fold stands out of it, and its group tells it.
    rows = Counter(h.tag("parent") for h in hosts if h.tag("role") == "camera")
    row = next(parent for parent, count in rows.items() if count >= 4)
    camera = next(h for h in hosts if h.tag("parent") == row and h.tag("role") == "camera")
    demo_service.fail(camera.host)
    drawing = parsed(client.get(f"/membres/{slug}/carte/dessin").get_data(as_text=True))
    ((_, nodes),) = drawing.drawings
    assert camera.hostid in nodes and "En panne" in nodes[camera.hostid][2]
    # Its group says it aloud; the box tells how the others are, as its badge does.
    (group,) = (g for g in nodes if g.startswith("group:") and "1 en panne" in nodes[g][0])
    assert "fonctionnent" in nodes[group][2], nodes[group]


def test_sarralbe_cameras_and_switches_read_apart(app, client, login, source):
    """The report: three « Caméra abords mairie » and two « Commutateur mairi… »."""
    login(make_user("viewer", member=demo_member("sarralbe")))
    html = client.get("/membres/sarralbe/carte/dessin").get_data(as_text=True)
    wide = dict(drawings_of(html))["wide"]
    shown = {" ".join(lines) for _, lines, _ in wide.values()}
    assert {"Commutateur mairie 1", "Commutateur mairie 2"} <= shown
    # Four cameras under one switch fold into a group; opened, they read apart.
    assert "4 caméras" in shown
    group = next(i for i in wide if i.startswith("group:") and i.endswith(":camera"))
    html = client.get(f"/membres/sarralbe/carte/dessin?ouvert={group}").get_data(as_text=True)
    opened = {" ".join(lines) for _, lines, _ in dict(drawings_of(html))["wide"].values()}
    assert {f"Caméra abords mairie {n}" for n in (1, 2, 3)} <= opened


@pytest.fixture
def scaled_app(database_url, tmp_path):
    """The app on the 300-member demo estate (50 000 items)."""
    yield from app_on(database_url, tmp_path, DEMO_MEMBERS=300, DEMO_ITEMS=50_000)


@first_backend_only  # labels and drawings do not depend on the database
def test_the_300_member_maps_have_no_two_nodes_alike(scaled_app):
    source = get_monitor(scaled_app).source
    assert len(source.members) == 300
    client = signed_in(scaled_app, source)
    for member in source.members:
        assert_member_maps_read_apart(client, source, member)


def test_a_shortened_label_is_whole_in_the_accessible_name_and_the_node_panel(
    app, client, login, source
):
    login(make_user("viewer", member=demo_member("bitche")))
    switch = source.host_by_name("bitche-sw-1-2")
    assert switch.name == "Commutateur centre technique municipal 2"
    html = client.get("/membres/bitche/carte/dessin").get_data(as_text=True)
    html += client.get("/membres/bitche/carte/site/Centre technique municipal").get_data(
        as_text=True
    )
    assert len(drawings_of(html)) == 2
    for kind, nodes in drawings_of(html):
        aria, lines, _ = nodes[switch.hostid]
        assert aria.startswith(f"{switch.name} : ") and lines[-1].endswith("… 2"), (kind, lines)
    panel = client.get(f"/membres/bitche/equipements/{switch.hostid}").get_data(as_text=True)
    assert switch.name in panel
