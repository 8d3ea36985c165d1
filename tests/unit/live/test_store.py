"""The snapshot shared through Redis survives its JSON round trip unchanged."""

from webapp.live.snapshot import read_snapshot
from webapp.live.store import decode
from webapp.live.store import encode
from webapp.sources.demo import DemoSource


def test_round_trip_keeps_everything_and_rebuilds_the_indexes(tmp_path):
    source = DemoSource(state_file=tmp_path / "s.json", incidents=False)
    source.fail("sarralbe-routeur")
    snapshot = read_snapshot(source)
    copy = decode(encode(snapshot))
    assert copy == snapshot
    assert copy.hosts_by_group == snapshot.hosts_by_group
    assert copy.problems_by_host == snapshot.problems_by_host
    assert copy.hosts_of(["Membres/sarralbe"]) == snapshot.hosts_of(["Membres/sarralbe"])
    assert copy.hosts_of(["Membres/sarralbe"])
