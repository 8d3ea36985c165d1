"""DemoSource: deterministic, realistic, scalable, drivable from another process."""

import copy
import subprocess
import sys
import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest

from webapp.sources.base import Availability
from webapp.sources.base import Severity
from webapp.sources.base import SourceUnavailable
from webapp.sources.base import UnknownHost
from webapp.sources.demo import DemoSource
from webapp.sources.demo.state import DemoState
from webapp.sources.demo.state import fault_times

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


def test_estate_has_six_members_of_every_kind():
    source = DemoSource(incidents=False)
    kinds = {member.kind for member in source.members}
    assert len(source.members) >= 6
    assert kinds == {"commune", "epci", "school", "public_body"}
    roles = {host.tag("role") for host in source.hosts()}
    assert {"access", "router", "switch", "ap", "server", "nas", "camera", "link"} <= roles


def test_same_seed_same_estate_and_other_seed_differs():
    a, b = DemoSource(seed=1), DemoSource(seed=1)
    assert [h.host for h in a.hosts()] == [h.host for h in b.hosts()]
    assert a.probe_counts() == b.probe_counts()
    assert DemoSource(seed=2).probe_counts() != a.probe_counts()


def test_every_parent_tag_names_a_host_of_the_same_member():
    source = DemoSource()
    by_name = {host.host: host for host in source.hosts()}
    for host in by_name.values():
        parent = host.tag("parent")
        if parent:
            assert by_name[parent].groups == host.groups


def test_scales_to_300_members_and_50000_items():
    source = DemoSource(members=300, items=50_000)
    assert len(source.host_groups()) == 300
    assert sum(source.probe_counts().values()) == 50_000


def test_natural_incidents_appear_last_and_resolve():
    clock = Clock()
    source = DemoSource(clock=clock)
    seen: dict[str, list[datetime]] = {}
    samples = range(0, 24 * 60, 5)
    for minute in samples:
        clock.now = T0 + timedelta(minutes=minute)
        for problem in source.problems():
            seen.setdefault(problem.eventid, []).append(clock.now)
    assert len(seen) > 5, "a day of the demo estate shows several incidents"
    assert any(len(times) > 1 for times in seen.values()), "incidents last several polls"
    longest = max(times[-1] - times[0] for times in seen.values())
    assert longest < timedelta(hours=1), "every incident resolves"
    clock.now = T0 + timedelta(days=2)
    assert {p.eventid for p in source.problems()}.isdisjoint(seen), "old incidents are over"


def test_incidents_are_deterministic_for_a_given_time():
    a, b = DemoSource(clock=Clock()), DemoSource(clock=Clock())
    assert a.problems() == b.problems()


def test_fail_and_repair_through_the_shared_state_file(tmp_path):
    state = tmp_path / "demo.json"
    web = DemoSource(state_file=state, incidents=False)
    cli = DemoSource(state_file=state, incidents=False)
    cli.fail("sarralbe-routeur")
    problems = web.problems(["Membres/sarralbe"])
    assert [p.name for p in problems] == ["Routeur mairie ne répond plus (ICMP)"]
    assert problems[0].severity == Severity.HIGH
    behind = [h for h in web.hosts(["Membres/sarralbe"]) if h.available == Availability.UNAVAILABLE]
    assert len(behind) > 10, "everything behind the router stops answering"
    assert cli.repair("sarralbe-routeur") is True
    assert web.problems() == []
    assert cli.repair("sarralbe-routeur") is False


def test_an_in_memory_change_never_shows_half_done_to_a_reader():
    """A reader in another thread (the poller) holds a whole state, before or after a change.

    A change made in place showed its new sequence number before its fault: a
    ``changes(cursor)`` read in between moved the cursor past the fault, which was
    then never reported (the wall kept a failed router green).
    """
    state = DemoState(None)
    state.set_faults(["10100"], failed=True, now=1.0)
    held = state.read()
    held_copy = copy.deepcopy(held)
    state.set_faults(["10200"], failed=True, now=2.0)
    state.set_faults(["10100"], failed=False, now=3.0)
    assert held == held_copy, "what a reader holds does not move under it"
    assert set(fault_times(state.read())) == {"10200"}


def test_a_cursor_follower_sees_every_fault_made_while_it_reads():
    source = DemoSource(incidents=False)
    cursor = source.changes(None).cursor
    names = [h.host for h in source.hosts() if h.host.endswith("-routeur")]
    stop = threading.Event()

    def change_all_the_time() -> None:
        while not stop.is_set():
            for name in names:
                source.fail(name)
            for name in names:
                source.repair(name)

    writer = threading.Thread(target=change_all_the_time, daemon=True)
    writer.start()
    open_ids: set[str] = set()
    try:
        for _ in range(400):
            delta = source.changes(cursor)
            cursor = delta.cursor
            open_ids |= {p.eventid for p in delta.opened}
            open_ids -= set(delta.closed)
    finally:
        stop.set()
        writer.join(timeout=10)
    # Writer stopped: one more read, and the follower agrees with the source.
    open_ids |= {p.eventid for p in source.changes(cursor).opened}
    open_ids -= set(source.changes(cursor).closed)
    assert open_ids == {p.eventid for p in source.problems()}


def test_unknown_host_is_refused(tmp_path):
    source = DemoSource(state_file=tmp_path / "s.json")
    with pytest.raises(UnknownHost):
        source.fail("no-such-host")


def test_outage_makes_every_call_fail(tmp_path):
    source = DemoSource(state_file=tmp_path / "s.json")
    source.set_outage(True)
    with pytest.raises(SourceUnavailable):
        source.hosts()
    source.set_outage(False)
    assert source.hosts()


def test_changes_report_opened_and_closed_problems(tmp_path):
    clock = Clock()
    source = DemoSource(state_file=tmp_path / "s.json", clock=clock, incidents=False)
    first = source.changes(None)
    assert first.full and first.opened == ()
    clock.now += timedelta(seconds=5)
    source.fail("bitche-box")
    clock.now += timedelta(seconds=5)
    delta = source.changes(first.cursor)
    assert [p.hostid for p in delta.opened] == [source.host_by_name("bitche-box").hostid]
    assert delta.closed == ()


def test_nas_reports_free_disk():
    source = DemoSource(incidents=False)
    nas = next(h for h in source.hosts() if h.tag("role") == "nas")
    keys = {m.key for m in source.last_values([nas.hostid])}
    assert {"icmppingsec", "system.uptime", "vfs.fs.size[/,pfree]"} <= keys


def test_changes_report_repaired_faults_as_closed(tmp_path):
    clock = Clock()
    source = DemoSource(state_file=tmp_path / "s.json", clock=clock, incidents=False)
    source.fail("bitche-box")
    clock.now += timedelta(seconds=5)
    cursor = source.changes(None).cursor
    (problem,) = source.problems()
    clock.now += timedelta(seconds=5)
    source.repair("bitche-box")
    clock.now += timedelta(seconds=5)
    delta = source.changes(cursor)
    assert delta.closed == (problem.eventid,) and delta.opened == ()


def test_full_changes_carry_acknowledgements(tmp_path):
    source = DemoSource(state_file=tmp_path / "s.json", incidents=False)
    source.fail("bitche-box")
    (problem,) = source.problems()
    source.acknowledge([problem.eventid], "vu")
    assert source.changes(None).opened[0].acknowledged
    assert source.problems()[0].acknowledged


def test_acknowledge_records_when_first_acknowledged(tmp_path):
    clock = Clock()
    source = DemoSource(state_file=tmp_path / "s.json", clock=clock, incidents=False)
    source.fail("bitche-box")
    (problem,) = source.problems()
    assert problem.acknowledged_at is None
    clock.now += timedelta(minutes=3)
    source.acknowledge([problem.eventid], "vu")
    clock.now += timedelta(minutes=10)
    source.acknowledge([problem.eventid], "toujours en cours")  # the first time stays
    (acked,) = source.problems()
    assert acked.acknowledged and acked.acknowledged_at == T0 + timedelta(minutes=3)
    assert source.changes(None).opened[0].acknowledged_at == acked.acknowledged_at
    assert source.state.read()["acks"][problem.eventid][0] == "toujours en cours"


def test_acknowledgements_of_older_state_files_are_still_read(tmp_path):
    clock = Clock()
    source = DemoSource(state_file=tmp_path / "s.json", clock=clock, incidents=False)
    source.fail("bitche-box")
    (problem,) = source.problems()
    # Older versions kept the bare message, without a time.
    source.state.update(lambda data: data.setdefault("acks", {}).update({problem.eventid: "vu"}))
    (acked,) = source.problems()
    assert acked.acknowledged and acked.acknowledged_at is None
    source.acknowledge([problem.eventid], "encore")  # a time is not made up afterwards
    assert source.problems()[0].acknowledged_at is None


def test_host_events_hold_injected_faults_firing_and_repaired(tmp_path):
    clock = Clock()
    source = DemoSource(state_file=tmp_path / "s.json", clock=clock, incidents=False)
    box = source.host_by_name("bitche-box")
    source.fail("bitche-box")
    clock.now += timedelta(minutes=30)
    source.repair("bitche-box")
    clock.now += timedelta(minutes=30)
    source.warn("bitche-box")
    clock.now += timedelta(minutes=30)
    source.fail("bitche-box")
    (warning, fault) = sorted(source.problems(), key=lambda p: p.since)

    events = source.host_events(box.hostid, T0 - timedelta(days=1))

    assert [(e.started_at, e.ended_at) for e in events] == [
        (T0 + timedelta(minutes=90), None),
        (T0 + timedelta(minutes=60), None),
        (T0, T0 + timedelta(minutes=30)),
    ], "newest first, the repaired one with its end"
    assert [e.eventid for e in events[:2]] == [fault.eventid, warning.eventid]
    assert {e.hostid for e in events} == {box.hostid}
    assert events[2].name == fault.name and events[2].severity is Severity.HIGH
    # Since after the repair: only what fires now (started before, still firing).
    later = source.host_events(box.hostid, T0 + timedelta(minutes=61))
    assert [e.eventid for e in later] == [fault.eventid, warning.eventid]
    assert source.host_events(source.host_by_name("sarralbe-box").hostid, T0) == []
    assert source.host_events("no-such-host", T0) == []


def test_host_events_leave_out_repairs_of_older_state_files(tmp_path):
    clock = Clock()
    source = DemoSource(state_file=tmp_path / "s.json", clock=clock, incidents=False)
    source.fail("bitche-box")
    source.repair("bitche-box")
    # An older version wrote the history entry without the repair time: the end is unknown.
    source.state.update(lambda data: data.pop("repaired_at"))
    assert source.state.read()["history"]
    assert source.host_events(source.host_by_name("bitche-box").hostid, T0) == []
    clock.now += timedelta(seconds=5)
    source.fail("bitche-box")
    source.repair("bitche-box")  # a later repair is timed
    (event,) = source.host_events(source.host_by_name("bitche-box").hostid, T0)
    assert event.started_at == event.ended_at == T0 + timedelta(seconds=5)


def test_repair_times_are_forgotten_with_their_history_entries(monkeypatch):
    from webapp.sources.demo import state as state_module

    monkeypatch.setattr(state_module, "_HISTORY_KEPT", 5)
    state = DemoState(None)
    for n in range(8):
        state.set_faults(["10100"], failed=True, now=float(n))
        state.set_faults(["10100"], failed=False, now=n + 0.5)
    data = state.read()
    assert len(data["repaired_at"]) == len(data["history"]) == 5
    assert state_module.repairs(data)[-1] == ("10100", 7.0, 7.5)


def test_host_events_agree_with_problems_over_a_day_of_natural_incidents():
    clock = Clock()
    source = DemoSource(clock=clock)
    day = [T0 + timedelta(minutes=7 * i) for i in range(206)]
    seen_ended = False
    for host in source.hosts():
        events = source.host_events(host.hostid, T0 - timedelta(hours=1))
        assert events == sorted(events, key=lambda e: (e.started_at, e.eventid), reverse=True)
        assert len({e.eventid for e in events}) == len(events)
        for event in events:
            assert event.started_at >= T0 - timedelta(hours=1) or event.ended_at is None
            assert event.ended_at is None or event.started_at < event.ended_at <= T0
    for moment in day[::10]:
        clock.now = moment
        firing = {}
        for problem in source.problems():
            firing.setdefault(problem.hostid, set()).add(problem.eventid)
        for host in source.hosts():
            events = source.host_events(host.hostid, moment - timedelta(hours=6))
            assert {e.eventid for e in events if e.ended_at is None} == firing.get(
                host.hostid, set()
            ), (host.host, moment)
            seen_ended |= any(e.ended_at is not None for e in events)
    assert seen_ended, "the day had incidents that ended"


def test_natural_host_events_end_when_problems_stop_showing_them():
    clock = Clock()
    source = DemoSource(clock=clock)
    nas = next(h for h in source.hosts() if h.tag("role") == "nas")
    events = source.host_events(nas.hostid, T0 - timedelta(days=2))
    ended = next(e for e in events if e.ended_at is not None)
    clock.now = ended.started_at + (ended.ended_at - ended.started_at) / 2
    assert ended.eventid in {p.eventid for p in source.problems() if p.hostid == nas.hostid}
    clock.now = ended.ended_at + timedelta(seconds=1)
    assert ended.eventid not in {p.eventid for p in source.problems()}


def test_natural_host_events_go_back_a_year_at_most():
    source = DemoSource(clock=Clock())
    nas = next(h for h in source.hosts() if h.tag("role") == "nas")
    events = source.host_events(nas.hostid, datetime(2000, 1, 1))  # naive: UTC
    assert events and min(e.started_at for e in events) >= T0 - timedelta(days=366)


# A process of its own: N of them fail M distinct hosts each, one fail() at a time, all
# together, on one state file (like the CLI, the admin page and the poller do).
_FAILING_PROCESS = """
import sys
from webapp.sources.demo import DemoSource

state, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
source = DemoSource(state_file=state, members=20, incidents=False)
names = [host.host for host in source.hosts()][first : first + count]
print("ready", flush=True)
sys.stdin.readline()
for name in names:
    source.fail(name)
"""


def test_concurrent_processes_lose_no_change_of_the_state_file(tmp_path):
    processes, per_process = 4, 40
    state = tmp_path / "demo.json"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _FAILING_PROCESS,
                str(state),
                str(n * per_process),
                str(per_process),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(processes)
    ]
    try:
        for worker in workers:  # every process has its estate: start them at once
            assert worker.stdout.readline() == "ready\n"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            assert worker.wait(timeout=60) == 0
    finally:
        for worker in workers:
            worker.kill()
            worker.stdin.close()
            worker.stdout.close()
    source = DemoSource(state_file=state, members=20, incidents=False)
    expected = [host.host for host in source.hosts()][: processes * per_process]
    lost = set(expected) - set(source.faults())
    assert not lost, f"{len(lost)} of {len(expected)} faults lost"
    assert len(source.faults()) == len(expected)
    assert source.state.read()["seq"] == processes * per_process, "one number per change"


def test_the_large_members_have_a_few_incidents_at_a_time_not_a_dozen(tmp_path):
    """Metz (499 devices) and Forbach (150): natural incidents at the rate of a real estate."""
    counts = {"Membres/metz": [], "Membres/ca-forbach": []}
    for step in range(24):
        now = T0 + timedelta(minutes=37 * step)
        source = DemoSource(members=8, clock=lambda now=now: now, state_file=tmp_path / "s.json")
        group = {h.hostid: h.groups[0] for h in source.hosts()}
        for name, seen in counts.items():
            seen.append(sum(1 for p in source.problems() if group[p.hostid] == name))
    assert len(source.hosts(["Membres/metz"])) == 499
    assert 0 < sum(counts["Membres/metz"]) / 24 <= 2.5, counts
    assert sum(counts["Membres/ca-forbach"]) / 24 <= 1.5, counts
