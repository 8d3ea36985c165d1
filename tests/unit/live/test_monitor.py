"""The Monitor: full reads, resyncs that find nothing new, and what reaches the store."""

from __future__ import annotations

import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from webapp.live.monitor import Monitor
from webapp.live.snapshot import Snapshot
from webapp.live.snapshot import read_full
from webapp.sources.base import ChangeSet
from webapp.sources.base import Host
from webapp.sources.base import Maintenance
from webapp.sources.base import Problem
from webapp.sources.base import Severity

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class StubSource:
    """Answers with new (equal) objects on every call, like a remote API without a cache."""

    name = "stub"

    def __init__(self, concurrent: bool = False) -> None:
        self.concurrent_reads = concurrent
        self.problem_names = ["Disque plein"]
        self.calls = 0
        self.threads: dict[str, int] = {}

    def _note(self, method: str) -> None:
        self.calls += 1
        self.threads[method] = threading.get_ident()

    def hosts(self, groups=None):
        self._note("hosts")
        return [Host(hostid="1", host="nas", name="NAS", groups=("Membres/a",))]

    def changes(self, cursor):
        self._note("changes")
        problems = tuple(
            Problem(str(i), "1", "t", name, Severity.HIGH, T0)
            for i, name in enumerate(self.problem_names)
        )
        return ChangeSet(cursor="c", opened=problems, full=cursor is None)

    def dependencies(self, groups=None):
        self._note("dependencies")
        return []

    def maintenances(self, groups=None):
        self._note("maintenances")
        return []

    def probe_counts(self, groups=None):
        self._note("probe_counts")
        return {"Membres/a": 12}


class MemoryStore:
    """The Redis store's contract, in memory; ``lose()`` empties it like a Redis restart."""

    def __init__(self) -> None:
        self.stored = None
        self.sent: list[tuple[object, int]] = []

    def publish(self, snapshot, health) -> bool:
        self.sent.append((snapshot, health.version))
        if snapshot is not None:
            self.stored = snapshot
        return self.stored is not None

    def lose(self) -> None:
        self.stored = None


def test_a_resync_that_finds_nothing_new_keeps_the_snapshot_object():
    source = StubSource()
    monitor = Monitor(source, 5.0)
    first = monitor.refresh(full=True)
    again = monitor.refresh(full=True)
    assert source.calls == 10, "both were real full reads"
    assert again is first, "equal rows: the same object, so every cache stays valid"
    source.problem_names.append("Ventilateur en panne")
    changed = monitor.refresh(full=True)
    assert changed is not first
    assert [p.name for p in changed.problems] == ["Disque plein", "Ventilateur en panne"]


def test_time_alone_can_change_what_an_equal_estate_shows():
    silent = Host("1", "cam", "Caméra", ("Membres/a",), last_data_at=T0 - timedelta(minutes=5))
    window = Maintenance(
        "m1", "Travaux", ("1",), T0 - timedelta(hours=1), T0 + timedelta(minutes=5)
    )

    def snapshot(at: datetime, maintenances=()) -> Snapshot:
        return Snapshot(at, (silent,), (), (), tuple(maintenances), {})

    assert snapshot(T0).same_estate(snapshot(T0 + timedelta(minutes=1)), 600)
    assert not snapshot(T0).same_estate(snapshot(T0 + timedelta(minutes=6)), 600), (
        "silent for 11 min > 10 min: the host turns unknown"
    )
    assert not snapshot(T0, [window]).same_estate(
        snapshot(T0 + timedelta(minutes=6), [window]), 3600
    ), "the maintenance window ended in between"
    assert snapshot(T0).timed_state(600, at=T0 + timedelta(minutes=6)) == (
        frozenset({"1"}),
        frozenset(),
    )


def test_only_a_new_snapshot_is_sent_to_the_store_and_a_lost_one_is_sent_again():
    source = StubSource()
    store = MemoryStore()
    monitor = Monitor(source, 5.0, store=store)
    first = monitor.refresh(full=True)
    monitor.refresh(full=True)
    monitor.refresh()  # quiet (incremental) cycle
    assert [s for s, _ in store.sent] == [first, None, None]
    versions = {v for _, v in store.sent}
    assert len(versions) == 1, "readers fetch the snapshot again only when the version moves"

    store.lose()
    monitor.refresh()
    assert store.stored is first, "sent again once Redis had lost it"
    assert store.sent[-1][1] > store.sent[0][1]

    source.problem_names = []
    fresh = monitor.refresh(full=True)
    assert store.sent[-1] == (fresh, store.sent[-1][1]) and store.stored is fresh


def test_a_reader_follows_the_store_without_fetching_an_unchanged_snapshot():
    source = StubSource()
    store = MemoryStore()
    owner = Monitor(source, 5.0, store=store)
    fetched = []

    class Reading:
        def health(self):
            from webapp.live.store import Health

            return Health(owner.last_success, owner.last_error, owner.last_attempt, owner._version)

        def snapshot(self):
            fetched.append(store.stored)
            return store.stored

    reader = Monitor(StubSource(), 5.0, store=Reading(), reader=True)
    owner.refresh(full=True)
    assert reader.refresh() is store.stored
    owner.refresh(full=True)
    owner.refresh()
    reader.refresh()
    reader.refresh()
    assert len(fetched) == 1


def test_a_concurrent_source_reads_its_hosts_beside_the_rest():
    source = StubSource(concurrent=True)
    snapshot, cursor = read_full(source)
    sequential, _ = read_full(StubSource())
    assert snapshot.hosts == sequential.hosts and snapshot.problems == sequential.problems
    assert cursor == "c"
    assert source.threads["hosts"] != source.threads["changes"]
    assert source.threads["changes"] == threading.get_ident()


def test_the_source_is_built_on_first_use_and_a_wrong_setting_shows_as_an_error():
    from webapp.sources.base import SourceConfigError

    built = []

    def factory():
        built.append(True)
        if len(built) == 1:
            raise SourceConfigError("VIGIE_ZABBIX_TOKEN manque")
        return StubSource()

    monitor = Monitor(None, 5.0, factory=factory)
    assert built == []  # attached to the app, never read: never built
    assert monitor.refresh() is None
    assert monitor.last_error == "VIGIE_ZABBIX_TOKEN manque"
    assert monitor.refresh() is not None and monitor.last_error is None
    assert monitor.source is monitor.source and len(built) == 2
