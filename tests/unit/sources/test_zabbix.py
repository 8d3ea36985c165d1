"""Unit tests of :mod:`webapp.sources.zabbix` against a fake JSON-RPC transport.

No network: a :class:`requests.adapters.BaseAdapter` mounted on the session
decodes every JSON-RPC request, records it, and answers with canned Zabbix
6.0-shaped payloads.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from tests.unit.sources.zabbix_replay import json_response
from webapp.sources.base import Availability
from webapp.sources.base import Dependency
from webapp.sources.base import HostGroup
from webapp.sources.base import MonitoringSource
from webapp.sources.base import Severity
from webapp.sources.base import SourceError
from webapp.sources.base import SourceUnavailable
from webapp.sources.zabbix import ZabbixSource

URL = "http://zabbix.test/zabbix"
TOKEN = "f3c1e0b6-token-secret"
PREFIX = "Membres/"

# -- fake transport -----------------------------------------------------------------------


@dataclass
class Raw:
    """A raw HTTP answer (status and body), bypassing JSON-RPC."""

    status: int = 200
    body: bytes = b""


@dataclass
class RpcError:
    """A JSON-RPC error answer."""

    data: str
    message: str = "Invalid params."
    code: int = -32602


@dataclass
class Call:
    method: str
    params: Any
    auth: str | None
    authorization: str | None
    timeout: Any


@dataclass
class FakeZabbix(BaseAdapter):
    """Answer JSON-RPC calls from ``handlers`` (method -> value, callable or list)."""

    version: str = "6.0.14"
    handlers: dict[str, Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def on(self, method: str, *answers: Any) -> None:
        """Answer ``method`` with ``answers`` in turn (the last one repeats)."""
        self.handlers[method] = list(answers)

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    def params(self, method: str, index: int = 0) -> Any:
        return [call.params for call in self.calls if call.method == method][index]

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        payload = json.loads(request.body)
        method = payload["method"]
        self.calls.append(
            Call(
                method,
                payload["params"],
                payload.get("auth"),
                request.headers.get("Authorization"),
                timeout,
            )
        )
        params = payload["params"]
        if method == "apiinfo.version" and method not in self.handlers:
            answer: Any = self.version
        elif method == "problem.get" and isinstance(params, dict) and params.get("countOutput"):
            # Count of acknowledged problems among the canned ones (like Zabbix would).
            problems = self.handlers.get("problem.get", [[]])[-1]
            rows = problems if isinstance(problems, list) else []
            answer = str(sum(1 for row in rows if str(row.get("acknowledged")) == "1"))
        elif method == "user.login" and method not in self.handlers:
            answer = "session-1"
        else:
            if method not in self.handlers:
                raise AssertionError(f"unexpected Zabbix call {method}")
            answers = self.handlers[method]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if callable(answer):
            answer = answer(payload["params"])
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, Raw):
            return json_response(request, answer.status, answer.body)
        if isinstance(answer, RpcError):
            body = {
                "jsonrpc": "2.0",
                "error": {"code": answer.code, "message": answer.message, "data": answer.data},
                "id": payload["id"],
            }
        else:
            body = {"jsonrpc": "2.0", "result": answer, "id": payload["id"]}
        return json_response(request, 200, json.dumps(body).encode())

    def close(self) -> None:
        pass


@pytest.fixture
def fake() -> FakeZabbix:
    return FakeZabbix()


@pytest.fixture
def make(fake: FakeZabbix):
    sessions: list[requests.Session] = []

    def factory(**kwargs: Any) -> ZabbixSource:
        session = requests.Session()
        session.trust_env = False
        session.mount("http://zabbix.test/", fake)
        sessions.append(session)
        if "user" not in kwargs:
            kwargs.setdefault("token", TOKEN)
        kwargs.setdefault("groups_prefix", PREFIX)
        return ZabbixSource(URL, session=session, **kwargs)

    yield factory
    for session in sessions:
        session.close()


# -- canned Zabbix 6.0 answers ----------------------------------------------------------

GROUPS = [
    {"groupid": "21", "name": "Membres/sarralbe"},
    {"groupid": "22", "name": "Membres/bitche"},
    {"groupid": "4", "name": "membres/wrong-case"},  # matched by LIKE, not by the prefix
]


def group_rows(count: int) -> list[dict[str, str]]:
    return [{"groupid": str(100 + i), "name": f"Membres/m{i:02d}"} for i in range(count)]


HOSTS = [
    {
        "hostid": "10501",
        "host": "sarralbe-fw",
        "name": "Sarralbe pare-feu",
        "status": "0",
        "maintenance_status": "0",
        "tags": [{"tag": "role", "value": "firewall"}, {"tag": "site", "value": "Mairie"}],
        "inventory": {"type": "firewall", "model": "FG-60F", "location": "", "os": "FortiOS"},
        "interfaces": [
            {"type": "2", "ip": "10.1.0.1", "dns": "", "port": "161", "available": "1"},
            {"type": "1", "ip": "10.1.0.1", "dns": "", "port": "10050", "available": "0"},
        ],
        "groups": [
            {"groupid": "21", "name": "Membres/sarralbe"},
            {"groupid": "2", "name": "Linux servers"},
        ],
    },
    {
        "hostid": "10502",
        "host": "sarralbe-cam1",
        "name": "Sarralbe caméra 1",
        "status": "1",
        "maintenance_status": "1",
        "tags": [],
        "inventory": [],
        "interfaces": [
            {"type": "2", "ip": "10.1.0.20", "dns": "", "port": "161", "available": "2"}
        ],
        "groups": [{"groupid": "21", "name": "Membres/sarralbe"}],
    },
]

PROBLEMS = [
    {
        "eventid": "9001",
        "objectid": "30001",
        "name": "Caméra injoignable",
        "severity": "4",
        "clock": "1700000100",
        "acknowledged": "1",
        "suppressed": "0",
        "tags": [{"tag": "scope", "value": "availability"}],
    },
    {
        "eventid": "8990",
        "objectid": "30002",
        "name": "Disque plein",
        "severity": "2",
        "clock": "1700000000",
        "acknowledged": "0",
        "suppressed": "1",
        "tags": [],
    },
]

TRIGGER_HOSTS = [
    {"triggerid": "30001", "hosts": [{"hostid": "10502"}]},
    {"triggerid": "30002", "hosts": [{"hostid": "10503"}, {"hostid": "10501"}]},
]


MAINTENANCES = [
    {
        "maintenanceid": "7",
        "name": "Travaux mairie",
        "active_since": "1700000000",
        "active_till": "1700086400",
    },
    {
        "maintenanceid": "8",
        "name": "Bascule fibre",
        "active_since": "1699990000",
        "active_till": "1800000000",
    },
]


def script_full_read(fake: FakeZabbix) -> None:
    """Answer every call of a full read of some groups."""
    fake.on(
        "host.get",
        lambda p: [{"hostid": "10502", "maintenanceid": "7"}] if "filter" in p else HOSTS,
    )
    fake.on("maintenance.get", [MAINTENANCES[0]])
    fake.on("problem.get", PROBLEMS)
    fake.on("trigger.get", lambda params: TRIGGER_HOSTS if "triggerids" in params else [])
    fake.on(
        "item.get",
        lambda p: (
            [{"groupid": g, "rowscount": "3"} for g in p.get("groupids", [])]
            if p.get("countOutput")
            else []
        ),
    )
    fake.on("event.get", [{"eventid": "9100"}])


# -- construction, protocol, login ------------------------------------------------------


def test_satisfies_the_protocol_and_does_no_io_when_built(make, fake):
    source = make()

    assert isinstance(source, MonitoringSource)
    assert source.name == "zabbix"
    assert fake.calls == []
    assert TOKEN not in repr(source)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"user": "u"}, {"password": "p"}, {"token": "", "user": "", "password": "p"}],
)
def test_credentials_are_checked(kwargs):
    with pytest.raises(ValueError):
        ZabbixSource(URL, **kwargs)


def test_a_token_wins_over_user_and_password(make, fake):
    fake.on("hostgroup.get", GROUPS)

    make(token=TOKEN, user="vigie", password="s3cret").host_groups()

    assert "user.login" not in fake.methods()
    assert fake.calls[-1].auth == TOKEN


def test_version_needs_no_login(make, fake):
    assert make().version() == "6.0.14"

    assert fake.methods() == ["apiinfo.version"]
    assert fake.calls[0].auth is None
    assert fake.calls[0].authorization is None


def test_token_login_is_lazy_and_sent_in_the_payload_on_6_0(make, fake):
    fake.on("hostgroup.get", GROUPS)
    source = make()

    source.host_groups()
    source.host_groups()

    assert fake.methods() == ["apiinfo.version", "hostgroup.get", "hostgroup.get"]
    assert [call.auth for call in fake.calls] == [None, TOKEN, TOKEN]
    assert all(call.authorization is None for call in fake.calls)


def test_token_goes_in_a_bearer_header_and_host_groups_are_renamed_on_7_0(make, fake):
    fake.version = "7.0.5"
    fake.on("host.get", [dict(HOSTS[0], hostgroups=HOSTS[0]["groups"])])

    hosts = make(groups_prefix=None).hosts()

    call = fake.calls[-1]
    assert call.auth is None
    assert call.authorization == f"Bearer {TOKEN}"
    assert "selectHostGroups" in call.params and "selectGroups" not in call.params
    assert hosts[0].groups == ("Linux servers", "Membres/sarralbe")


def test_password_login_sends_username_and_uses_the_session(make, fake):
    fake.on("hostgroup.get", GROUPS)

    make(user="vigie", password="s3cret").host_groups()

    assert fake.methods() == ["apiinfo.version", "user.login", "hostgroup.get"]
    assert fake.params("user.login") == {"username": "vigie", "password": "s3cret"}
    assert fake.calls[-1].auth == "session-1"


def test_a_terminated_password_session_is_reopened_once(make, fake):
    fake.on("user.login", "session-1", "session-2")
    fake.on("hostgroup.get", RpcError("Session terminated, re-login, please."), GROUPS)

    groups = make(user="vigie", password="s3cret").host_groups()

    assert [g.name for g in groups] == ["Membres/bitche", "Membres/sarralbe"]
    assert fake.methods() == [
        "apiinfo.version",
        "user.login",
        "hostgroup.get",
        "apiinfo.version",
        "user.login",
        "hostgroup.get",
    ]
    assert fake.calls[-1].auth == "session-2"


def test_a_bad_token_is_a_source_error_with_the_zabbix_message(make, fake):
    fake.on("hostgroup.get", RpcError("Not authorised."))

    with pytest.raises(SourceError, match="Not authorised") as info:
        make().host_groups()

    assert not isinstance(info.value, SourceUnavailable)
    assert fake.methods().count("hostgroup.get") == 1  # no retry with a token


def test_wrong_password_is_a_source_error(make, fake):
    fake.on(
        "user.login",
        RpcError("Incorrect user name or password or account is temporarily blocked."),
    )

    with pytest.raises(SourceError, match="Incorrect user name"):
        make(user="vigie", password="nope").hosts()


def test_timeout_is_passed_to_every_request(make, fake):
    fake.on("hostgroup.get", GROUPS)

    make(timeout=3.5).host_groups()

    assert {call.timeout for call in fake.calls} == {3.5}


def test_payloads_with_secrets_are_not_logged(make, fake, caplog):
    fake.on("user.login", "session-secret")
    fake.on("hostgroup.get", GROUPS)
    caplog.set_level(logging.DEBUG)

    make(user="vigie", password="s3cret").host_groups()

    assert "s3cret" not in caplog.text
    assert "session-secret" not in caplog.text
    assert "hostgroup.get" in caplog.text


def test_calls_and_their_time_are_counted_failed_ones_too(make, fake):
    fake.on("hostgroup.get", GROUPS, requests.ConnectionError("Connection refused"))
    source = make()

    source.host_groups()
    with pytest.raises(SourceUnavailable):
        source.refresh()
        source.host_groups()

    assert source.calls == 2, "the login's apiinfo.version is not an API call of ours"
    assert source.call_time_s > 0.0


# -- error mapping ------------------------------------------------------------------------


def test_connection_error_is_source_unavailable(make, fake):
    fake.on("hostgroup.get", requests.ConnectionError("Connection refused"))

    with pytest.raises(SourceUnavailable):
        make().host_groups()


def test_refused_tcp_connection_is_source_unavailable():
    with socket.socket() as sock:  # find a local port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    session = requests.Session()
    session.trust_env = False
    try:
        source = ZabbixSource(f"http://127.0.0.1:{port}/", token=TOKEN, session=session)
        with pytest.raises(SourceUnavailable):
            source.version()
    finally:
        session.close()


def test_timeout_is_source_unavailable(make, fake):
    fake.on("problem.get", requests.ReadTimeout("read timed out"))

    with pytest.raises(SourceUnavailable):
        make(groups_prefix=None).problems()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_http_5xx_is_source_unavailable(make, fake, status):
    fake.on("hostgroup.get", Raw(status, b"<html>Bad Gateway</html>"))

    with pytest.raises(SourceUnavailable, match=str(status)):
        make().host_groups()


@pytest.mark.parametrize("status", [403, 404, 412])
def test_http_4xx_is_a_plain_source_error(make, fake, status):
    fake.on("hostgroup.get", Raw(status, b"nope"))

    with pytest.raises(SourceError) as info:
        make().host_groups()

    assert not isinstance(info.value, SourceUnavailable)


@pytest.mark.parametrize(
    "answer",
    [
        Raw(200, b"<!DOCTYPE html><html><body>Zabbix frontend</body></html>"),
        Raw(200, b""),
        Raw(200, b'{"jsonrpc": "2.0", "id": 0}'),
        Raw(200, b"42"),
        Raw(200, b'{"jsonrpc": "2.0", "error": "boom", "id": 0}'),
    ],
    ids=["html", "empty", "no-result", "not-an-object", "bad-error"],
)
def test_malformed_payload_is_a_plain_source_error(make, fake, answer):
    fake.on("hostgroup.get", answer)

    with pytest.raises(SourceError) as info:
        make().host_groups()

    assert not isinstance(info.value, SourceUnavailable)


@pytest.mark.parametrize(
    ("method", "answer", "call"),
    [
        ("hostgroup.get", [{"groupid": "1"}], lambda s: s.host_groups()),
        ("host.get", [{"hostid": "1", "host": "x"}], lambda s: s.hosts()),
        ("host.get", {"hostid": "1"}, lambda s: s.hosts()),
        ("problem.get", [{"eventid": "1"}], lambda s: s.problems()),
        ("problem.get", [dict(PROBLEMS[0], severity="9")], lambda s: s.problems()),
        ("maintenance.get", [{"maintenanceid": "7"}], lambda s: s.maintenances()),
        ("event.get", [{"eventid": "x"}], lambda s: s.changes("5")),
        (
            "problem.get",
            [dict(PROBLEMS[0], acknowledges=[{"clock": "1700000500"}])],
            lambda s: s.problems(),
        ),
        ("event.get", [{"eventid": "9300"}], lambda s: s.host_events("10501", SINCE)),
    ],
    ids=[
        "group",
        "host",
        "host-not-list",
        "problem",
        "severity",
        "maintenance",
        "event",
        "acknowledge",
        "host-event",
    ],
)
def test_missing_fields_are_source_errors_not_key_errors(make, fake, method, answer, call):
    script_full_read(fake)
    fake.on("host.get", [{"hostid": "10501", "maintenanceid": "7"}])
    fake.on(method, answer)

    with pytest.raises(SourceError):
        call(make(groups_prefix=None))


# -- host groups and hosts --------------------------------------------------------------


def test_host_groups_are_filtered_on_the_prefix(make, fake):
    fake.on("hostgroup.get", GROUPS)

    groups = make().host_groups()

    assert groups == [HostGroup("22", "Membres/bitche"), HostGroup("21", "Membres/sarralbe")]
    assert fake.params("hostgroup.get") == {
        "output": ["groupid", "name"],
        "search": {"name": PREFIX},
        "startSearch": True,
    }


def test_hosts_request_and_parsing(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on("host.get", HOSTS)

    cam, fw = make().hosts(["Membres/sarralbe"])  # sorted by visible name

    params = fake.params("host.get")
    assert params["groupids"] == ["21"]
    assert params["output"] == ["hostid", "host", "name", "status", "maintenance_status"]
    assert params["selectTags"] == ["tag", "value"]
    assert params["selectInterfaces"] == ["type", "ip", "dns", "port", "available"]
    assert params["selectGroups"] == ["groupid", "name"]
    assert params["selectInventory"] == ["type", "type_full"], "only what Vigie reads"

    assert (fw.hostid, fw.host, fw.name) == ("10501", "sarralbe-fw", "Sarralbe pare-feu")
    assert fw.groups == ("Membres/sarralbe",)  # "Linux servers" is not visible
    assert fw.tag("role") == "firewall"
    assert fw.inventory_value("model") is None  # not asked for: not kept
    assert fw.inventory_value("location") is None  # empty fields are dropped
    assert [(i.type, i.available) for i in fw.interfaces] == [
        ("snmp", Availability.AVAILABLE),
        ("agent", Availability.UNKNOWN),
    ]
    assert fw.available is Availability.AVAILABLE
    assert fw.enabled and not fw.in_maintenance

    assert cam.inventory == ()  # inventory disabled: Zabbix sends []
    assert cam.available is Availability.UNAVAILABLE
    assert not cam.enabled and cam.in_maintenance


def test_unchanged_rows_give_back_the_same_host_objects(make, fake):
    changed = [dict(HOSTS[0], name="Sarralbe pare-feu principal"), HOSTS[1]]
    fake.on("hostgroup.get", GROUPS)
    fake.on("host.get", HOSTS, HOSTS, changed)
    source = make()

    first = source.hosts(["Membres/sarralbe"])
    second = source.hosts(["Membres/sarralbe"])
    third = source.hosts(["Membres/sarralbe"])

    assert all(a is b for a, b in zip(first, second, strict=True))
    assert first == second
    cam = next(h for h in third if h.hostid == "10502")
    fw = next(h for h in third if h.hostid == "10501")
    assert cam is first[0], "the camera's row did not change"
    assert fw.name == "Sarralbe pare-feu principal" and fw is not first[1]
    source.refresh()
    assert source.hosts(["Membres/sarralbe"])[0] is not cam, "refresh() drops parsed rows"


def test_many_groups_are_read_in_two_halves_at_once(make, fake):
    groups = [{"groupid": str(100 + i), "name": f"Membres/m{i:03d}"} for i in range(80)]

    def host_get(params):
        rows = []
        for groupid in params["groupids"]:
            index = int(groupid) - 100
            rows.append(
                {
                    "hostid": str(20000 + index),
                    "host": f"m{index:03d}-routeur",
                    "name": f"Routeur {79 - index:03d}",
                    "status": "0",
                    "maintenance_status": "0",
                    "tags": [],
                    "inventory": [],
                    "interfaces": [],
                    "groups": [{"groupid": groupid, "name": f"Membres/m{index:03d}"}],
                }
            )
        # One host in every group: it comes back from both halves.
        rows.append(
            {
                "hostid": "30000",
                "host": "coeur",
                "name": "Coeur de réseau",
                "status": "0",
                "maintenance_status": "0",
                "tags": [],
                "inventory": [],
                "interfaces": [],
                "groups": [{"groupid": g["groupid"], "name": g["name"]} for g in groups],
            }
        )
        return rows

    fake.on("hostgroup.get", groups)
    fake.on("host.get", host_get)

    hosts = make().hosts([g["name"] for g in groups])

    halves = [set(call.params["groupids"]) for call in fake.calls if call.method == "host.get"]
    assert len(halves) == 2
    assert halves[0].isdisjoint(halves[1])
    assert halves[0] | halves[1] == {g["groupid"] for g in groups}
    assert abs(len(halves[0]) - len(halves[1])) <= 1
    assert len(hosts) == 81, "the host of both halves is kept once"
    names = [h.name for h in hosts]
    assert names == sorted(names, key=str.casefold)
    assert names[0] == "Coeur de réseau" and names[-1] == "Routeur 079"
    assert len(next(h for h in hosts if h.hostid == "30000").groups) == 80


def test_without_a_prefix_every_host_is_read_in_one_unfiltered_call(make, fake):
    groups = [{"groupid": str(100 + i), "name": f"Commune {i:03d}"} for i in range(80)]
    fake.on("hostgroup.get", groups)
    fake.on("host.get", HOSTS)
    source = make(groups_prefix=None)
    source.host_groups()  # the group cache is warm, as after probe_counts()

    hosts = source.hosts()

    (call,) = [c for c in fake.calls if c.method == "host.get"]
    assert "groupids" not in call.params, "sees groups created since the cache was filled"
    assert {h.hostid for h in hosts} == {"10501", "10502"}


def test_hosts_sort_like_a_database_collation(make, fake):
    rows = [
        dict(HOSTS[0], hostid=str(600 + i), name=name)
        for i, name in enumerate(["Zoo", "écluse", "Eau", "Ecole"])
    ]
    fake.on("hostgroup.get", GROUPS)
    fake.on("host.get", rows)

    names = [h.name for h in make().hosts(["Membres/sarralbe"])]

    assert names == ["Eau", "écluse", "Ecole", "Zoo"]


def test_few_groups_are_read_in_one_call(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on("host.get", HOSTS)

    make().hosts(["Membres/sarralbe", "Membres/bitche"])

    assert fake.methods().count("host.get") == 1


def test_group_names_are_resolved_once_per_ttl(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on("host.get", HOSTS)
    source = make()

    source.hosts(["Membres/sarralbe"])
    source.hosts(["Membres/bitche", "Membres/sarralbe"])

    assert fake.methods().count("hostgroup.get") == 1
    assert fake.params("host.get", 1)["groupids"] == ["21", "22"]


def test_unknown_groups_select_nothing_and_empty_selections_cost_nothing(make, fake):
    fake.on("hostgroup.get", GROUPS)
    source = make()

    assert source.hosts([]) == []
    assert fake.calls == []
    assert source.hosts(["Membres/nobody", "Linux servers"]) == []
    assert "host.get" not in fake.methods()
    assert source.probe_counts(["Membres/nobody"]) == {"Membres/nobody": 0}


def test_a_lone_string_is_one_group_name(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on("host.get", HOSTS)

    make().hosts("Membres/sarralbe")

    assert fake.params("host.get")["groupids"] == ["21"]


# -- problems ---------------------------------------------------------------------------


def test_problems_request_and_parsing(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on("problem.get", PROBLEMS)
    fake.on("trigger.get", TRIGGER_HOSTS)

    disk, camera = make().problems(["Membres/sarralbe", "Membres/bitche"])

    params = fake.params("problem.get")
    assert params["groupids"] == ["21", "22"]
    assert params["recent"] is False
    assert params["selectTags"] == ["tag", "value"]
    assert params["output"] == [
        "eventid",
        "objectid",
        "name",
        "severity",
        "clock",
        "acknowledged",
        "suppressed",
    ]
    trigger = fake.params("trigger.get")
    assert sorted(trigger["triggerids"]) == ["30001", "30002"]
    assert trigger["selectHosts"] == ["hostid"]

    assert camera.eventid == "9001" and camera.triggerid == "30001"
    assert camera.hostid == "10502"
    assert camera.severity is Severity.HIGH
    assert camera.since == datetime(2023, 11, 14, 22, 15, tzinfo=UTC)
    assert camera.acknowledged and not camera.suppressed
    assert camera.tags == (("scope", "availability"),)
    assert disk.hostid == "10501"  # multi-host trigger: lowest host id
    assert disk.suppressed and not disk.acknowledged


def test_trigger_hosts_are_cached_across_reads(make, fake):
    fake.on("problem.get", PROBLEMS)
    fake.on("trigger.get", TRIGGER_HOSTS)
    source = make(groups_prefix=None)

    source.problems()
    source.problems()

    assert fake.methods().count("problem.get") == 2
    assert fake.methods().count("trigger.get") == 1
    assert "groupids" not in fake.params("problem.get")


def test_problems_of_vanished_triggers_are_skipped(make, fake):
    fake.on("problem.get", PROBLEMS)
    fake.on("trigger.get", TRIGGER_HOSTS[:1])

    problems = make(groups_prefix=None).problems()

    assert [p.eventid for p in problems] == ["9001"]


def test_problems_read_when_they_were_first_acknowledged(make, fake):
    acknowledged = dict(
        PROBLEMS[0],
        acknowledges=[  # newest first, as Zabbix sorts them
            {"clock": "1700000900", "action": "6"},  # acknowledge + message
            {"clock": "1700000700", "action": "2"},  # acknowledge
            {"clock": "1700000500", "action": "4"},  # a message only
        ],
    )
    commented = dict(PROBLEMS[1], acknowledges=[{"clock": "1700000300", "action": "4"}])
    unacknowledged = dict(  # acknowledged, then unacknowledged (16): not acknowledged now
        PROBLEMS[1],
        eventid="8991",
        acknowledges=[
            {"clock": "1700000400", "action": "16"},
            {"clock": "1700000200", "action": "2"},
        ],
    )
    fake.on("problem.get", [acknowledged, commented, unacknowledged])
    fake.on("trigger.get", TRIGGER_HOSTS)

    problems = {p.eventid: p for p in make(groups_prefix=None).problems()}

    assert fake.params("problem.get")["selectAcknowledges"] == ["clock", "action"]
    assert problems["9001"].acknowledged_at == datetime(2023, 11, 14, 22, 25, tzinfo=UTC)
    assert problems["8990"].acknowledged_at is None
    assert problems["8991"].acknowledged_at is None
    # Acknowledged, but read without its updates (an event.get delta): the time is unknown.
    fake.handlers["problem.get"] = [[PROBLEMS[0]]]
    assert make(groups_prefix=None).problems()[0].acknowledged_at is None


# -- host events ------------------------------------------------------------------------

SINCE = datetime(2023, 11, 14, 22, 0, 0, 400_000, tzinfo=UTC)  # 1699999200.4

HOST_EVENTS = [
    {
        "eventid": "9300",
        "clock": "1700003000",
        "name": "Routeur injoignable",
        "severity": "4",
        "r_eventid": "0",
    },
    {
        "eventid": "9200",
        "clock": "1700002000",
        "name": "Disque plein",
        "severity": "2",
        "r_eventid": "9250",
    },
    {
        "eventid": "9100",
        "clock": "1700001000",
        "name": "Lien coupé",
        "severity": "5",
        "r_eventid": "9150",
    },  # its recovery event was housekept
]
OLDER_PROBLEMS = [
    {"eventid": "8000", "clock": "1699990000", "name": "Toner presque vide", "severity": "1"}
]


def test_host_events_request_and_parsing(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on(
        "event.get",
        lambda p: [{"eventid": "9250", "clock": "1700002600"}] if "eventids" in p else HOST_EVENTS,
    )
    fake.on("problem.get", OLDER_PROBLEMS)

    events = make().host_events("10501", SINCE)

    assert fake.methods() == [
        "apiinfo.version",
        "hostgroup.get",
        "event.get",
        "problem.get",
        "event.get",
    ]
    assert fake.params("event.get", 0) == {
        "output": ["eventid", "clock", "name", "severity", "r_eventid"],
        "source": 0,
        "object": 0,
        "hostids": ["10501"],
        "groupids": ["21", "22"],
        "value": 1,
        "time_from": 1699999201,  # whole seconds, none before since
        "sortfield": ["clock", "eventid"],
        "sortorder": "DESC",
        "limit": 1000,
    }
    assert fake.params("problem.get") == {
        "output": ["eventid", "clock", "name", "severity"],
        "source": 0,
        "object": 0,
        "hostids": ["10501"],
        "groupids": ["21", "22"],
        "recent": False,
        "time_till": 1699999200,
    }
    assert fake.params("event.get", 1) == {
        "output": ["eventid", "clock"],
        "source": 0,
        "object": 0,
        "eventids": ["9150", "9250"],
    }
    assert [(e.eventid, e.hostid, e.severity, e.started_at, e.ended_at) for e in events] == [
        ("9300", "10501", Severity.HIGH, datetime(2023, 11, 14, 23, 3, 20, tzinfo=UTC), None),
        (
            "9200",
            "10501",
            Severity.WARNING,
            datetime(2023, 11, 14, 22, 46, 40, tzinfo=UTC),
            datetime(2023, 11, 14, 22, 56, 40, tzinfo=UTC),
        ),
        (
            "8000",
            "10501",
            Severity.INFORMATION,
            datetime(2023, 11, 14, 19, 26, 40, tzinfo=UTC),
            None,
        ),
    ]
    assert events[0].name == "Routeur injoignable"


def test_host_events_without_an_ended_problem_cost_two_calls(make, fake):
    fake.on("event.get", HOST_EVENTS[:1])
    fake.on("problem.get", [])
    source = make(groups_prefix=None)

    (event,) = source.host_events("10501", SINCE.replace(tzinfo=None))  # naive: UTC

    assert event.eventid == "9300" and event.ended_at is None
    assert fake.methods() == ["apiinfo.version", "event.get", "problem.get"]
    assert fake.params("event.get")["time_from"] == 1699999201
    assert "groupids" not in fake.params("event.get")
    assert "groupids" not in fake.params("problem.get")


def test_host_events_outside_the_visible_groups_cost_nothing(make, fake):
    fake.on("hostgroup.get", [{"groupid": "4", "name": "membres/wrong-case"}])

    assert make().host_events("10501", SINCE) == []
    assert "event.get" not in fake.methods()


def test_host_events_failures_are_not_hidden(make, fake):
    fake.on("event.get", requests.ConnectionError("refused"))
    with pytest.raises(SourceUnavailable):
        make(groups_prefix=None).host_events("10501", SINCE)
    fake.on("event.get", RpcError('No permissions to call "event.get".'))
    with pytest.raises(SourceError, match="event.get"):
        make(groups_prefix=None).host_events("10501", SINCE)


# -- dependencies -----------------------------------------------------------------------

DEPENDENT_TRIGGERS = [
    {  # camera -> switch
        "triggerid": "31001",
        "hosts": [{"hostid": "10502"}],
        "dependencies": [{"triggerid": "32001"}, {"triggerid": "32002"}],
    },
    {  # same pair again through another trigger
        "triggerid": "31002",
        "hosts": [{"hostid": "10502"}],
        "dependencies": [{"triggerid": "32001"}],
    },
    {  # self dependency (agent unreachable -> ping loss on the same host)
        "triggerid": "31003",
        "hosts": [{"hostid": "10501"}],
        "dependencies": [{"triggerid": "32003"}],
    },
]
DEPENDENCY_HOSTS = [
    {"triggerid": "32001", "hosts": [{"hostid": "10600"}]},
    {"triggerid": "32002", "hosts": [{"hostid": "10601"}]},
    {"triggerid": "32003", "hosts": [{"hostid": "10501"}]},
]


def script_dependencies(fake: FakeZabbix) -> None:
    fake.on("hostgroup.get", GROUPS)
    fake.on(
        "trigger.get",
        lambda p: DEPENDENCY_HOSTS if "triggerids" in p else DEPENDENT_TRIGGERS,
    )


def test_dependencies_are_host_pairs_deduplicated_without_self_loops(make, fake):
    script_dependencies(fake)

    deps = make().dependencies(["Membres/sarralbe"])

    assert deps == [Dependency("10502", "10600"), Dependency("10502", "10601")]
    first = fake.params("trigger.get", 0)
    assert first["groupids"] == ["21"]
    assert first["selectDependencies"] == ["triggerid"]
    assert first["selectHosts"] == ["hostid"]
    assert first["dependent"] is True and first["templated"] is False
    assert sorted(fake.params("trigger.get", 1)["triggerids"]) == ["32001", "32002", "32003"]


def test_dependencies_are_cached_until_ttl_or_refresh(make, fake):
    script_dependencies(fake)
    source = make()

    source.dependencies(["Membres/sarralbe"])
    calls = len(fake.calls)
    assert source.dependencies(["Membres/sarralbe"]) == source.dependencies(["Membres/sarralbe"])
    assert len(fake.calls) == calls  # no new trigger.get within the TTL

    source.refresh()
    source.dependencies(["Membres/sarralbe"])
    assert fake.methods().count("trigger.get") == 4  # both lookups again


def test_cached_groups_and_dependencies_expire_after_the_ttl(make, fake):
    script_dependencies(fake)
    source = make(cache_ttl=0.05)

    source.dependencies(["Membres/sarralbe"])
    source.dependencies(["Membres/sarralbe"])
    assert fake.methods().count("trigger.get") == 2  # within the TTL: cached
    time.sleep(0.1)
    source.dependencies(["Membres/sarralbe"])

    assert fake.methods().count("hostgroup.get") == 2
    assert fake.methods().count("trigger.get") == 3  # the dependency's hosts are remembered


def test_a_zero_ttl_disables_the_dependency_cache(make, fake):
    script_dependencies(fake)
    source = make(cache_ttl=0)

    source.dependencies(["Membres/sarralbe"])
    source.dependencies(["Membres/sarralbe"])

    trigger_calls = [c.params for c in fake.calls if c.method == "trigger.get"]
    assert ["triggerids" in p for p in trigger_calls] == [False, True, False]  # hosts remembered


# -- maintenances -------------------------------------------------------------------------


def test_maintenances_in_effect_come_from_the_hosts(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on(
        "host.get",
        [
            {"hostid": "10502", "maintenanceid": "7"},
            {"hostid": "10501", "maintenanceid": "7"},
            {"hostid": "10503", "maintenanceid": "8"},
        ],
    )
    fake.on("maintenance.get", MAINTENANCES)

    fibre, works = make().maintenances(["Membres/sarralbe"])

    hosts = fake.params("host.get")
    assert hosts["filter"] == {"maintenance_status": "1"}
    assert hosts["groupids"] == ["21"]
    assert hosts["output"] == ["hostid", "maintenanceid"]
    assert fake.params("maintenance.get")["maintenanceids"] == ["7", "8"]
    assert works.hostids == ("10501", "10502")
    assert works.active_since == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert works.active_till.tzinfo is UTC
    assert fibre.hostids == ("10503",)


def test_no_host_in_maintenance_costs_one_call(make, fake):
    fake.on("host.get", [])

    assert make(groups_prefix=None).maintenances() == []
    assert "maintenance.get" not in fake.methods()


# -- probe counts ---------------------------------------------------------------------------


def test_probe_counts_count_enabled_items_per_group(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on(
        "host.get",
        [
            {"hostid": "1", "groups": [{"groupid": "21", "name": "Membres/sarralbe"}]},
            {
                "hostid": "2",
                "groups": [
                    {"groupid": "21", "name": "Membres/sarralbe"},
                    {"groupid": "22", "name": "Membres/bitche"},
                    {"groupid": "2", "name": "Linux servers"},
                ],
            },
        ],
    )
    # A Zabbix that would not group the count: the documented item listing is used.
    fake.on("item.get", [{"rowscount": "8"}], [{"hostid": "1"}] * 3 + [{"hostid": "2"}] * 5)
    source = make()

    counts = source.probe_counts(["Membres/sarralbe", "Membres/bitche", "Membres/vide"])

    assert counts == {"Membres/sarralbe": 8, "Membres/bitche": 5, "Membres/vide": 0}
    items = fake.params("item.get", 1)
    assert items == {"output": ["hostid"], "monitored": True, "groupids": ["21", "22"]}
    hosts = fake.params("host.get")
    assert hosts["filter"] == {"status": "0"} and hosts["selectGroups"] == ["groupid", "name"]

    calls = len(fake.calls)
    assert source.probe_counts(["Membres/sarralbe", "Membres/bitche", "Membres/vide"]) == counts
    assert len(fake.calls) == calls  # cached


# -- last values ----------------------------------------------------------------------------


def test_last_values_merge_key_prefixes_and_tagged_items(make, fake):
    fake.on("hostgroup.get", GROUPS)
    by_prefix = [
        {
            "itemid": "1",
            "hostid": "10501",
            "key_": "vfs.fs.size[/,pfree]",
            "name": "Libre /",
            "lastvalue": "42.5",
            "units": "%",
            "lastclock": "1700000000",
        },
        {
            "itemid": "2",
            "hostid": "10501",
            "key_": "icmppingsec",
            "name": "Latence",
            "lastvalue": "0",
            "units": "s",
            "lastclock": "0",
        },
    ]
    tagged = [
        by_prefix[0],
        {
            "itemid": "3",
            "hostid": "10502",
            "key_": "camera.fps",
            "name": "Images/s",
            "lastvalue": "25",
            "units": "",
            "lastclock": "1700000060",
        },
    ]
    fake.on("item.get", lambda p: tagged if "tags" in p else by_prefix)

    metrics = make().last_values(["10502", "10501", "10501"])

    assert [(m.hostid, m.key) for m in metrics] == [
        ("10501", "icmppingsec"),
        ("10501", "vfs.fs.size[/,pfree]"),
        ("10502", "camera.fps"),
    ]
    assert metrics[0].clock is None
    assert metrics[1].value == "42.5" and metrics[1].units == "%"
    assert metrics[1].clock == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    search, tags = fake.params("item.get", 0), fake.params("item.get", 1)
    assert search["hostids"] == ["10501", "10502"]
    assert search["groupids"] == ["21", "22"]
    assert search["search"] == {"key_": ["vfs.fs.size", "icmppingsec", "system.uptime", "net.if"]}
    assert search["startSearch"] is True
    assert search["output"] == [
        "itemid",
        "hostid",
        "key_",
        "name",
        "lastvalue",
        "units",
        "lastclock",
    ]
    assert tags["tags"] == [{"tag": "vigie:key", "operator": 4}]


def test_last_values_of_no_host_cost_nothing(make, fake):
    assert make().last_values([]) == []
    assert fake.calls == []


# -- changes --------------------------------------------------------------------------------


def test_changes_without_cursor_reads_the_cursor_before_the_problems(make, fake):
    fake.on("event.get", [{"eventid": "9100"}])
    fake.on("problem.get", PROBLEMS)
    fake.on("trigger.get", TRIGGER_HOSTS)

    change = make(groups_prefix=None).changes(None)

    assert change.full is True
    assert change.cursor == "9100"
    assert {p.eventid for p in change.opened} == {"9001", "8990"}
    assert change.closed == ()
    assert change.read_at is not None and change.read_at.tzinfo is UTC
    assert fake.methods().index("event.get") < fake.methods().index("problem.get")
    assert fake.params("event.get") == {
        "output": ["eventid"],
        "source": 0,
        "object": 0,
        "sortfield": ["eventid"],
        "sortorder": "DESC",
        "limit": 1,
    }


def test_changes_since_a_cursor(make, fake):
    events = [
        dict(PROBLEMS[0], eventid="9101", value="1", hosts=[{"hostid": "10502"}]),
        {
            "eventid": "9102",
            "objectid": "30002",
            "name": "Disque plein",
            "severity": "2",
            "clock": "1700000200",
            "acknowledged": "0",
            "suppressed": "0",
            "value": "0",
            "tags": [],
            "hosts": [{"hostid": "10501"}],
        },
        {
            "eventid": "9105",
            "objectid": "30009",
            "name": "Lien coupé",
            "severity": "5",
            "clock": "1700000300",
            "acknowledged": "0",
            "suppressed": "0",
            "value": "0",
            "tags": [],
            "hosts": [{"hostid": "10509"}],
        },
    ]
    problems_of_recovered_triggers = [
        {"eventid": "8990", "r_eventid": "9102"},
        {"eventid": "8991", "r_eventid": "9102"},  # one OK event closing two problems
        {"eventid": "9050", "r_eventid": "9105"},
        {"eventid": "8000", "r_eventid": "8500"},  # closed long ago by another event
        {"eventid": "9103", "r_eventid": "0"},  # still open
    ]
    fake.on("hostgroup.get", GROUPS)
    fake.on(
        "event.get",
        lambda p: problems_of_recovered_triggers if "objectids" in p else events,
    )

    change = make().changes("9100")

    delta = fake.params("event.get", 0)
    assert delta["eventid_from"] == "9101"
    assert delta["value"] == [0, 1]
    assert (delta["source"], delta["object"]) == (0, 0)
    assert delta["sortfield"] == ["eventid"] and delta["sortorder"] == "ASC"
    assert delta["selectTags"] == ["tag", "value"]
    assert delta["selectHosts"] == ["hostid"]
    assert delta["groupids"] == ["21", "22"]
    closing = fake.params("event.get", 1)
    assert closing["value"] == 1
    assert closing["objectids"] == ["30002", "30009"]
    assert closing["problem_time_from"] == 1700000200
    assert closing["problem_time_till"] == 1700000300
    assert closing["eventid_till"] == "9105"
    assert closing["output"] == ["eventid", "r_eventid"]

    assert change.full is False
    assert change.cursor == "9105"
    assert [(p.eventid, p.hostid, p.severity) for p in change.opened] == [
        ("9101", "10502", Severity.HIGH)
    ]
    assert change.closed == ("8990", "8991", "9050")
    assert "trigger.get" not in fake.methods()  # hosts came with the events


def test_changes_with_nothing_new_keep_the_cursor_in_one_call(make, fake):
    fake.on("event.get", [])

    change = make(groups_prefix=None).changes("9100")

    assert (change.cursor, change.opened, change.closed, change.full) == ("9100", (), (), False)
    assert fake.methods() == ["apiinfo.version", "event.get"]


@pytest.mark.parametrize("cursor", ["not-a-number", "-3"])
def test_an_unusable_cursor_means_a_full_read(make, fake, cursor):
    fake.on("event.get", [{"eventid": "9100"}])
    fake.on("problem.get", [])

    change = make(groups_prefix=None).changes(cursor)

    assert change.full and change.cursor == "9100"


def test_too_many_events_since_the_cursor_means_a_full_read(make, fake):
    many = [
        {
            "eventid": str(200 + i),
            "objectid": "1",
            "name": "x",
            "severity": "1",
            "clock": "1700000000",
            "value": "1",
            "hosts": [{"hostid": "1"}],
        }
        for i in range(4)
    ]
    fake.on("event.get", lambda p: many if "eventid_from" in p else [{"eventid": "9999"}])
    fake.on("problem.get", [])

    change = make(groups_prefix=None, max_events=3).changes("100")

    assert fake.params("event.get", 0)["limit"] == 4
    assert change.full and change.cursor == "9999"


# -- acknowledge ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "close", "action"),
    [("Intervention prévue", False, 6), ("Réparé", True, 7), ("  ", False, 2)],
)
def test_acknowledge(make, fake, message, close, action):
    fake.on("event.acknowledge", {"eventids": ["9001", "8990"]})

    make().acknowledge(["9001", "8990", "9001"], message, close=close)

    params = fake.params("event.acknowledge")
    assert params["eventids"] == ["9001", "8990"]
    assert params["action"] == action
    assert params.get("message") == (message if message.strip() else None)


def test_acknowledge_nothing_sends_nothing(make, fake):
    make().acknowledge([], "x")
    assert fake.calls == []


def test_acknowledge_refused_is_a_source_error(make, fake):
    fake.on(
        "event.acknowledge",
        RpcError("Cannot close problem: trigger does not allow manual closing.", "No permissions"),
    )

    with pytest.raises(SourceError, match="manual closing"):
        make().acknowledge(["9001"], "x", close=True)


# -- cost of a full read --------------------------------------------------------------------


def full_read(source: ZabbixSource, groups: list[str]) -> None:
    source.hosts(groups)
    source.problems(groups)
    source.dependencies(groups)
    source.maintenances(groups)
    source.probe_counts(groups)
    source.changes("9000")


@pytest.mark.parametrize("count", [1, 50])
def test_a_full_read_costs_the_same_for_any_number_of_groups(make, fake, count):
    rows = group_rows(count)
    fake.on("hostgroup.get", rows)
    script_full_read(fake)
    fake.on("event.get", [])

    full_read(make(), [row["name"] for row in rows])

    assert sorted(fake.methods()) == sorted(
        [
            "apiinfo.version",
            "hostgroup.get",
            "host.get",  # hosts
            "problem.get",
            "trigger.get",  # trigger -> host of the problems
            "trigger.get",  # dependencies
            "host.get",  # hosts in maintenance
            "maintenance.get",  # their maintenances
            "item.get",  # probe counts: enabled items counted per group
            "event.get",  # changes since the cursor
        ]
    )
    groupids = [row["groupid"] for row in rows]
    for call in fake.calls:
        if "groupids" in call.params:
            assert call.params["groupids"] == groupids


def test_a_second_full_read_uses_the_caches(make, fake):
    rows = group_rows(5)
    fake.on("hostgroup.get", rows)
    script_full_read(fake)
    fake.on("event.get", [])
    source = make()
    names = [row["name"] for row in rows]

    full_read(source, names)
    before = len(fake.calls)
    full_read(source, names)

    assert sorted(fake.methods()[before:]) == [
        "event.get",
        "host.get",
        "host.get",
        "maintenance.get",
        "problem.get",
    ]


def test_protocol_methods_have_no_unbounded_call_paths(make, fake):
    # Every public read is covered above; this guards against accidental per-group loops.
    called: list[Callable[[ZabbixSource], Any]] = [
        lambda s: s.host_groups(),
        lambda s: s.hosts(None),
        lambda s: s.problems(None),
        lambda s: s.last_values(["1", "2", "3"]),
    ]
    rows = group_rows(30)
    fake.on("hostgroup.get", rows)
    script_full_read(fake)
    source = make()
    for call in called:
        before = len(fake.calls)
        call(source)
        assert len(fake.calls) - before <= 3


def test_an_acknowledgement_made_in_zabbix_triggers_a_full_read(make, fake):
    # Acknowledgements create no event: a quiet delta compares the count of
    # acknowledged problems with the last full read (one cheap countOutput call).
    source = make(groups_prefix=None)
    fake.on("event.get", [{"eventid": "9100"}])
    fake.on("problem.get", PROBLEMS)
    fake.on("trigger.get", TRIGGER_HOSTS)
    source.changes(None)  # PROBLEMS hold one acknowledged problem
    fake.handlers["event.get"] = [[]]
    quiet = source.changes("9100")
    assert not quiet.full
    count_params = [c.params for c in fake.calls if c.method == "problem.get"][-1]
    assert count_params["countOutput"] is True and count_params["acknowledged"] is True
    acked_both = [dict(row, acknowledged="1") for row in PROBLEMS]
    fake.handlers["problem.get"] = [acked_both]
    fake.handlers["event.get"] = [[], [{"eventid": "9100"}]]
    delta = source.changes("9100")
    assert delta.full and all(p.acknowledged for p in delta.opened)


def test_probe_counts_in_one_grouped_count(make, fake):
    fake.on("hostgroup.get", GROUPS)
    fake.on(
        "item.get", [{"groupid": "21", "rowscount": "490"}, {"groupid": "22", "rowscount": "399"}]
    )
    source = make()

    counts = source.probe_counts(["Membres/sarralbe", "Membres/bitche", "Membres/vide"])

    assert counts == {"Membres/sarralbe": 490, "Membres/bitche": 399, "Membres/vide": 0}
    assert fake.params("item.get") == {
        "countOutput": True,
        "groupCount": True,
        "monitored": True,
        "groupids": ["21", "22"],
    }
    assert "host.get" not in fake.methods(), "no listing of hosts nor of 50,000 items"
