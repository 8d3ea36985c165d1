"""The monitor: the source, the latest snapshot and the health of the last read.

Pages never call the source directly: they read the latest
:class:`~webapp.live.snapshot.Snapshot`, refreshed by the poller (or on demand,
at most once per poll interval, when no poller runs). A failed read keeps the
last good snapshot and records the error, so pages can show it with its age
instead of an empty, all-green estate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask
from flask import current_app

from webapp.live.snapshot import Snapshot
from webapp.live.snapshot import read_full
from webapp.live.store import Health
from webapp.live.store import RedisSnapshotStore
from webapp.live.store import SnapshotStore
from webapp.sources import make_source
from webapp.sources.base import MonitoringSource
from webapp.sources.base import SourceError

logger = logging.getLogger(__name__)

EXTENSION_KEY = "vigie.monitor"


class Monitor:
    """Holds the source, the latest snapshot and the health of the last read.

    An *owner* reads the source itself (embedded mode, or the poller process,
    which also publishes to ``store``). A *reader* (a web worker when the
    poller runs apart) never calls the source: it follows the store.

    Given a ``factory`` instead of a source, the source is built on first use:
    commands that never read it (``flask db upgrade``, ``flask vigie member add``…)
    neither need its settings nor contact it.
    """

    def __init__(
        self,
        source: MonitoringSource | None,
        interval: float,
        *,
        factory: Callable[[], MonitoringSource] | None = None,
        store: SnapshotStore | None = None,
        reader: bool = False,
        resync_s: float = 60.0,
        host_stale_after_s: float = 600.0,
    ) -> None:
        if source is None and factory is None:
            raise TypeError("Monitor needs a source or a factory")
        self._source = source
        self._factory = factory
        self._build_lock = threading.Lock()
        self.resync_s = resync_s
        self.host_stale_after_s = host_stale_after_s
        self._cursor: str | None = None
        self._last_full = 0.0
        self.interval = interval
        self.store = store
        self.reader = reader
        self.snapshot: Snapshot | None = None
        self.last_success: float | None = None  # wall-clock seconds
        self.last_error: str | None = None
        self.last_attempt: float | None = None
        # Version of the published snapshot; from the clock, so that a restarted poller
        # never reuses the number a reader already holds.
        self._version = int(time.time() * 1000)
        self._published: Snapshot | None = None
        self.polled = False  # a poller of this process keeps the snapshot fresh
        self._lock = threading.Lock()

    @property
    def source(self) -> MonitoringSource:
        """The source, built on first use.

        Raises
        ------
        SourceConfigError
            Its settings are missing or wrong (raised again at every use).
        """
        if self._source is None:
            with self._build_lock:
                if self._source is None:
                    self._source = self._factory()
        return self._source

    def refresh(self, full: bool = False) -> Snapshot | None:
        """Read the source now; on failure keep the previous snapshot.

        Between two full reads (every ``resync_s`` seconds, when ``full``, or
        as soon as the source reports a change), a quiet cycle costs one cheap
        call: "what changed since the cursor?".
        """
        if self.reader:
            return self._follow_store()
        with self._lock:
            self.last_attempt = time.time()
            try:
                source = self.source
                snapshot = self._read(source, full)
            except SourceError as exc:  # a SourceConfigError too: shown, like an outage
                if self.last_error is None:  # one line when it starts, not one per cycle
                    logger.warning("Source unavailable: %s", exc)
                self.last_error = str(exc)
                self._publish(None)
                return self.snapshot
            if self.last_error is not None:
                logger.warning("Source %s available again", source.name)
            self.snapshot = snapshot
            self.last_success = time.time()
            self.last_error = None
            self._publish(snapshot)
            return snapshot

    def _read(self, source: MonitoringSource, full: bool) -> Snapshot:
        incremental = (
            not full
            and self.snapshot is not None
            and self._cursor is not None
            and time.time() - self._last_full < self.resync_s
        )
        if incremental:
            change_set = source.changes(self._cursor)
            if not (change_set.full or change_set.opened or change_set.closed):
                self._cursor = change_set.cursor
                # Nothing happened: the same snapshot object, so every member's state
                # computed from it is reused as is (last_success says it is fresh).
                return self.snapshot
            # Something happened: hosts' availability moves with it, read everything.
        snapshot, self._cursor = read_full(source)
        self._last_full = time.time()
        if self.snapshot is not None and self.snapshot.same_estate(
            snapshot, self.host_stale_after_s
        ):
            # A resync that found nothing new: keep the snapshot object, so that the
            # poller, the store and the pages' caches all see at once that nothing moved.
            return self.snapshot
        return snapshot

    def _publish(self, snapshot: Snapshot | None) -> None:
        if self.store is None:
            return
        # Only a new snapshot object is sent (and fetched again by the readers); a quiet
        # cycle or a resync that found nothing new only refreshes the health.
        fresh = snapshot is not None and snapshot is not self._published
        current = snapshot or self._published
        try:
            if fresh:
                self._version += 1
            stored = self.store.publish(snapshot if fresh else None, self._health())
            if not stored and current is not None:  # Redis lost it (restart): send it again
                self._version += 1
                self.store.publish(current, self._health())
        except Exception as exc:  # noqa: BLE001 - a cache outage must not stop polling
            logger.warning("Could not publish the snapshot: %s", exc)
            return
        if fresh:
            self._published = snapshot

    def _health(self) -> Health:
        return Health(self.last_success, self.last_error, self.last_attempt, self._version)

    def _follow_store(self) -> Snapshot | None:
        """Reader: take the poller's latest snapshot when its version moved."""
        with self._lock:
            self.last_attempt = time.time()
            try:
                health = self.store.health()
                if health is None:
                    self.last_error = "Le processus de collecte n'a encore rien publié."
                    return self.snapshot
                if health.version != self._version or self.snapshot is None:
                    snapshot = self.store.snapshot()
                    if snapshot is not None:
                        self.snapshot = snapshot
                    self._version = health.version
                self.last_success = health.last_success
                self.last_error = health.last_error
            except Exception as exc:  # noqa: BLE001 - Redis down: keep the last state
                message = f"Cache des instantanés injoignable : {exc}"
                if self.last_error != message:
                    logger.warning("%s", message)
                self.last_error = message
            return self.snapshot

    def current(self) -> Snapshot | None:
        """Return the latest snapshot, refreshing it if it is older than the poll interval."""
        if self.reader:
            period = min(self.interval, 1.0)
        elif self.polled:
            period = self.interval * 3  # only if the poller seems stuck
        else:
            period = self.interval
        due = self.last_attempt is None or time.time() - self.last_attempt >= period
        if self.snapshot is None and not self.reader:
            with self._lock:  # a first read in progress (the poller's): wait for it
                pass
        first = self.snapshot is None and time.time() - (self.last_attempt or 0) > 1.0
        if due or first:  # nothing to show yet: read (at most once a second)
            self.refresh()
        return self.snapshot

    def age_s(self) -> float | None:
        """Seconds since the last successful read, or ``None`` if none yet."""
        if self.last_success is None:
            return None
        return max(0.0, time.time() - self.last_success)

    def is_stale(self, stale_after_polls: int) -> bool:
        age = self.age_s()
        return age is None or age > self.interval * stale_after_polls


def init_app(app: Flask) -> None:
    """Attach a :class:`Monitor` whose source is built on first use (see :func:`make_source`)."""
    store: SnapshotStore | None = None
    url = app.config.get("SNAPSHOT_STORE_URL")
    if url:
        store = RedisSnapshotStore(url)
    reader = app.config.get("POLLER") == "external" and store is not None
    app.extensions[EXTENSION_KEY] = Monitor(
        None,
        float(app.config["POLL_INTERVAL"]),
        factory=lambda: make_source(app.config, app.instance_path),
        store=store,
        reader=reader,
        resync_s=float(app.config["FULL_RESYNC_INTERVAL"]),
        host_stale_after_s=float(app.config["HOST_STALE_AFTER"]),
    )


def become_owner(app: Flask) -> Monitor:
    """The poller process reads the source itself (and publishes to the store)."""
    monitor = get_monitor(app)
    monitor.reader = False
    return monitor


def get_monitor(app: Flask | None = None) -> Monitor:
    return (app or current_app).extensions[EXTENSION_KEY]
