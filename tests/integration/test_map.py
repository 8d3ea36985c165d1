"""The map page, node details, the map API and support requests."""

from tests.conftest import csrf_from
from tests.factories import demo_member
from tests.factories import make_user
from webapp.services import demo


def test_map_page_has_accessible_svg_and_list(app, client, login):
    login(make_user("viewer", member=demo_member("sarralbe")))
    page = client.get("/membres/sarralbe/carte").get_data(as_text=True)
    assert "data-live-map" in page and "Suspendre les mises à jour" in page
    assert 'data-drawing-url="/membres/sarralbe/carte/dessin"' in page
    # The phone's first screen: the path to Internet, then one card per site.
    assert "L’accès à Internet" in page and "Box fibre (Mairie)" in page
    assert page.count("data-site-card=") == 2 and "/membres/sarralbe/carte/site/Mairie" in page
    assert '<svg class="map__svg' not in page, "the drawing is fetched by wide screens only"
    drawing = client.get("/membres/sarralbe/carte/dessin").get_data(as_text=True)
    assert 'role="graphics-document"' in drawing and 'role="graphics-symbol"' in drawing
    assert drawing.count('tabindex="0"') == 1, "one tab stop per drawing"
    site = client.get("/membres/sarralbe/carte/site/Mairie").get_data(as_text=True)
    assert site.count('tabindex="0"') == 1 and "<table" in site and "Équipements" in site
    home = client.get("/membres/sarralbe/").get_data(as_text=True)
    assert "<table" in home, "the whole list, in text, on the member's home"


def test_bad_drawing_parameters_are_a_404_never_a_500(app, client, login):
    login(make_user("viewer", member=demo_member("sarralbe")))
    for query in (
        "vue=large",
        "ouvert=%3Cscript%3E",
        "site=Nulle-part",
        "ouvert=" + "group:x " * 300,
    ):
        assert client.get(f"/membres/sarralbe/carte/dessin?{query}").status_code == 404, query
    assert client.get("/membres/sarralbe/carte/site/Nulle-part").status_code == 404
    assert client.get("/membres/sarralbe/carte/textes?site=Nulle-part").status_code == 404
    # An unknown group is simply not open.
    assert client.get("/membres/sarralbe/carte/dessin?ouvert=group:1:camera").status_code == 200


def test_router_down_gives_one_incident_in_plain_french(app, client, login):
    login(make_user("viewer", member=demo_member("sarralbe")))
    demo.fail("sarralbe-routeur")
    page = client.get("/membres/sarralbe/carte").get_data(as_text=True)
    assert "1 panne en cours" in page
    assert "Routeur mairie" in page and "injoignables" in page
    drawing = client.get("/membres/sarralbe/carte/dessin").get_data(as_text=True)
    assert "cause probable : Routeur mairie" in drawing
    assert "map__edges--down" in drawing, "the lines to the failed ends show it"


def test_map_api(app, client, login):
    login(make_user("viewer", member=demo_member("sarralbe")))
    demo.fail("sarralbe-routeur")
    data = client.get("/api/v1/members/sarralbe/map").json
    assert {"nodes", "edges", "summary", "generated_at", "source_age_s"} <= set(data)
    nodes = {n["id"]: n for n in data["nodes"]}
    router = next(n for n in nodes.values() if n["label"] == "Routeur mairie")
    assert router["state"] == "problem" and router["problems"]
    behind = [n for n in nodes.values() if n["state"] == "unreachable"]
    assert behind and all(n["cause"] == router["id"] for n in behind)
    assert all(n["position"] for n in nodes.values())
    narrow = client.get("/api/v1/members/sarralbe/map?layout=narrow").json
    assert narrow["layout"]["width"] <= 360


def test_map_api_errors(app, client, login):
    login(make_user("viewer", member=demo_member("sarralbe")))
    bad = client.get("/api/v1/members/sarralbe/map?layout=%3Cscript%3E")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "bad_request"
    assert client.get("/api/v1/members/nope/map").status_code == 404
    assert client.get("/api/v1/members/nope/map").json["error"]["code"] == "not_found"


def test_openapi_is_served(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/members/{slug}/map" in spec["paths"]


def test_node_detail(app, client, login, source):
    login(make_user("viewer", member=demo_member("sarralbe")))
    nas = source.host_by_name("sarralbe-sw-0-1-nas-2")
    page = client.get(f"/membres/sarralbe/equipements/{nas.hostid}").get_data(as_text=True)
    assert "Espace disque libre" in page and "Latence" in page
    assert "Demander de l’aide au support" in page
    fragment = client.get(
        f"/membres/sarralbe/equipements/{nas.hostid}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment
    assert client.get("/membres/sarralbe/equipements/99999999").status_code == 404
    assert client.get("/membres/sarralbe/equipements/..%2F..").status_code == 404


def test_support_request_about_a_node(app, client, login, source):
    login(make_user("viewer", member=demo_member("sarralbe")))
    router = source.host_by_name("sarralbe-routeur")
    url = f"/membres/sarralbe/support/nouvelle?equipement={router.hostid}"
    page = client.get(url).get_data(as_text=True)
    assert "Routeur mairie" in page
    token = csrf_from(client, url)
    response = client.post(
        "/membres/sarralbe/support/nouvelle",
        data={
            "subject": "Plus d'internet",
            "message": "Depuis ce matin.\nMerci.",
            "hostid": router.hostid,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    listing = client.get("/membres/sarralbe/support").get_data(as_text=True)
    assert "Plus d&#39;internet" in listing and "Routeur mairie" in listing


def test_staff_queue_and_acknowledge(app, client, login, source):
    member = demo_member("sarralbe")
    login(make_user("support"))
    demo.fail("sarralbe-routeur")
    problem = source.problems()[0]
    token = csrf_from(client, "/support")
    response = client.post(
        f"/membres/sarralbe/problemes/{problem.eventid}/acquitter", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert source.problems()[0].acknowledged
    assert (
        client.post(
            "/membres/sarralbe/problemes/123/acquitter", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert member.slug == "sarralbe"


def test_viewer_cannot_acknowledge(app, client, login, source):
    login(make_user("viewer", member=demo_member("sarralbe")))
    demo.fail("sarralbe-routeur")
    problem = source.problems()[0]
    token = csrf_from(client, "/profil/")
    response = client.post(
        f"/membres/sarralbe/problemes/{problem.eventid}/acquitter", data={"csrf_token": token}
    )
    assert response.status_code == 403
    assert not source.problems()[0].acknowledged
    assert client.get("/support").status_code == 403


def _panel(client, source, name):
    host = source.host_by_name(name)
    return client.get(f"/membres/sarralbe/equipements/{host.hostid}").get_data(as_text=True)


def test_a_member_reads_what_a_problem_means_not_the_trigger(app, client, login, source):
    login(make_user("viewer", member=demo_member("sarralbe")))
    demo.fail("sarralbe-routeur")
    panel = _panel(client, source, "sarralbe-routeur")
    assert "Ne répond plus" in panel and "Service interrompu" in panel
    assert "plus accès à Internet" in panel, "what it means for the town hall"
    for word in ("ICMP", "Gravité", "Haute", "Acquitter", "Détail technique"):
        assert word not in panel, word
    # The equipment list (the map's text alternative) speaks the same words.
    home = client.get("/membres/sarralbe/").get_data(as_text=True)
    assert "Ne répond plus" in home and "(Service interrompu)" in home
    assert "ICMP" not in home and "(Haute)" not in home


def test_a_lesser_problem_reads_as_disturbed_and_says_what_to_expect(app, client, login, source):
    login(make_user("viewer", member=demo_member("sarralbe")))
    demo.warn("sarralbe-sw-0-1-nas-2")
    panel = _panel(client, source, "sarralbe-sw-0-1-nas-2")
    assert "Stockage presque plein" in panel and "Service perturbé" in panel
    assert "sauvegardes risquent de ne plus être gardés" in panel
    assert "Espace disque faible" not in panel, "the trigger's name is support's"


def test_support_gets_the_technical_detail_folded_and_can_acknowledge(app, client, login, source):
    demo_member("sarralbe")
    login(make_user("support"))
    demo.fail("sarralbe-routeur")
    problem = next(p for p in source.problems() if p.name.endswith("(ICMP)"))
    panel = _panel(client, source, "sarralbe-routeur")
    assert "Ne répond plus" in panel and "Service interrompu" in panel
    detail = panel[panel.index('<details class="problem__detail">') :]
    detail = detail[: detail.index("</details>")]
    assert "Détail technique" in detail and problem.name in detail
    assert "Gravité Zabbix : Haute" in detail and f"événement n° {problem.eventid}" in detail
    assert f"/membres/sarralbe/problemes/{problem.eventid}/acquitter" in panel
    assert "Acquitter<span" in panel
