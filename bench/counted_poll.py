"""``flask vigie poll`` as production runs it, with its source's counters sampled (bench only).

``python -m bench.counted_poll SAMPLES.jsonl`` runs the ``flask vigie poll`` command
unchanged, plus a thread that appends a JSON line every ``SAMPLE_S`` seconds: the
wall clock, the source's API calls and seconds spent in them (``ZabbixSource.calls``
and ``call_time_s``), and the monitor's last successful read and last full read.
:mod:`bench.zabbix_defaults` reads the load put on Zabbix over any window from them.
"""

from __future__ import annotations

import json
import sys
import threading
import time

SAMPLE_S = 0.2


def _app():
    """The app ``flask`` loaded from ``FLASK_APP=wsgi.py`` (once it exists)."""
    while getattr(sys.modules.get("wsgi"), "app", None) is None:
        time.sleep(0.05)
    return sys.modules["wsgi"].app


def _sample(path: str) -> None:
    from webapp.live.monitor import get_monitor

    monitor = get_monitor(_app())
    with open(path, "a", buffering=1) as out:
        while True:
            source = monitor.source
            sample = {
                "t": time.time(),
                "calls": getattr(source, "calls", 0),
                "call_time_s": getattr(source, "call_time_s", 0.0),
                "last_success": monitor.last_success,
                "last_full": monitor._last_full,  # noqa: SLF001 - bench only: when it resynced
            }
            out.write(json.dumps(sample) + "\n")
            time.sleep(SAMPLE_S)


def main(argv: list[str]) -> None:
    from flask.cli import main as flask_main

    threading.Thread(target=_sample, args=(argv[0],), daemon=True, name="counters").start()
    sys.argv = ["flask", "vigie", "poll"]
    flask_main()


if __name__ == "__main__":
    main(sys.argv[1:])
