"""Smoke checks of Vigie against the development Zabbix (``make zabbix-up``).

``make test`` stands the Zabbix up first (``scripts/zabbix.sh up``); by hand::

    make zabbix-up
    .venv/bin/python -m pytest tests/zabbix -q

Without it they fail (a missing service is a failure, never a skip).

They read the env file written by ``scripts/zabbix.sh`` (``VIGIE_ZABBIX_ENV_FILE``,
default ``/var/tmp/vigie-zabbix/vigie.env``), use Vigie's own :class:`ZabbixSource` with
the least-privileged API token, and push values with ``scripts/zabbix.sh send``. The
problem they open on ``sarralbe-routeur`` is closed again before they end.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests
import tenacity
from dotenv import dotenv_values

from tests.zabbix.conftest import send
from webapp.sources.base import Severity
from webapp.sources.base import SourceError
from webapp.sources.demo import DemoSource
from webapp.sources.zabbix import ZabbixSource

pytestmark = pytest.mark.zabbix

ENV_FILE = Path(os.environ.get("VIGIE_ZABBIX_ENV_FILE", "/var/tmp/vigie-zabbix/vigie.env"))
ROUTER = "sarralbe-routeur"
ROUTER_PROBLEM = "Routeur mairie ne répond plus (ICMP)"
# What scripts/zabbix.sh provisions (scripts/zabbix_provision.py --scale default): the six
# small hand-written members, not the two large ones the portal's demo adds.
PROVISIONED_MEMBERS = 6


def _read_env() -> dict[str, str]:
    return {key: value for key, value in dotenv_values(ENV_FILE).items() if value is not None}


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    if not ENV_FILE.is_file():
        pytest.fail(f"no {ENV_FILE}: run `make zabbix-up` first")
    values = _read_env()
    # The API may answer before the database does (the shared PostgreSQL restarts during
    # other test runs): wait until an authenticated read works.
    answer = _wait_for(lambda: _try_rpc(values, "hostgroup.get", {"countOutput": True}), 30)
    if not answer or "result" not in answer:
        pytest.fail(
            f"the development Zabbix does not answer on {values['VIGIE_ZABBIX_URL']}: "
            f"{answer}; run `make zabbix-up`"
        )
    return values


def _try_rpc(env: dict[str, str], method: str, params: object) -> dict | None:
    try:
        answer = _rpc(env, method, params)
    except requests.RequestException:
        return None
    return answer if "result" in answer else None


@pytest.fixture
def source(env):
    source = ZabbixSource(
        env["VIGIE_ZABBIX_URL"],
        token=env["VIGIE_ZABBIX_TOKEN"],
        groups_prefix=env["VIGIE_ZABBIX_GROUPS_PREFIX"],
        cache_ttl=0,
    )
    yield source
    source.close()


@pytest.fixture(scope="module")
def demo() -> DemoSource:
    return DemoSource(members=PROVISIONED_MEMBERS, incidents=False)


def _rpc(env: dict[str, str], method: str, params: object) -> dict:
    answer = requests.post(
        env["VIGIE_ZABBIX_URL"],
        timeout=10,
        json={
            "jsonrpc": "2.0",
            "method": method,
            "params": params,
            "id": 1,
            "auth": env["VIGIE_ZABBIX_TOKEN"],
        },
    )
    return answer.json()


def _wait_for(predicate, timeout: float = 10.0):
    """``predicate()``'s first true value, or its last value after ``timeout``."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_fixed(0.2),
        retry=tenacity.retry_if_result(lambda value: not value),
        retry_error_callback=lambda state: state.outcome.result(),
    )
    return retrying(predicate)


def test_version_and_member_groups(source, demo):
    assert source.version().startswith("6.0.")
    assert {g.name for g in source.host_groups()} == {m.group for m in demo.members}


def test_same_estate_as_the_demo(source, demo):
    def shape(hosts):
        return {
            (
                h.host,
                h.groups,
                h.tag("role"),
                h.tag("parent"),
                h.tag("site"),
                h.inventory_value("type"),
            )
            for h in hosts
        }

    hosts = source.hosts()
    assert shape(hosts) == shape(demo.hosts())
    names = {h.host: h.name for h in demo.hosts()}
    # Zabbix wants unique visible names: repeated demo names get " (2)", " (3)"...
    assert all(h.name.startswith(names[h.host]) for h in hosts)


def test_trigger_dependencies_follow_the_parent_chain(source):
    hosts = {h.hostid: h for h in source.hosts()}
    by_name = {h.host: h.hostid for h in hosts.values()}
    pairs = {(hosts[d.hostid].host, hosts[d.depends_on].host) for d in source.dependencies()}
    expected = {(h.host, h.tag("parent")) for h in hosts.values() if h.tag("parent")}
    assert pairs == expected
    camera = next(h for h in hosts.values() if h.tag("role") == "camera")
    switch = hosts[by_name[camera.tag("parent")]]
    assert switch.tag("role") == "switch"
    assert hosts[by_name[switch.tag("parent")]].tag("role") == "router"


def test_probe_counts_match_the_demo(source, demo):
    assert source.probe_counts() == demo.probe_counts()


def test_last_values_of_a_nas(source):
    nas = next(h for h in source.hosts() if h.tag("role") == "nas")
    names = {m.name for m in source.last_values([nas.hostid])}
    assert {"Latence", "Durée de fonctionnement", "Espace disque libre"} <= names


def test_router_down_opens_a_problem_that_vigie_can_acknowledge(source):
    def router_problem():
        return next((p for p in source.problems() if p.name == ROUTER_PROBLEM), None)

    send(ROUTER, "icmp.ok", "1")
    try:
        assert _wait_for(lambda: router_problem() is None)
        send(ROUTER, "icmp.ok", "0")
        started = time.monotonic()
        problem = _wait_for(router_problem)
        assert problem is not None, "no problem within 10 s of the value 0"
        assert time.monotonic() - started < 5
        assert problem.severity == Severity.HIGH
        source.acknowledge([problem.eventid], "Pris en charge (test)")
        assert _wait_for(lambda: (router_problem() or problem).acknowledged)
        with pytest.raises(SourceError):  # closing is not among the role's actions
            source.acknowledge([problem.eventid], "", close=True)
    finally:
        send(ROUTER, "icmp.ok", "1")
    assert _wait_for(lambda: router_problem() is None)


@pytest.mark.parametrize(
    "method, params",
    [
        ("host.create", {"host": "intrus", "groups": [{"groupid": "1"}]}),
        ("host.update", {"hostid": "1", "status": 1}),
        ("user.get", {"output": ["username"]}),
        ("token.get", {}),
        ("settings.get", {}),
        ("script.execute", {"scriptid": "1", "hostid": "1"}),
    ],
)
def test_token_cannot_do_more(env, method, params):
    answer = _rpc(env, method, params)
    assert "error" in answer, answer


def test_token_sees_member_groups_only(env):
    answer = _rpc(env, "hostgroup.get", {"output": ["name"]})
    names = {row["name"] for row in answer["result"]}
    assert names and all(name.startswith("Membres/") for name in names)
