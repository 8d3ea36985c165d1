"""Sharing the poller's snapshot with web workers through Redis.

In production the poller is its own process (``flask vigie poll``) and gunicorn
workers never call the source: they read the latest snapshot and the health of
the last read from Redis. The payload is msgpack (msgspec, typed, compressed), never
pickle: a compromised cache must not be able to run code in the web process.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import msgspec
import redis

from webapp.live.snapshot import Snapshot
from webapp.sources.base import Dependency
from webapp.sources.base import Host
from webapp.sources.base import Maintenance
from webapp.sources.base import Problem

logger = logging.getLogger(__name__)

SNAPSHOT_KEY = "vigie:snapshot"
HEALTH_KEY = "vigie:snapshot:health"


@dataclass(frozen=True)
class Health:
    """The outcome of the poller's last read (wall-clock seconds)."""

    last_success: float | None
    last_error: str | None
    last_attempt: float | None
    version: int  # of the snapshot: readers fetch it again only when this moves


class SnapshotStore(Protocol):
    """Where the poller leaves its latest snapshot and health for the web workers."""

    def publish(self, snapshot: Snapshot | None, health: Health) -> bool: ...

    def health(self) -> Health | None: ...

    def snapshot(self) -> Snapshot | None: ...


class _Wire(msgspec.Struct, array_like=True, frozen=True):
    """What travels: the snapshot's rows (its indexes are rebuilt on arrival)."""

    read_at: datetime
    hosts: tuple[Host, ...]
    problems: tuple[Problem, ...]
    dependencies: tuple[Dependency, ...]
    maintenances: tuple[Maintenance, ...]
    probe_counts: dict[str, int]
    api_calls: int


# msgspec encodes the source's frozen dataclasses by their type hints and checks every
# field's type on the way back: a malformed payload is an error, never a wrong state.
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Wire)


def encode(snapshot: Snapshot) -> bytes:
    wire = _Wire(
        read_at=snapshot.read_at,
        hosts=snapshot.hosts,
        problems=snapshot.problems,
        dependencies=snapshot.dependencies,
        maintenances=snapshot.maintenances,
        probe_counts=snapshot.probe_counts,
        api_calls=snapshot.api_calls,
    )
    return zlib.compress(_encoder.encode(wire), 3)


def decode(payload: bytes) -> Snapshot:
    """The snapshot ``payload`` holds; :class:`msgspec.ValidationError` if it is malformed."""
    wire = _decoder.decode(zlib.decompress(payload))
    return Snapshot(
        read_at=wire.read_at,
        hosts=wire.hosts,
        problems=wire.problems,
        dependencies=wire.dependencies,
        maintenances=wire.maintenances,
        probe_counts=wire.probe_counts,
        api_calls=wire.api_calls,
    )


class RedisSnapshotStore:
    """Latest snapshot + health in two Redis keys; readers only fetch what changed."""

    def __init__(self, url: str, *, ttl_s: int = 3600) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.ttl_s = ttl_s

    def publish(self, snapshot: Snapshot | None, health: Health) -> bool:
        """Write a new snapshot (``snapshot`` None: the stored one is still current).

        Returns False when no snapshot is stored (Redis restarted, key expired):
        the caller should send it again.
        """
        pipe = self.redis.pipeline()
        if snapshot is not None:
            pipe.set(SNAPSHOT_KEY, encode(snapshot), ex=self.ttl_s)
        else:
            pipe.expire(SNAPSHOT_KEY, self.ttl_s)
        pipe.set(HEALTH_KEY, json.dumps(health.__dict__), ex=self.ttl_s)
        return bool(pipe.execute()[0])

    def health(self) -> Health | None:
        raw = self.redis.get(HEALTH_KEY)
        return Health(**json.loads(raw)) if raw else None

    def snapshot(self) -> Snapshot | None:
        raw = self.redis.get(SNAPSHOT_KEY)
        return decode(raw) if raw else None
