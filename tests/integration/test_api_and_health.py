"""JSON API v1, personal tokens, health and error pages."""

import re

from tests.conftest import csrf_from
from tests.factories import demo_member
from tests.factories import make_user
from webapp.services import tokens


def bearer(clear):
    return {"Authorization": f"Bearer {clear}"}


def test_member_detail_has_state_and_probes(app, client, login):
    member = demo_member("sarralbe")
    login(make_user("viewer", member=member))
    data = client.get("/api/v1/members/sarralbe").json
    assert data["slug"] == "sarralbe" and data["state"] == "ok"
    assert data["summary"]["headline"] == "Tout fonctionne normalement"
    assert data["probes"]["used"] == 490
    assert data["probes"]["subscribed"] == 100
    assert data["source_age_s"] is not None


def test_member_state_follows_a_demo_failure(app, client, login, source):
    login(make_user("viewer", member=demo_member("sarralbe")))
    from webapp.services import demo

    demo.fail("sarralbe-routeur")
    data = client.get("/api/v1/members/sarralbe").json
    assert data["state"] == "problem"
    incidents = data["summary"]["incidents"]
    assert len(incidents) == 1, "one incident, not one per device behind the router"
    assert incidents[0]["label"] == "Routeur mairie" and incidents[0]["affected"] > 10
    assert "ne répond plus" in data["summary"]["sentences"][0]
    demo.repair("sarralbe-routeur")
    assert client.get("/api/v1/members/sarralbe").json["state"] == "ok"


def test_token_lifecycle(app, client, login):
    user = login(make_user("viewer", member=demo_member("sarralbe")))
    token = csrf_from(client, "/profil/")
    page = client.post(
        "/profil/jetons", data={"token_name": "Sauvegarde", "csrf_token": token}
    ).get_data(as_text=True)
    clear = re.search(r"vigie_[\w-]+", page).group(0)
    assert user.api_tokens[0].token_hash != clear and clear not in user.api_tokens[0].token_hash
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/members", headers=bearer(clear)).status_code == 200
    assert clear not in client.get("/profil/").get_data(as_text=True), "shown once"
    client.post(f"/profil/jetons/{user.api_tokens[0].id}/revoquer", data={"csrf_token": token})
    response = anonymous.get("/api/v1/members", headers=bearer(clear))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "authentication_required"


def test_cannot_revoke_someone_elses_token(app, client, login):
    other = make_user("viewer")
    _clear, token = tokens.create(other, "autre")
    login(make_user("viewer"))
    csrf = csrf_from(client, "/profil/")
    response = client.post(f"/profil/jetons/{token.id}/revoquer", data={"csrf_token": csrf})
    assert response.status_code == 404
    assert token.revoked_at is None


def test_bad_tokens_are_refused(app, client):
    for value in ("", "vigie_nope", "x" * 500, "vigie_" + "a" * 200):
        response = client.get("/api/v1/members", headers=bearer(value))
        assert response.status_code == 401


def test_api_errors_are_json(app, client, login):
    login(make_user("viewer", member=demo_member("sarralbe")))
    missing = client.get("/api/v1/members/nope")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert client.get("/api/v1/nothing-here").json["error"]["status"] == 404
    assert client.post("/api/v1/members").json["error"]["code"] == "method_not_allowed"


def test_html_errors_are_french_pages(app, client):
    response = client.get("/pas-de-page")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_internal_errors_are_french_and_logged(app, client, monkeypatch):
    from webapp.blueprints.health import routes

    def boom():
        raise RuntimeError("boom")

    monkeypatch.setattr(routes, "get_monitor", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/healthz")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"


def test_healthz(app, client, source):
    data = client.get("/healthz").json
    assert data["status"] == "ok" and data["database"] == "ok" and data["source"] == "ok"
    assert 0 <= data["source_age_s"] < 5
    source.set_outage(True)
    app.config["POLL_INTERVAL"] = 0
    from webapp.live.monitor import get_monitor

    get_monitor().interval = 0
    data = client.get("/healthz").json
    assert data["status"] == "degraded" and data["source"] == "error"
    assert data["source_error"] == "source_unavailable"  # its words: admins only


def test_stale_banner_when_source_stops(app, client, login, source):
    from webapp.live.monitor import get_monitor

    login(make_user("viewer", member=demo_member("sarralbe")))
    page = client.get("/membres/sarralbe/").get_data(as_text=True)
    assert "Données à jour" in page
    assert "data-stale-banner hidden" in page, "fresh data: the banner is there, hidden"
    monitor = get_monitor()
    source.set_outage(True)
    monitor.interval = 0
    monitor.last_success -= 3600
    page = client.get("/membres/sarralbe/").get_data(as_text=True)
    assert "data-stale-banner hidden" not in page
    assert "Données non actualisées depuis" in page and "Dernières données :" in page
    assert "Tout fonctionne normalement" in page, "the last known state stays on screen"
