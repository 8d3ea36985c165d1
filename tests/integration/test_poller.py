"""The poller: whole states first, nothing on a quiet cycle, a failed publish sent again.

Cycles are run one by one (``Poller.cycle``): what a cycle did is known when it returns,
so "nothing was sent" is read from its stats, after a positive signal, never after a sleep.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.factories import demo_member
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.extensions import db
from webapp.live import events as live_events
from webapp.live.monitor import get_monitor
from webapp.live.poller import Poller
from webapp.live.status import member_status
from webapp.services import overview
from webapp.services import support


class Sent:
    """Stands in for the publisher: every event, with its room."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict, str | None]] = []
        self.failing = False

    def __call__(self, event: str, data: dict, room: str | None = None) -> None:
        if self.failing:
            raise ConnectionError("Redis is restarting")
        self.events.append((event, data, room))

    def named(self, name: str) -> list[tuple[dict, str | None]]:
        return [(data, room) for event, data, room in self.events if event == name]

    def take(self) -> list[tuple[str, dict, str | None]]:
        taken, self.events = self.events, []
        return taken


@pytest.fixture
def members(app):
    return [demo_member("sarralbe"), demo_member("bitche")]


def test_the_first_cycle_sends_every_member_its_whole_state_and_every_tile(app, members):
    sent = Sent()
    stats = Poller(app, publish=sent).cycle()
    assert stats.ok and stats.members == 2 and stats.changed_members == 2
    updates = {room: data for data, room in sent.named("member.update")}
    assert set(updates) == {"member:sarralbe", "member:bitche"}
    snapshot = get_monitor(app).snapshot
    for member in members:
        update = updates[live_events.member_room(member.slug)]
        status = member_status(member, snapshot, stale_after_s=overview.host_stale_after_s())
        assert update["full"] is True and update["member"] == member.slug
        assert {n["id"] for n in update["nodes"]} == {n.id for n in status.member_map.nodes}
    ((wall, room),) = sent.named("wall.update")
    assert room == live_events.WALL_ROOM
    assert sorted(t["slug"] for t in wall["tiles"]) == ["bitche", "sarralbe"]
    assert [room for _, room in sent.named("source")] == [None], "freshness, to everyone"


def test_a_quiet_cycle_sends_nothing(app, members, source):
    sent = Sent()
    poller = Poller(app, publish=sent)
    assert poller.cycle().events, "the first cycle speaks"
    sent.take()
    quiet = poller.cycle()
    assert quiet.ok, "the cycle ran and read the source"
    assert quiet.events == [] and sent.events == []
    assert quiet.changed_members == 0 and quiet.changed_nodes == 0
    # The same poller still speaks when something happens: the silence above was real.
    source.fail("sarralbe-routeur")
    moved = poller.cycle()
    assert [(event, room) for event, room in moved.events] == [
        ("member.update", "member:sarralbe"),
        ("wall.update", "wall"),
    ]
    (update,) = [data for data, _ in sent.named("member.update")]
    assert update["full"] is False and len(update["nodes"]) == moved.changed_nodes
    assert moved.changed_nodes >= 1


def test_a_failed_publish_is_sent_again_next_cycle(app, members, source):
    sent = Sent()
    poller = Poller(app, publish=sent)
    poller.cycle()
    sent.take()
    source.fail("bitche-routeur")
    sent.failing = True
    failed = poller.cycle()
    assert failed.events == [] and sent.events == [], "nothing left the process"
    sent.failing = False
    retried = poller.cycle()
    assert ("member.update", "member:bitche") in retried.events, "sent again, unasked"
    (update,) = [data for data, _ in sent.named("member.update")]
    router = source.host_by_name("bitche-routeur").hostid
    assert {n["id"]: n["state"] for n in update["nodes"]}[router] == "problem"
    ((wall, _),) = sent.named("wall.update")
    assert [t["slug"] for t in wall["tiles"]] == ["bitche"]
    sent.take()
    assert poller.cycle().events == [], "once sent, not again"


def test_open_requests_reach_the_wall_from_the_portal_the_poller_reads_no_support_table(
    app, members, monkeypatch
):
    portal = Sent()
    monkeypatch.setattr(live_events, "publish", portal)
    sent = Sent()
    poller = Poller(app, publish=sent)
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        poller.cycle()
        user = make_user("member_admin", member=members[0])
        request = make_support_request(members[0], user, subject="Caméra", message="Éteinte")
        ((tile,),) = [data["tiles"] for data, _ in portal.named("wall.update")]
        assert (tile["slug"], tile["open_requests"], len(tile["due"])) == ("sarralbe", 1, 1), (
            "after the commit, with when it falls overdue"
        )
        assert tile["care_since"] is None, "nobody from support has answered yet"
        support.close(request.id, make_user("support"))
        assert portal.named("wall.update")[-1][0]["tiles"] == [
            {"slug": "sarralbe", "open_requests": 0, "due": [], "care_since": None}
        ]
        statements.clear()
        poller.forget()  # a cycle that computes every tile again
        poller.cycle()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    ((wall, _),) = sent.named("wall.update")[-1:]
    assert all("open_requests" not in tile for tile in wall["tiles"]), "the portal's part"
    assert not [s for s in statements if "support_request" in s]


def test_the_observer_hears_changed_members_and_is_told_again_after_a_failure(app, members):
    heard: list[dict] = []
    failing = [True]

    def observe(statuses, maintenances):
        if failing[0]:
            failing[0] = False
            raise ConnectionError("database restarting")
        heard.append(statuses)

    poller = Poller(app, publish=Sent(), observe=observe)
    ids = sorted(m.id for m in members)
    sarralbe = next(m.id for m in members if m.slug == "sarralbe")
    poller.cycle()  # the first cycle: every member, but the observer fails
    assert heard == []
    poller.cycle()  # a quiet cycle: the same members are given again
    assert [sorted(h) for h in heard] == [ids]
    poller.cycle()
    assert len(heard) == 1, "nothing changed: nothing more to hear"
    get_monitor(app).source.fail("sarralbe-routeur")
    poller.cycle()
    assert [sorted(h) for h in heard[1:]] == [[sarralbe]]
