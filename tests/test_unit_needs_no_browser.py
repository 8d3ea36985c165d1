"""``tests/unit`` runs without Playwright or the bench: the root conftest must not need them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A child Python where ``playwright`` and ``bench`` cannot be imported, as on a machine
# without the browser stack; then the unit tests, through tests/conftest.py.
_WITHOUT_BROWSER_STACK = """
import sys

BLOCKED = ("playwright", "axe_playwright_python", "bench")


class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, Blocked())
try:
    import playwright.sync_api  # noqa: F401
except ModuleNotFoundError:
    pass
else:
    sys.exit("the blocker let playwright through")
import pytest

sys.exit(pytest.main(sys.argv[1:]))
"""


def test_unit_tests_pass_with_playwright_and_the_bench_unimportable():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _WITHOUT_BROWSER_STACK,
            "tests/unit",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-m",
            "not browser and not production and not zabbix",
        ],
        cwd=ROOT,
        env={**os.environ, "VIGIE_TEST_DATABASES": "sqlite"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert " passed" in out and "(blocked)" not in out, out[-3000:]
