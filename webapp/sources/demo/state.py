"""The demo's injected state, shared between processes through one JSON file.

``flask vigie demo fail HOST`` (a CLI process), the admin page (a web worker)
and the poller all read and change the same file: injected faults and warnings,
acknowledgements (with the time of the first one), the simulated outage, the
sequence number of the last change and the history of repaired faults with their
repair times (so that ``changes(cursor)`` can report a recovery, and
``host_events`` when it happened). Older files, whose acknowledgements and repairs
carry no time, are still read. A change is a read-modify-write held under an
exclusive file lock (``filelock``) next to the state file, and written atomically
(a temporary file renamed over it), so two processes changing it at once both keep
their change and a reader never sees half a file.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path

from filelock import FileLock

__all__ = [
    "WARNING_KEY",
    "DemoState",
    "ack_entry",
    "ack_times",
    "fault_entry",
    "fault_times",
    "fault_times_at",
    "repairs",
]

logger = logging.getLogger(__name__)

WARNING_KEY = "warning:"  # state file: a warning is a fault under this prefix

LOCK_TIMEOUT_S = 10  # a change waits this long for another process's change

_HISTORY_KEPT = 500  # repaired faults kept (at least), for changes(cursor)
_ACKS_KEPT = 5000  # acknowledgements kept, oldest forgotten first


def _empty() -> dict:
    return {"faults": {}, "outage": False}


class DemoState:
    """Injected faults, warnings, acknowledgements and outage flag, kept in a JSON file.

    Parameters
    ----------
    path : path, optional
        The state file; ``None`` keeps the state in this object's memory.

    Examples
    --------
    >>> state = DemoState(None)
    >>> state.set_faults(["10100"], failed=True, now=0.0)
    1
    >>> fault_times(state.read())
    {'10100': 0.0}
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self._memory: dict = _empty()
        # Threads (or greenlets) of one process take turns here; processes at the file lock.
        self._lock = threading.Lock()
        self._file_lock = (
            FileLock(f"{self.path}.lock", timeout=LOCK_TIMEOUT_S, thread_local=False)
            if self.path
            else None
        )

    def read(self) -> dict:
        """The current state (an empty one when the file is missing or unreadable)."""
        if self.path is None:
            return self._memory
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return _empty()
        except (OSError, ValueError):
            logger.warning("Demo state file %s is unreadable; ignoring it", self.path)
            return _empty()
        data.setdefault("faults", {})
        data.setdefault("outage", False)
        return data

    def update(self, change: Callable[[dict], None]) -> dict:
        """Apply ``change`` to the state in place, no other process changing it meanwhile."""
        with self._lock:
            if self.path is None:
                # Changed on a copy, then swapped in: a reader in another thread holds
                # the whole state before or after the change, never half of it (a
                # sequence number without its fault would hide the fault for good).
                data = copy.deepcopy(self._memory)
                change(data)
                self._memory = data
                return data
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock:
                data = self.read()
                change(data)
                self._write(data)
            return data

    def _write(self, data: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".demo-state-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def set_faults(
        self, hostids: Iterable[str], *, failed: bool, now: float, warning: bool = False
    ) -> int:
        """Fail (or repair) hosts in one change; return how many faults changed.

        The change gets the next sequence number, so that ``changes(cursor)``
        reports it whatever the clocks of the writing and reading processes. A
        warning is kept as a fault under ``WARNING_KEY`` + host id (same numbers,
        history and cursor); a repair removes both.
        """
        if failed:
            keys = [WARNING_KEY + hostid if warning else hostid for hostid in hostids]
        else:
            keys = [key for hostid in hostids for key in (hostid, WARNING_KEY + hostid)]
        changed = 0

        def change(data: dict) -> None:
            nonlocal changed
            data["seq"] = data.get("seq", 0) + 1
            history = data.setdefault("history", [])
            for key in keys:
                if failed and key not in data["faults"]:
                    data["faults"][key] = [now, data["seq"]]
                    changed += 1
                elif not failed and key in data["faults"]:
                    since, failed_seq = fault_entry(data["faults"].pop(key))
                    # Kept a while, so that changes(cursor) can report the recovery.
                    history.append([key, since, failed_seq, data["seq"]])
                    changed += 1
            del history[: -max(_HISTORY_KEPT, len(keys))]
            # When each repair happened, by its change number (history entries keep the
            # four fields older files have); numbers no entry refers to are forgotten.
            repaired_at = data.setdefault("repaired_at", {})
            if not failed and changed:
                repaired_at[str(data["seq"])] = now
            kept = {str(entry[3]) for entry in history}
            for seq in [seq for seq in repaired_at if seq not in kept]:
                del repaired_at[seq]

        self.update(change)
        return changed

    def acknowledge(self, eventids: Iterable[str], message: str, *, now: float) -> None:
        """Keep ``message`` as the acknowledgement of each event, and when it was first
        acknowledged (a later acknowledgement replaces the message, not the time)."""

        def change(data: dict) -> None:
            acks = data.setdefault("acks", {})
            for eventid in eventids:
                before = acks.get(str(eventid))
                first = now if before is None else ack_entry(before)[1]
                acks[str(eventid)] = [message, first]
            # Forget acknowledgements of long-gone events.
            if len(acks) > _ACKS_KEPT:
                for key in list(acks)[: len(acks) - _ACKS_KEPT]:
                    del acks[key]

        self.update(change)

    def set_outage(self, down: bool) -> None:
        """Set the simulated outage of the whole source."""

        def change(data: dict) -> None:
            data["outage"] = bool(down)

        self.update(change)


def fault_entry(value) -> tuple[float, int]:
    """A stored fault: ``[since, sequence number]`` (a bare time in older state files)."""
    if isinstance(value, list | tuple):
        return float(value[0]), int(value[1])
    return float(value), 0


def ack_entry(value) -> tuple[str, float | None]:
    """A stored acknowledgement: ``[message, time]`` (a bare message in older state files,
    whose time is unknown)."""
    if isinstance(value, list | tuple):
        return str(value[0]), None if value[1] is None else float(value[1])
    return str(value), None


def ack_times(data: dict) -> dict[str, float | None]:
    """The acknowledged events of a state read: ``{eventid: first acknowledged at}``."""
    return {eventid: ack_entry(value)[1] for eventid, value in data.get("acks", {}).items()}


def repairs(data: dict) -> list[tuple[str, float, float]]:
    """The repaired faults still remembered: ``(key, since, repaired at)``, oldest first.

    Repairs written by older versions, which kept no time, are left out.
    """
    repaired_at = data.get("repaired_at", {})
    found = []
    for key, since, _failed_seq, repaired_seq in data.get("history", []):
        at = repaired_at.get(str(repaired_seq))
        if at is not None:
            found.append((key, float(since), float(at)))
    return found


def fault_times(data: dict) -> dict[str, float]:
    """The injected faults of a state read: ``{key: since}`` (warnings under ``WARNING_KEY``)."""
    return {key: fault_entry(value)[0] for key, value in data["faults"].items()}


def fault_times_at(data: dict, seq: int) -> dict[str, float]:
    """The injected faults as they stood once change number ``seq`` was written."""
    faults = {
        key: since
        for key, (since, failed_seq) in ((k, fault_entry(v)) for k, v in data["faults"].items())
        if failed_seq <= seq
    }
    for key, since, failed_seq, repaired_seq in data.get("history", []):
        if failed_seq <= seq < repaired_seq:
            faults[key] = since
    return faults
