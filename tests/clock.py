"""A clock that tests move by hand (patched in where the code under test reads the time)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta


class Clock:
    """Now, until :meth:`advance` moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)
