"""The OpenAPI document against the code: pool orders and contribution statements.

Each documented response is produced by really calling the endpoint in the test app, and
its body is checked against the documented schema: an object has exactly the documented
properties (no more, no fewer), the required ones among them, values of the documented
types, enums and formats. Error bodies follow the shared ``Error`` component, and their
``code`` is named in the response's description. So the document cannot drift from the
code unnoticed.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from datetime import datetime
from pathlib import Path

import pytest

from tests import factories
from tests.conftest import csrf_from
from webapp.services import contributions
from webapp.services import tokens

DOCUMENT = Path(__file__).resolve().parents[2] / "webapp" / "openapi.json"
ORDERS = "/api/v1/members/{slug}/pool-orders"
APPROVE = "/api/v1/pool-orders/{id}/approve"
REJECT = "/api/v1/pool-orders/{id}/reject"
CANCEL = "/api/v1/pool-orders/{id}/cancel"
STATEMENT = "/api/v1/members/{slug}/contributions/{year}"
NEW_OPERATIONS = {
    ORDERS: {"get", "post"},
    APPROVE: {"post"},
    REJECT: {"post"},
    CANCEL: {"post"},
    STATEMENT: {"get"},
}
TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def bearer(user) -> dict:
    clear, _row = tokens.create(user, "tests")
    return {"Authorization": f"Bearer {clear}"}


def with_agreement(member):
    """A current supervision agreement, without which no order can be placed."""
    factories.make_agreement(member)
    return member


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


# -- the document ---------------------------------------------------------------------


def _refs(node, where="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield where, value
            else:
                yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def _pointer(spec: dict, ref: str):
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_the_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    if importlib.util.find_spec("openapi_spec_validator") is not None:
        from openapi_spec_validator import validate

        validate(spec)
    refs = list(_refs(spec))
    assert refs
    for where, ref in refs:
        assert _pointer(spec, ref) is not None, where
    operation_ids = [
        operation["operationId"]
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(operation_ids) == len(set(operation_ids)), "operationId are unique"


def test_the_new_paths_are_documented(spec):
    for path, methods in NEW_OPERATIONS.items():
        assert set(spec["paths"][path]) == methods, path
        for method in methods:
            operation = spec["paths"][path][method]
            declared = {p["name"] for p in map(_resolve(spec), operation.get("parameters", []))}
            assert {name[1:-1] for name in _placeholders(path)} <= declared, (path, method)
    for name in ("PoolOrder", "PoolOrderList", "PoolOrderInput", "ContributionStatement"):
        assert name in spec["components"]["schemas"], name
    # every field of an answer is always present (null when it has no value)
    for name in ("PoolOrder", "ContributionStatement", "ContributionLine", "ContributionReduction"):
        schema = spec["components"]["schemas"][name]
        assert schema["required"] == list(schema["properties"]), name
    create = spec["paths"][ORDERS]["post"]
    (key,) = [p for p in create["parameters"] if p.get("name") == "Idempotency-Key"]
    assert key["in"] == "header" and key["required"] is True
    assert {"201", "200", "400", "403", "404", "409", "422"} <= set(create["responses"])


def _placeholders(path: str) -> list[str]:
    return [part for part in path.split("/") if part.startswith("{")]


def test_the_document_is_served_as_it_is_on_disk(client, spec):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == spec


# -- checking a response against the document -----------------------------------------


def _resolve(spec):
    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            node = _pointer(spec, node["$ref"])
        return node

    return resolve


def check(spec: dict, schema: dict, value, where: str = "$") -> None:
    """``value`` is what ``schema`` documents: exactly its properties, types, enums, formats."""
    schema = _resolve(spec)(schema)
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        python = tuple(t for name in types for t in _flat(TYPES[name]))
        ok = isinstance(value, python) and not (isinstance(value, bool) and "boolean" not in types)
        assert ok, f"{where}: {value!r} is not {types}"
    if value is None:
        return
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} != {schema['const']!r}"
    if schema.get("format") == "date":
        date.fromisoformat(value)
    elif schema.get("format") == "date-time":
        datetime.fromisoformat(value)
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        assert set(value) == set(properties), (
            f"{where}: undocumented {sorted(set(value) - set(properties))}, "
            f"missing {sorted(set(properties) - set(value))}"
        )
        assert set(schema.get("required", ())) <= set(value), where
        for name, sub in properties.items():
            check(spec, sub, value[name], f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check(spec, schema["items"], item, f"{where}[{index}]")


def _flat(python):
    return python if isinstance(python, tuple) else (python,)


def check_error(spec: dict, response_doc: dict, body: dict, status: int) -> None:
    """An error body follows ``Error``; its code (and any extra key) is in the description."""
    schema = _resolve(spec)(response_doc["content"]["application/json"]["schema"])
    assert schema is spec["components"]["schemas"]["Error"]
    assert set(body) == set(schema["properties"])
    error = body["error"]
    assert set(schema["properties"]["error"]["required"]) <= set(error)
    assert error["status"] == status
    assert all(isinstance(error[k], str) and error[k] for k in ("code", "message"))
    description = response_doc["description"]
    assert error["code"] in description, (error["code"], description)
    for extra in set(error) - {"status", "code", "message"}:
        assert extra in description, (extra, description)


class Api:
    """Calls the endpoints of the document and checks each answer against it."""

    def __init__(self, client, spec: dict) -> None:
        self.client = client
        self.spec = spec

    def call(self, method: str, template: str, status: int, *, headers=None, json=None, **args):
        operation = self.spec["paths"][template][method]
        url = template.format(**args)
        response = self.client.open(url, method=method.upper(), headers=headers, json=json)
        body = response.get_json()
        assert response.status_code == status, (method, url, response.status_code, body)
        responses = operation["responses"]
        assert str(status) in responses, f"{method} {template}: {status} is not documented"
        documented = responses[str(status)]
        if status >= 400:
            check_error(self.spec, documented, body, status)
        else:
            check(self.spec, documented["content"]["application/json"]["schema"], body)
        return body

    def order(self, status, member, user, body, key="k-1", **extra):
        headers = {**bearer(user), **extra}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.call("post", ORDERS, status, headers=headers, json=body, slug=member.slug)


@pytest.fixture
def api(client, spec):
    return Api(client, spec)


@pytest.fixture
def member(app):
    return with_agreement(factories.make_member(pools=2))


# -- pool orders ----------------------------------------------------------------------


def test_placing_and_listing_orders(api, member):
    admin = factories.make_user("member_admin", member)
    viewer = factories.make_user("viewer", member)
    first = api.order(201, member, admin, {"pools": 2, "note": "Pour l'école"})
    assert first["state"] == "requested" and first["kind"] == "add"
    assert first["note"] == "Pour l'école" and first["member"] == member.slug
    again = api.order(200, member, admin, {"pools": 2, "note": "Pour l'école"})
    assert again == first
    reduction = api.order(201, member, admin, {"pools": 1, "kind": "reduce"}, key="k-2")
    assert reduction["kind"] == "reduce" and reduction["effective_on"] is not None
    listed = api.call("get", ORDERS, 200, headers=bearer(viewer), slug=member.slug)
    assert [o["id"] for o in listed["orders"]] == [reduction["id"], first["id"]]
    assert listed["orders"][1] == first


def test_order_refusals_are_documented(api, member, db):
    admin = factories.make_user("member_admin", member)
    viewer = factories.make_user("viewer", member)
    stranger = factories.make_user("member_admin", factories.make_member())
    api.order(400, member, admin, {"pools": 0})
    api.order(400, member, admin, {"pools": 1}, key=None)
    api.order(400, member, admin, {"pools": 1, "note": "x" * 2001})
    api.order(403, member, viewer, {"pools": 1})
    api.order(404, member, stranger, {"pools": 1})
    api.call("get", ORDERS, 404, headers=bearer(stranger), slug=member.slug)
    api.call("get", ORDERS, 401, slug=member.slug)
    api.call("post", ORDERS, 401, json={"pools": 1}, slug=member.slug)
    not_json = api.client.post(
        f"/api/v1/members/{member.slug}/pool-orders",
        data="pools=1",
        headers={**bearer(admin), "Idempotency-Key": "k"},
    )
    assert not_json.status_code == 400
    check_error(api.spec, api.spec["paths"][ORDERS]["post"]["responses"]["400"], not_json.json, 400)

    api.order(201, member, admin, {"pools": 1})
    assert api.order(422, member, admin, {"pools": 3})["error"]["code"] == "idempotency_key_reused"
    pending = api.order(409, member, admin, {"pools": 1}, key="k-2")["error"]
    assert pending["code"] == "order_pending" and isinstance(pending["order_id"], int)
    too_many = api.order(409, member, admin, {"pools": 3, "kind": "reduce"}, key="k-3")["error"]
    assert too_many["code"] == "below_package" and too_many["pools_left"] == 2

    bare = with_agreement(factories.make_member())  # the package only: nothing to remove
    bare_admin = factories.make_user("member_admin", bare)
    nothing = api.order(409, bare, bare_admin, {"pools": 1, "kind": "reduce"})["error"]
    assert nothing["code"] == "below_package" and nothing["pools_left"] == 0
    unsigned = factories.make_member()
    unsigned_admin = factories.make_user("member_admin", unsigned)
    assert api.order(409, unsigned, unsigned_admin, {"pools": 1})["error"]["code"] == "no_agreement"
    db.session.delete(bare.subscription)
    db.session.commit()
    assert api.order(409, bare, bare_admin, {"pools": 1})["error"]["code"] == "no_subscription"


def test_a_session_write_carries_the_csrf_token(api, member, login):
    login(factories.make_user("member_admin", member))
    api.call(
        "post", ORDERS, 400, headers={"Idempotency-Key": "s-1"}, json={"pools": 1}, slug=member.slug
    )
    token = csrf_from(api.client, "/profil/")
    created = api.call(
        "post",
        ORDERS,
        201,
        headers={"Idempotency-Key": "s-1", "X-CSRFToken": token},
        json={"pools": 1},
        slug=member.slug,
    )
    api.call("post", CANCEL, 400, id=created["id"])
    api.call("post", CANCEL, 200, headers={"X-CSRFToken": token}, id=created["id"])


def test_approving_orders(api, member):
    admin = factories.make_user("member_admin", member)
    syndicate = factories.make_user("admin")
    stranger = factories.make_user("member_admin", factories.make_member())
    addition = api.order(201, member, admin, {"pools": 1})
    reduction = api.order(201, member, admin, {"pools": 1, "kind": "reduce"}, key="k-2")
    api.call("post", APPROVE, 403, headers=bearer(admin), id=addition["id"])
    api.call(
        "post", APPROVE, 403, headers=bearer(factories.make_user("support")), id=addition["id"]
    )
    api.call("post", APPROVE, 404, headers=bearer(stranger), id=addition["id"])
    api.call("post", APPROVE, 404, headers=bearer(syndicate), id=999_999)
    api.call("post", APPROVE, 401, id=addition["id"])
    active = api.call("post", APPROVE, 200, headers=bearer(syndicate), id=addition["id"])
    assert active["state"] == "active" and active["activated_at"] and active["decided_at"]
    approved = api.call("post", APPROVE, 200, headers=bearer(syndicate), id=reduction["id"])
    assert approved["state"] == "approved" and approved["effective_on"].endswith("-01-01")
    decided = api.call("post", APPROVE, 409, headers=bearer(syndicate), id=addition["id"])
    assert decided["error"]["code"] == "order_decided" and decided["error"]["state"] == "active"


def test_rejecting_orders(api, member):
    admin = factories.make_user("member_admin", member)
    syndicate = factories.make_user("admin")
    order = api.order(201, member, admin, {"pools": 1})
    headers = bearer(syndicate)
    api.call("post", REJECT, 403, headers=bearer(admin), json={"reason": "non"}, id=order["id"])
    api.call("post", REJECT, 404, headers=headers, json={"reason": "non"}, id=999_999)
    api.call("post", REJECT, 400, headers=headers, json={}, id=order["id"])
    api.call("post", REJECT, 400, headers=headers, json={"reason": "x" * 2001}, id=order["id"])
    api.call("post", REJECT, 400, headers=headers, json=["budget"], id=order["id"])
    api.call("post", REJECT, 401, json={"reason": "non"}, id=order["id"])
    rejected = api.call(
        "post", REJECT, 200, headers=headers, json={"reason": "Budget"}, id=order["id"]
    )
    assert rejected["state"] == "rejected" and rejected["reason"] == "Budget"
    again = api.call("post", REJECT, 409, headers=headers, json={"reason": "Non"}, id=order["id"])
    assert again["error"]["state"] == "rejected"


def test_cancelling_orders(api, member):
    admin = factories.make_user("member_admin", member)
    viewer = factories.make_user("viewer", member)
    stranger = factories.make_user("member_admin", factories.make_member())
    order = api.order(201, member, admin, {"pools": 1})
    api.call("post", CANCEL, 403, headers=bearer(viewer), id=order["id"])
    api.call("post", CANCEL, 404, headers=bearer(stranger), id=order["id"])
    api.call("post", CANCEL, 401, id=order["id"])
    cancelled = api.call("post", CANCEL, 200, headers=bearer(admin), id=order["id"])
    assert cancelled["state"] == "cancelled" and cancelled["cancelled_at"]
    decided = api.call("post", CANCEL, 409, headers=bearer(admin), id=order["id"])
    assert decided["error"]["code"] == "order_decided"
    assert decided["error"]["state"] == "cancelled"


# -- contribution statements ----------------------------------------------------------


def test_contribution_statement(api, member):
    admin = factories.make_user("member_admin", member)
    syndicate = factories.make_user("admin")
    addition = api.order(201, member, admin, {"pools": 1})
    reduction = api.order(201, member, admin, {"pools": 1, "kind": "reduce"}, key="k-2")
    for order in (addition, reduction):
        api.call("post", APPROVE, 200, headers=bearer(syndicate), id=order["id"])
    year = contributions.today().year
    statement = api.call("get", STATEMENT, 200, headers=bearer(admin), slug=member.slug, year=year)
    assert statement["status"] == "in_progress" and statement["year"] == year
    assert [line["kind"] for line in statement["lines"]] == ["package", "base_pools", "pools"]
    assert statement["lines"][2]["order_id"] == addition["id"]
    assert statement["total_cents"] == sum(line["amount_cents"] for line in statement["lines"])
    (upcoming,) = statement["reductions"]
    assert upcoming["order_id"] == reduction["id"] and upcoming["upcoming"] is True
    support = bearer(factories.make_user("support"))
    before = api.call("get", STATEMENT, 200, headers=support, slug=member.slug, year=2000)
    assert before["status"] == "before_start" and before["lines"] == [] == before["reductions"]
    nxt = api.call(
        "get", STATEMENT, 200, headers=bearer(syndicate), slug=member.slug, year=year + 1
    )
    assert nxt["status"] == "forecast"


def test_contribution_statement_refusals(api, member, db):
    admin = bearer(factories.make_user("member_admin", member))
    for year in ("abc", "1999", "2101"):
        error = api.call("get", STATEMENT, 400, headers=admin, slug=member.slug, year=year)
        assert error["error"]["field"] == "year"
    viewer = bearer(factories.make_user("viewer", member))
    api.call("get", STATEMENT, 403, headers=viewer, slug=member.slug, year=2026)
    stranger = bearer(factories.make_user("member_admin", factories.make_member()))
    api.call("get", STATEMENT, 404, headers=stranger, slug=member.slug, year=2026)
    api.call("get", STATEMENT, 404, headers=stranger, slug=member.slug, year="abc")
    api.call("get", STATEMENT, 401, slug=member.slug, year=2026)
    db.session.delete(member.subscription)
    db.session.commit()
    empty = api.call("get", STATEMENT, 200, headers=admin, slug=member.slug, year=2026)
    assert empty["status"] == "no_subscription" and empty["subscription_start"] is None
