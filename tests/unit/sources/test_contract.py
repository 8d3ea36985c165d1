"""The MonitoringSource contract, one module for every implementation.

The demo source always runs it, and so does :class:`ZabbixSource` on a transport
that replays answers recorded from the development Zabbix (``zabbix-recorded``:
no network; ``zabbix_replay.py`` says how to record them again, with
``VIGIE_RECORD_ZABBIX=1``). A real Zabbix joins when ``VIGIE_TEST_ZABBIX_URL``
and ``VIGIE_TEST_ZABBIX_TOKEN`` are set (``make test`` sets them once the
project's Zabbix is up), so all are held to exactly the same expectations.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from tests.unit.sources import zabbix_replay
from webapp.sources.base import ChangeSet
from webapp.sources.base import Dependency
from webapp.sources.base import Host
from webapp.sources.base import HostEvent
from webapp.sources.base import HostGroup
from webapp.sources.base import Metric
from webapp.sources.base import MonitoringSource
from webapp.sources.base import Problem
from webapp.sources.base import Severity
from webapp.sources.base import SourceUnavailable
from webapp.sources.demo import DemoSource
from webapp.sources.zabbix import ZabbixSource

#: Recording replaces the replayed answers with the real Zabbix's (see zabbix_replay.py).
RECORD = os.environ.get("VIGIE_RECORD_ZABBIX") == "1"
_RECORDING: dict = {}

#: A fixed start for host_events: the recordings hold the exact parameters of each call.
EVENTS_SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def _demo(tmp_path):
    return DemoSource(state_file=tmp_path / "state.json")


def _zabbix(tmp_path):
    return ZabbixSource(
        os.environ["VIGIE_TEST_ZABBIX_URL"], token=os.environ["VIGIE_TEST_ZABBIX_TOKEN"], timeout=10
    )


@functools.cache
def _recorded_answers() -> dict:
    return zabbix_replay.load()


def _zabbix_recorded(tmp_path):
    if RECORD:
        url = os.environ.get("VIGIE_TEST_ZABBIX_URL")
        token = os.environ.get("VIGIE_TEST_ZABBIX_TOKEN")
        if not url or not token:
            pytest.fail("VIGIE_RECORD_ZABBIX=1 needs VIGIE_TEST_ZABBIX_URL and _TOKEN")
        adapter = zabbix_replay.RecordingAdapter(_RECORDING)
    else:
        url, token = zabbix_replay.REPLAY_URL, "recorded"
        adapter = zabbix_replay.ReplayAdapter(_recorded_answers())
    return ZabbixSource(
        url,
        token=token,
        timeout=10,
        groups_prefix="Membres/",  # the development estate's, as `make run` has it
        session=zabbix_replay.session(adapter, url),
    )


FACTORIES = {"demo": _demo, "zabbix-recorded": _zabbix_recorded}
if os.environ.get("VIGIE_TEST_ZABBIX_URL"):
    FACTORIES["zabbix"] = _zabbix


@pytest.fixture(scope="module", autouse=True)
def _record_zabbix():
    yield
    if RECORD and _RECORDING:
        zabbix_replay.write(_RECORDING)


@pytest.fixture(params=list(FACTORIES))
def source(request, tmp_path) -> MonitoringSource:
    return FACTORIES[request.param](tmp_path)


@pytest.fixture
def groups(source) -> list[str]:
    names = [group.name for group in source.host_groups() if source.hosts([group.name])]
    assert names, "the estate has member groups with hosts"
    return names


def test_is_a_monitoring_source(source):
    assert isinstance(source, MonitoringSource)
    assert source.name in ("demo", "zabbix")
    assert source.version().startswith("6.0")


def test_host_groups(source):
    found = source.host_groups()
    assert found and all(isinstance(g, HostGroup) for g in found)
    assert len({g.name for g in found}) == len(found)


def test_hosts_belong_to_the_requested_groups(source, groups):
    everything = source.hosts()
    assert all(isinstance(h, Host) for h in everything)
    assert len({h.hostid for h in everything}) == len(everything)
    one = source.hosts(groups[:1])
    assert one and all(groups[0] in h.groups for h in one)
    assert {h.hostid for h in one} <= {h.hostid for h in everything}
    assert source.hosts(["No such group"]) == []
    for host in one:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in host.tags)
        assert host.last_data_at is None or host.last_data_at.tzinfo is not None


def test_problems_are_typed_and_on_known_hosts(source, groups):
    ids = {h.hostid for h in source.hosts()}
    for problem in source.problems():
        assert isinstance(problem, Problem) and problem.hostid in ids
        assert isinstance(problem.severity, Severity)
        assert isinstance(problem.since, datetime) and problem.since.tzinfo is not None
    assert source.problems(["No such group"]) == []


def test_dependencies_link_known_hosts(source):
    ids = {h.hostid for h in source.hosts()}
    for dependency in source.dependencies():
        assert isinstance(dependency, Dependency)
        assert dependency.hostid in ids and dependency.depends_on in ids
        assert dependency.hostid != dependency.depends_on


def test_probe_counts_add_up(source, groups):
    every = source.probe_counts()
    some = source.probe_counts(groups)
    assert set(groups) <= set(some)
    assert all(isinstance(n, int) and n >= 0 for n in some.values())
    assert sum(some[g] for g in groups) == sum(every.get(g, 0) for g in groups)
    assert sum(some.values()) > 0


def test_last_values_are_for_the_asked_hosts(source, groups):
    hostids = [h.hostid for h in source.hosts(groups[:1])]
    metrics = source.last_values(hostids)
    assert all(isinstance(m, Metric) and m.hostid in hostids for m in metrics)


def test_changes_start_full_then_go_incremental(source):
    first = source.changes(None)
    assert isinstance(first, ChangeSet) and first.full and isinstance(first.cursor, str)
    assert {p.eventid for p in first.opened} == {p.eventid for p in source.problems()}
    second = source.changes(first.cursor)
    assert isinstance(second, ChangeSet) and not second.full


def test_host_events_are_typed_and_newest_first(source):
    router = next(h for h in source.hosts() if h.host == "sarralbe-routeur")
    events = source.host_events(router.hostid, EVENTS_SINCE)
    assert all(isinstance(e, HostEvent) and e.hostid == router.hostid for e in events)
    assert len({e.eventid for e in events}) == len(events)
    for event in events:
        assert isinstance(event.severity, Severity) and event.name
        assert event.started_at.tzinfo is not None
        assert event.started_at >= EVENTS_SINCE or event.ended_at is None
        assert event.ended_at is None or event.started_at <= event.ended_at
    starts = [e.started_at for e in events]
    assert starts == sorted(starts, reverse=True)
    assert source.host_events("999999999", EVENTS_SINCE) == []


def test_host_events_hold_the_problems_firing_now(source):
    if source.name == "demo":
        source.fail("sarralbe-routeur")
        assert source.problems()
    for problem in source.problems():
        for since in (problem.since, problem.since + timedelta(seconds=1)):
            events = {e.eventid: e for e in source.host_events(problem.hostid, since)}
            assert problem.eventid in events, "started since, or still firing"
            assert events[problem.eventid].ended_at is None
            assert events[problem.eventid].started_at == problem.since


def test_acknowledgement_times_are_aware_and_only_on_acknowledged_problems(source):
    if source.name == "demo":
        source.fail("sarralbe-routeur")
        source.acknowledge([source.problems()[0].eventid], "Pris en charge")
        assert any(p.acknowledged_at for p in source.problems())
    for problem in source.problems():
        if problem.acknowledged_at is not None:
            assert problem.acknowledged and problem.acknowledged_at.tzinfo is not None


def test_unreachable_source_raises(source, tmp_path):
    if source.name == "demo":
        source.set_outage(True)
        broken = source
    else:
        broken = ZabbixSource("http://127.0.0.1:9/api_jsonrpc.php", token="x", timeout=2)
    with pytest.raises(SourceUnavailable):
        broken.hosts()


def test_recorded_zabbix_answers_only_what_was_recorded():
    adapter = zabbix_replay.ReplayAdapter(_recorded_answers())
    url = zabbix_replay.REPLAY_URL
    source = ZabbixSource(
        url, token="recorded", groups_prefix="Membres/", session=zabbix_replay.session(adapter, url)
    )
    assert source.hosts(), "the recordings hold the development estate"
    assert "host.get" in adapter.methods
    with pytest.raises(zabbix_replay.NotRecorded):
        source.last_values(["999999999"])
