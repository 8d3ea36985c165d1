"""The snapshot shared through Redis survives its msgpack round trip unchanged."""

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


def test_a_malformed_payload_is_refused_not_read_as_a_state(tmp_path):
    import zlib

    import msgspec
    import pytest

    source = DemoSource(state_file=tmp_path / "s.json", incidents=False)
    good = zlib.decompress(encode(read_snapshot(source)))
    wrong = msgspec.msgpack.encode(["2026-12-01", [], [], [], [], {"x": "not a number"}, 0])
    for payload in (zlib.compress(wrong), zlib.compress(good[:-7]), b"not zlib"):
        with pytest.raises((msgspec.DecodeError, zlib.error)):
            decode(payload)


def test_acknowledgement_times_travel_and_older_payloads_still_decode(tmp_path):
    import zlib

    import msgspec

    source = DemoSource(state_file=tmp_path / "s.json", incidents=False)
    source.fail("sarralbe-routeur")
    (problem,) = source.problems()
    source.acknowledge([problem.eventid], "Pris en charge")
    snapshot = read_snapshot(source)
    (acked,) = snapshot.problems
    assert acked.acknowledged_at is not None and acked.acknowledged_at.tzinfo is not None
    copy = decode(encode(snapshot))
    assert copy == snapshot and copy.problems[0].acknowledged_at == acked.acknowledged_at

    # A snapshot written before problems had an acknowledgement time: read with None.
    raw = msgspec.msgpack.decode(zlib.decompress(encode(snapshot)))
    for row in raw[2]:
        del row["acknowledged_at"]
    old = decode(zlib.compress(msgspec.msgpack.encode(raw)))
    assert old.problems[0].acknowledged and old.problems[0].acknowledged_at is None
    assert old.hosts == snapshot.hosts
