"""``/api/v1/me/push-subscriptions`` and the profile's device forms."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.factories import make_user
from tests.loopback.push_service import PushService
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models import PushSubscription
from webapp.services import push
from webapp.services import tokens

URL = "/api/v1/me/push-subscriptions"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture
def vapid(app, tmp_path):
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(tmp_path / "vapid_private.pem")
    return push.generate_keys()


@pytest.fixture
def service():
    with PushService() as running:
        yield running


@pytest.fixture
def session_user(client, login):
    # the same User-Agent all along: the session is bound to it ("strong" protection)
    client.environ_base["HTTP_USER_AGENT"] = CHROME_ANDROID
    user = login(make_user())
    token = csrf_from(client, "/profil/")
    return user, {"X-CSRFToken": token}


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(PushSubscription))


def test_create_list_test_delete(client, session_user, service, vapid):
    user, headers = session_user
    subscription = service.subscribe(server_key=vapid).to_json()
    created = client.post(URL, json=subscription, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.json
    assert body["label"] == "Chrome sur Android" and body["endpoint_origin"] == service.origin
    assert "p256dh" not in str(body) and "auth" not in body

    again = client.post(URL, json=subscription, headers=headers)
    assert again.status_code == 200 and again.json["id"] == body["id"]
    assert _count() == 1

    listing = client.get(URL)
    assert listing.status_code == 200
    assert [d["id"] for d in listing.json["subscriptions"]] == [body["id"]]

    test = client.post(f"{URL}/{body['id']}/test", headers=headers)
    assert test.status_code == 202 and test.json["status"] == "queued"
    delivery = db.session.get(Delivery, test.json["delivery_id"])
    assert delivery.kind == "test" and delivery.data["subscription_id"] == body["id"]

    deleted = client.delete(f"{URL}/{body['id']}", headers=headers)
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert client.get(URL).json == {"subscriptions": []}
    gone = client.delete(f"{URL}/{body['id']}", headers=headers)
    assert gone.status_code == 404 and gone.json["error"]["code"] == "not_found"


def test_someone_elses_device_is_404(client, session_user, service, vapid):
    _user, headers = session_user
    other = make_user()
    row, _ = push.subscribe(other, service.subscribe(server_key=vapid).to_json(), None)
    for method, path in (("delete", f"{URL}/{row.id}"), ("post", f"{URL}/{row.id}/test")):
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 404, path
        assert response.is_json
    assert client.get(URL).json == {"subscriptions": []}
    assert db.session.get(PushSubscription, row.id) is not None
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_anonymous_is_401_json(client, service, vapid):
    for method, path in (("get", URL), ("post", URL), ("delete", f"{URL}/1")):
        response = getattr(client, method)(path, json={})
        assert response.status_code == 401, path
        assert response.json["error"]["code"] == "authentication_required"


def test_session_writes_need_the_csrf_token(client, session_user, service, vapid):
    _user, headers = session_user
    subscription = service.subscribe(server_key=vapid).to_json()
    response = client.post(URL, json=subscription)
    assert response.status_code == 400 and response.is_json
    assert "jeton de sécurité" in response.json["error"]["message"]
    wrong = client.post(URL, json=subscription, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    assert _count() == 0


def test_a_bearer_token_needs_no_csrf(app, service, vapid):
    user = make_user()
    clear, _token = tokens.create(user, "script")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {clear}"}
    response = client.post(URL, json=service.subscribe(server_key=vapid).to_json(), headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert client.delete(f"{URL}/{response.json['id']}", headers=auth).status_code == 204


@pytest.mark.parametrize(
    ("data", "content_type", "code", "field"),
    [
        ("{not json", "application/json", "bad_json", None),
        ("", "application/json", "bad_json", None),
        ("endpoint=x", "application/x-www-form-urlencoded", "bad_json", None),
        ('"a string"', "application/json", "invalid", "subscription"),
        ('{"endpoint": "http://127.0.0.1/x"}', "application/json", "invalid", "keys"),
        (
            '{"endpoint": "http://127.0.0.1/x", "keys": {"p256dh": "AA", "auth": "AA"}}',
            "application/json",
            "invalid",
            "keys.p256dh",
        ),
    ],
)
def test_bad_bodies_are_json_errors(client, session_user, data, content_type, code, field):
    _user, headers = session_user
    response = client.post(URL, data=data, content_type=content_type, headers=headers)
    assert response.status_code == 400 and response.is_json
    error = response.json["error"]
    assert error["code"] == code and error["message"]
    if field:
        assert error["field"] == field
    assert _count() == 0


def test_internal_endpoint_refused_in_production(app, client, session_user, service, vapid):
    _user, headers = session_user
    app.config["ENV"] = "production"
    for endpoint in ("http://127.0.0.1:1/x", "https://10.0.0.1/x", "https://169.254.169.254/x"):
        subscription = {**service.subscribe(server_key=vapid).to_json(), "endpoint": endpoint}
        response = client.post(URL, json=subscription, headers=headers)
        assert response.status_code == 400, endpoint
        assert response.json["error"]["field"] == "endpoint"
    assert _count() == 0


def test_ids_that_are_no_ids_are_404(client, session_user):
    _user, headers = session_user
    huge = "9" * 30  # beyond the database's integers
    for path in (f"{URL}/abc", f"{URL}/{huge}", f"{URL}/0", f"{URL}/{huge}/test"):
        method = client.post if path.endswith("/test") else client.delete
        response = method(path, headers=headers)
        assert response.status_code == 404 and response.is_json, path
    for action in ("test", "retirer"):
        response = client.post(
            f"/profil/appareils/{huge}/{action}", data={"csrf_token": headers["X-CSRFToken"]}
        )
        assert response.status_code == 404, action


# -- the profile's forms (no JavaScript) -------------------------------------------------


def test_forms_send_a_test_and_remove(app, client, session_user, service, vapid):
    user, headers = session_user
    row, _ = push.subscribe(user, service.subscribe(server_key=vapid).to_json(), CHROME_ANDROID)
    token = headers["X-CSRFToken"]
    sent = client.post(f"/profil/appareils/{row.id}/test", data={"csrf_token": token})
    assert sent.status_code == 302 and sent.location.endswith("#push-devices")
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1
    page = client.get(sent.location.split("#")[0]).get_data(as_text=True)
    assert "Notification de test envoyée à « Chrome sur Android »" in page
    removed = client.post(f"/profil/appareils/{row.id}/retirer", data={"csrf_token": token})
    assert removed.status_code == 302
    assert push.devices(user) == []
    again = client.post(f"/profil/appareils/{row.id}/retirer", data={"csrf_token": token})
    assert again.status_code == 404 and "text/html" in again.content_type


def test_forms_refuse_someone_elses_device(client, session_user, service, vapid):
    _user, headers = session_user
    other = make_user()
    row, _ = push.subscribe(other, service.subscribe(server_key=vapid).to_json(), None)
    for action in ("test", "retirer"):
        response = client.post(
            f"/profil/appareils/{row.id}/{action}", data={"csrf_token": headers["X-CSRFToken"]}
        )
        assert response.status_code == 404
    assert db.session.get(PushSubscription, row.id) is not None


def test_forms_without_csrf_are_a_french_400(client, session_user, service, vapid):
    user, _headers = session_user
    row, _ = push.subscribe(user, service.subscribe(server_key=vapid).to_json(), None)
    response = client.post(f"/profil/appareils/{row.id}/retirer")
    assert response.status_code == 400
    assert "jeton de sécurité" in response.get_data(as_text=True)
    assert db.session.get(PushSubscription, row.id) is not None


def test_openapi_describes_the_push_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    assert set(paths[URL]) == {"get", "post"}
    assert set(paths[URL + "/{id}"]) == {"delete"}
    assert set(paths[URL + "/{id}/test"]) == {"post"}
    schemas = spec["components"]["schemas"]
    assert schemas["PushSubscriptionInput"]["required"] == ["endpoint", "keys"]
    for ref in ("PushSubscription", "PushSubscriptionList"):
        assert ref in schemas
