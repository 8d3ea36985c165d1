"""Sharing the poller's snapshot with web workers through Redis.

In production the poller is its own process (``flask vigie poll``) and gunicorn
workers never call the source: they read the latest snapshot and the health of
the last read from Redis. The payload is JSON (compressed), never pickle: a
compromised cache must not be able to run code in the web process.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import redis

from webapp.live.snapshot import Snapshot
from webapp.sources.base import Availability
from webapp.sources.base import Dependency
from webapp.sources.base import Host
from webapp.sources.base import Interface
from webapp.sources.base import Maintenance
from webapp.sources.base import Problem
from webapp.sources.base import Severity

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


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SnapshotStore(Protocol):
    """Where the poller leaves its latest snapshot and health for the web workers."""

    def publish(self, snapshot: Snapshot | None, health: Health) -> bool: ...

    def health(self) -> Health | None: ...

    def snapshot(self) -> Snapshot | None: ...


def encode(snapshot: Snapshot) -> bytes:
    data = {
        "read_at": _dt(snapshot.read_at),
        "api_calls": snapshot.api_calls,
        "probe_counts": snapshot.probe_counts,
        "hosts": [
            [
                h.hostid,
                h.host,
                h.name,
                list(h.groups),
                [list(t) for t in h.tags],
                [list(i) for i in h.inventory],
                [[i.type, i.ip, i.dns, i.port, str(i.available)] for i in h.interfaces],
                h.enabled,
                h.in_maintenance,
                str(h.available),
                _dt(h.last_data_at),
            ]
            for h in snapshot.hosts
        ],
        "problems": [
            [
                p.eventid,
                p.hostid,
                p.triggerid,
                p.name,
                int(p.severity),
                _dt(p.since),
                p.acknowledged,
                p.suppressed,
                [list(t) for t in p.tags],
            ]
            for p in snapshot.problems
        ],
        "dependencies": [[d.hostid, d.depends_on] for d in snapshot.dependencies],
        "maintenances": [
            [m.maintenanceid, m.name, list(m.hostids), _dt(m.active_since), _dt(m.active_till)]
            for m in snapshot.maintenances
        ],
    }
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 3)


def decode(payload: bytes) -> Snapshot:
    data = json.loads(zlib.decompress(payload))
    hosts = tuple(
        Host(
            hostid=h[0],
            host=h[1],
            name=h[2],
            groups=tuple(h[3]),
            tags=tuple(tuple(t) for t in h[4]),
            inventory=tuple(tuple(i) for i in h[5]),
            interfaces=tuple(
                Interface(type=i[0], ip=i[1], dns=i[2], port=i[3], available=Availability(i[4]))
                for i in h[6]
            ),
            enabled=h[7],
            in_maintenance=h[8],
            available=Availability(h[9]),
            last_data_at=_parse(h[10]),
        )
        for h in data["hosts"]
    )
    return Snapshot(
        read_at=_parse(data["read_at"]),
        hosts=hosts,
        problems=tuple(
            Problem(
                eventid=p[0],
                hostid=p[1],
                triggerid=p[2],
                name=p[3],
                severity=Severity(p[4]),
                since=_parse(p[5]),
                acknowledged=p[6],
                suppressed=p[7],
                tags=tuple(tuple(t) for t in p[8]),
            )
            for p in data["problems"]
        ),
        dependencies=tuple(Dependency(d[0], d[1]) for d in data["dependencies"]),
        maintenances=tuple(
            Maintenance(m[0], m[1], tuple(m[2]), _parse(m[3]), _parse(m[4]))
            for m in data["maintenances"]
        ),
        probe_counts=data["probe_counts"],
        api_calls=data["api_calls"],
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
