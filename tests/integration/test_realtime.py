"""Socket.IO rooms: authenticated, same tenant rules as pages, origin checked."""

from datetime import UTC
from datetime import datetime

from tests.factories import demo_member
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.extensions import db
from webapp.extensions import socketio
from webapp.live.events import NAMESPACE
from webapp.live.poller import Poller
from webapp.models import Member
from webapp.models import User
from webapp.services import demo


def connect(app, client, **kwargs):
    return socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client, **kwargs)


def events(sio, name):
    return [e["args"][0] for e in sio.get_received(NAMESPACE) if e["name"] == name]


def test_anonymous_connection_is_refused(app, client):
    sio = connect(app, client)
    assert not sio.is_connected(NAMESPACE)


def test_other_origin_is_refused(app, client, login):
    login(make_user("viewer", member=demo_member("sarralbe")))
    sio = connect(app, client, headers={"Origin": "http://evil.example"})
    assert not sio.is_connected(NAMESPACE)
    same = connect(app, client, headers={"Origin": "http://localhost"})
    assert same.is_connected(NAMESPACE)


def test_member_a_cannot_join_member_b(app, client, login):
    member_a = demo_member("sarralbe")
    demo_member("bitche")
    login(make_user("viewer", member=member_a))
    poller = Poller(app)
    poller.cycle()
    sio = connect(app, client)
    assert sio.is_connected(NAMESPACE)
    refused = sio.emit("subscribe", {"member": "bitche"}, namespace=NAMESPACE, callback=True)
    assert refused == {"ok": False, "error": "not_found"}
    for bad in (None, "bitche", {"member": 12}, {"member": "x" * 10_000}):
        answer = sio.emit("subscribe", bad, namespace=NAMESPACE, callback=True)
        assert answer["ok"] is False
    wall = sio.emit("subscribe_wall", {}, namespace=NAMESPACE, callback=True)
    assert wall["ok"] is False
    sio.get_received(NAMESPACE)
    demo.fail("bitche-routeur")
    demo.fail("sarralbe-box")
    poller.cycle()
    received = sio.get_received(NAMESPACE)
    updates = [e["args"][0] for e in received if e["name"] == "member.update"]
    assert updates == [], "nothing of B, and A not joined either"
    assert not [e for e in received if e["name"] == "wall.update"]
    assert "bitche" not in str(received)


def test_subscriber_gets_only_changed_nodes(app, client, login):
    member = demo_member("sarralbe")
    login(make_user("viewer", member=member))
    poller = Poller(app)
    poller.cycle()
    sio = connect(app, client)
    ack = sio.emit("subscribe", {"member": "sarralbe"}, namespace=NAMESPACE, callback=True)
    assert ack["ok"] and ack["full"] and len(ack["nodes"]) > 20
    again = sio.emit(
        "subscribe",
        {"member": "sarralbe", "version": ack["version"]},
        namespace=NAMESPACE,
        callback=True,
    )
    assert again["ok"] and not again["full"] and again["nodes"] == [], "up to date: no nodes"
    sio.get_received(NAMESPACE)
    poller.cycle()
    assert events(sio, "member.update") == [], "no change, nothing sent"
    demo.fail("sarralbe-sw-0-1")
    poller.cycle()
    (update,) = events(sio, "member.update")
    states = {node["id"]: node["state"] for node in update["nodes"]}
    switch = demo._source().host_by_name("sarralbe-sw-0-1").hostid
    assert states[switch] == "problem"
    assert set(states.values()) == {"problem", "unreachable"}
    assert len(states) < 20, "only what changed"
    assert update["version"] != ack["version"]
    catch_up = sio.emit(
        "subscribe",
        {"member": "sarralbe", "version": ack["version"]},
        namespace=NAMESPACE,
        callback=True,
    )
    assert catch_up["full"] and catch_up["version"] == update["version"]


def test_source_outage_is_broadcast(app, client, login, source):
    login(make_user("viewer", member=demo_member("sarralbe")))
    poller = Poller(app)
    poller.cycle()
    sio = connect(app, client)
    sio.get_received(NAMESPACE)
    source.set_outage(True)
    stats = poller.cycle()
    assert not stats.ok
    (state,) = events(sio, "source")
    assert state["source_ok"] is False and state["last_success"]


def test_a_read_after_a_long_gap_tells_every_page_it_is_fresh_again(app, client, login):
    """A slow read (a cold full read at 300 members): pages opened meanwhile were told
    "stale"; the read that ends the gap is broadcast at once, not at the next heartbeat."""
    from webapp.live.monitor import get_monitor

    login(make_user("viewer", member=demo_member("sarralbe")))
    poller = Poller(app)
    poller.cycle()
    sio = connect(app, client)
    sio.get_received(NAMESPACE)
    assert not events(sio, "source") and poller.cycle().ok
    assert not events(sio, "source"), "a quiet cycle right after: no news to send"
    monitor = get_monitor(app)
    limit = monitor.interval * app.config["STALE_AFTER_POLLS"]
    poller._last_success_seen = monitor.last_success - limit - 1  # the gap of a slow read
    poller.cycle()
    (state,) = events(sio, "source")
    assert state["source_ok"] is True and state["stale"] is False


def test_poll_cycle_uses_a_bounded_number_of_calls(app):
    for slug in ("sarralbe", "bitche", "cc-saulnois", "sde-rohrbach"):
        demo_member(slug)
    poller = Poller(app)
    stats = poller.cycle()
    assert stats.ok and stats.members == 4
    assert stats.api_calls <= 6, "one batched read for all members"


def test_cycles_between_full_reads_cost_one_call(app, source):
    demo_member("sarralbe")
    poller = Poller(app)
    full = poller.cycle()
    assert full.api_calls == 5, "hosts, changes, dependencies, maintenances, probes"
    quiet = poller.cycle()
    assert quiet.ok and quiet.api_calls == 1 and quiet.changed_members == 0
    source.fail("sarralbe-routeur")
    changed = poller.cycle()
    assert changed.api_calls == 6, "a change: the cheap call, then a full read"
    assert changed.changed_members == 1
    source.repair("sarralbe-routeur")
    assert poller.cycle().changed_members == 1, "the recovery too"
    assert poller.cycle().api_calls == 1
    from webapp.live.monitor import get_monitor

    get_monitor(app)._last_full -= 3600
    assert poller.cycle().api_calls == 5, "a periodic full resync"


def test_only_members_whose_rows_changed_are_computed_again(app, source, monkeypatch):
    from webapp.live import poller as poller_module

    for slug in ("sarralbe", "bitche", "cc-saulnois", "sde-rohrbach"):
        demo_member(slug)
    computed = []
    real = poller_module.member_status

    def counting(ref, snapshot, **kwargs):
        computed.append(ref.slug)
        return real(ref, snapshot, **kwargs)

    monkeypatch.setattr(poller_module, "member_status", counting)
    at = datetime.now(UTC).replace(second=10)
    monkeypatch.setattr(source, "clock", lambda: at)  # not across a minute: see DemoSource
    poller = Poller(app)
    poller.cycle()
    assert sorted(computed) == ["bitche", "cc-saulnois", "sarralbe", "sde-rohrbach"]
    computed.clear()
    source.fail("bitche-routeur")
    stats = poller.cycle()
    assert stats.changed_members == 1
    assert computed == ["bitche"], "the others' rows are unchanged: not computed again"


def test_async_mode_is_threading_unless_the_process_is_gevent_patched(app):
    from webapp.realtime import async_mode

    assert socketio.async_mode == "threading", "tests and `flask vigie serve` are not patched"
    assert async_mode() == "threading"
    assert async_mode("gevent") == "gevent", "an explicit VIGIE_SOCKETIO_ASYNC_MODE wins"


def test_updates_that_could_not_be_sent_are_sent_next_cycle(app, source, caplog):
    from contextlib import contextmanager

    from webapp.live.events import PublishError

    demo_member("sarralbe")
    sent, failing = [], [False]

    @contextmanager
    def batch():
        held = []
        poller.publish = lambda event, data, room: held.append((event, room))
        yield
        if failing[0]:
            raise PublishError("Redis is restarting")
        sent.extend(held)

    poller = Poller(app, batch=batch)
    poller.cycle()
    sent.clear()
    failing[0] = True
    source.fail("sarralbe-routeur")
    poller.cycle()
    poller.cycle()
    assert sent == []
    assert caplog.text.count("Live updates not sent") == 1, "one line, not one per cycle"
    failing[0] = False
    poller.cycle()
    assert ("member.update", "member:sarralbe") in sent, "the lost update is sent again"
    assert "Live updates sent again" in caplog.text


def test_a_new_support_request_reaches_the_wall_while_the_estate_is_quiet(app, monkeypatch):
    from webapp.live import events as live_events

    member_id = demo_member("sarralbe").id
    user_id = make_user("member_admin", member=db.session.get(Member, member_id)).id
    events = []
    # The poller's events and the portal's (support publishes the count after its commit).
    monkeypatch.setattr(
        live_events, "publish", lambda event, data, room=None: events.append((event, data))
    )
    poller = Poller(app, publish=lambda event, data, room: events.append((event, data)))
    poller.cycle()
    poller.cycle()
    events.clear()
    # Read again: the cycles end the session they ran in.
    member, user = db.session.get(Member, member_id), db.session.get(User, user_id)
    make_support_request(member, user, subject="Caméra du parking", message="Elle ne répond plus.")
    poller.cycle()
    (tiles,) = [data["tiles"] for event, data in events if event == "wall.update"]
    assert [(t["slug"], t["open_requests"]) for t in tiles] == [("sarralbe", 1)]


def test_a_starting_poller_sends_every_room_its_whole_state(app, client, login, source):
    """Clients who subscribed before a poller started (or took over) may hold an older state.

    A change made before the poller's first cycle has no diff to send: its first cycle sends
    each member its whole state, and the wall every tile.
    """
    login(make_user("support"))
    for slug in ("sarralbe", "bitche"):
        demo_member(slug)
    earlier = Poller(app)
    earlier.cycle()
    sio = connect(app, client)
    ack = sio.emit("subscribe", {"member": "sarralbe"}, namespace=NAMESPACE, callback=True)
    assert sio.emit("subscribe_wall", {}, namespace=NAMESPACE, callback=True)["ok"]
    sio.get_received(NAMESPACE)
    source.fail("sarralbe-routeur")  # while no poller runs: the earlier one died
    Poller(app).cycle()
    received = sio.get_received(NAMESPACE)
    (update,) = [e["args"][0] for e in received if e["name"] == "member.update"]
    router = source.host_by_name("sarralbe-routeur").hostid
    assert update["full"] and len(update["nodes"]) == len(ack["nodes"])
    assert {n["id"]: n["state"] for n in update["nodes"]}[router] == "problem"
    (wall,) = [e["args"][0] for e in received if e["name"] == "wall.update"]
    assert sorted(t["slug"] for t in wall["tiles"]) == ["bitche", "sarralbe"]


def test_a_poller_that_takes_the_lock_again_sends_whole_states(app, source):
    """Another poller may have spoken while this one waited: what it sent is forgotten."""
    demo_member("sarralbe")
    sent = []
    poller = Poller(app, publish=lambda event, data, room: sent.append((event, data)))

    class Lock:
        def __init__(self):
            self.answers = iter([False, True, True, False, True, True])

        def still_held(self):
            held = next(self.answers, None)
            if held is None:
                poller.stop()
                return True
            return held

        def acquire(self):
            return True

        def release(self):
            pass

    poller.run(interval=0.01, lock=Lock())
    full = [data["full"] for event, data in sent if event == "member.update"]
    assert full == [True, True], "once when first taken, once when taken again"
