"""Shared helpers: statistics, timers, machine description, a throw-away app."""

from __future__ import annotations

import atexit
import logging
import math
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation): ``pct`` in 0..100."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float], digits: int = 3) -> dict:
    """Median, p95, min, max and count of ``values``."""
    return {
        "median": round(statistics.median(values), digits),
        "p95": round(percentile(values, 95), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": len(values),
    }


def time_ms(func: Callable[[], object], repeat: int, warmup: int = 2) -> dict:
    """Call ``func`` ``warmup`` + ``repeat`` times; summary of the timed calls, in ms."""
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return summary(samples)


def verdict(value: float | None, target: float, *, lower_is_better: bool = True) -> dict:
    """``{"value", "target", "ratio", "verdict"}``; ratio = value / target."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {"value": None, "target": target, "ratio": None, "verdict": "not measured"}
    met = value < target if lower_is_better else value >= target
    return {
        "value": value,
        "target": target,
        "ratio": round(value / target, 3) if target else None,
        "verdict": "met" if met else "not met",
    }


def _cpu_model() -> str | None:
    # psutil has no CPU model name (platform.processor() is empty on Linux): /proc it is.
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _memory_gib() -> float:
    import psutil

    return round(psutil.virtual_memory().total / 1024**3, 1)


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine() -> dict:
    """What the numbers were measured on."""
    import psutil

    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(psutil.Process().cpu_affinity()),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "load_avg_at_start": [round(x, 2) for x in psutil.getloadavg()],
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def bench_app(tmp: Path, **overrides):
    """A migrated app on a temporary SQLite database with the demo source."""
    from flask_migrate import upgrade

    from webapp import create_app

    config = {
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "SOURCE": "demo",
        "DEMO_STATE_FILE": str(tmp / "demo-state.json"),
        "TESTING": True,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": True,
    }
    config.update(overrides)
    app = create_app(config)
    logging.disable(logging.INFO)
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
    finally:
        logging.disable(logging.NOTSET)
    quiet_logs()
    return app


def quiet_logs() -> None:
    """Alembic's env.py sets the root logger to INFO: keep the bench output readable."""
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("werkzeug", "webapp", "engineio", "socketio", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def create_demo_members(app, slugs: list[str] | None = None) -> int:
    """Create the members of the demo estate (all, or ``slugs``) bound to their groups."""
    from webapp.live.monitor import get_monitor
    from webapp.services import members as member_service

    created = 0
    with app.app_context():
        for demo in get_monitor(app).source.members:
            if slugs is not None and demo.slug not in slugs:
                continue
            siren = demo.siren if member_service.siren_is_valid(demo.siren) else None
            member_service.create_member(
                name=demo.name,
                slug=demo.slug,
                kind=demo.kind,
                siren=siren,
                host_groups=[demo.group],
            )
            created += 1
    return created


def temp_dir(prefix: str) -> Path:
    """A scratch folder (database, demo state file), removed when the process exits."""
    path = Path(tempfile.mkdtemp(prefix=f"vigie-bench-{prefix}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
