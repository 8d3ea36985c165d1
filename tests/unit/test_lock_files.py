"""The lock files (requirements/*.txt): every release pinned and hashed, and in step with
pyproject.toml — a dependency added there without `make lock` fails here, not in production."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
LOCKS = ("build", "production", "test", "bench", "tools")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$")
# The target of the locks: CPython 3.11 on x86-64 Linux (the Makefile's UV_COMPILE).
TARGET = default_environment() | {
    "python_version": "3.11",
    "python_full_version": "3.11.2",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
}


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    hashes: frozenset[str]
    line: str


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins of a requirements file written by ``uv pip compile --generate-hashes``."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    pins: dict[str, Pin] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        requirement, _, options = line.partition(" --hash=")
        requirement = requirement.strip()
        assert not requirement.startswith("-"), f"{path.name}: option line {line!r}"
        assert PINNED.match(requirement), f"{path.name}: not pinned with == : {requirement!r}"
        hashes = frozenset(HASH.findall(line))
        assert hashes, f"{path.name}: {requirement} has no --hash=sha256:"
        leftover = HASH.sub("", "--hash=" + options).split()
        assert not leftover, f"{path.name}: {requirement}: unexpected {leftover}"
        name, version = requirement.split("==")
        key = canonicalize_name(name)
        assert key not in pins, f"{path.name}: {name} pinned twice"
        pins[key] = Pin(key, version, hashes, requirement)
    return pins


@pytest.fixture(scope="module")
def locks() -> dict[str, dict[str, Pin]]:
    return {name: read_lock(REQUIREMENTS / f"{name}.txt") for name in LOCKS}


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _assert_within(lock_name: str, pins: dict[str, Pin], declared: list[str]) -> None:
    problems = []
    for text in declared:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate(TARGET):
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement.name} is missing")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{pin.line} is outside {requirement}")
    assert not problems, f"requirements/{lock_name}.txt: {problems}: run `make lock`"


def test_every_lock_line_is_pinned_and_hashed(locks):
    for name, pins in locks.items():
        assert pins, f"requirements/{name}.txt pins nothing"
        for pin in pins.values():
            assert pin.hashes and all(len(h) == 64 for h in pin.hashes)


def test_production_lock_holds_every_dependency_within_its_range(locks, pyproject):
    _assert_within("production", locks["production"], pyproject["project"]["dependencies"])


def test_test_lock_holds_the_dependencies_and_the_test_extra(locks, pyproject):
    project = pyproject["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    _assert_within("test", locks["test"], declared)


def test_build_lock_holds_the_build_backend(locks, pyproject):
    _assert_within("build", locks["build"], pyproject["build-system"]["requires"])
    assert "pip" in locks["build"]


def _declared_in(name: str) -> list[str]:
    lines = (REQUIREMENTS / f"{name}.in").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_build_bench_and_tools_locks_hold_their_in_files(locks):
    for name in ("build", "bench", "tools"):
        _assert_within(name, locks[name], _declared_in(name))
    assert {"uv", "pip-audit"} <= set(locks["tools"])
    assert {"ecoindex-compute", "grandalf"} <= set(locks["bench"])


def test_production_and_tests_share_the_same_releases(locks):
    """The test lock is compiled under the production pins: what is tested is what ships."""
    production, test, build = locks["production"], locks["test"], locks["build"]
    assert set(production) <= set(test)
    for name, pin in production.items():
        assert test[name] == pin, f"{pin.line} vs {test[name].line} in test.txt"
    for name in set(build) & (set(production) | set(test)):
        assert build[name].version == test.get(name, production.get(name)).version


def test_the_bench_adds_to_the_test_venv_without_changing_it(locks):
    """`make bench` installs bench.txt over the test lock: shared releases are the same."""
    test, bench = locks["test"], locks["bench"]
    for name in set(test) & set(bench):
        assert bench[name] == test[name], f"{bench[name].line} vs {test[name].line}"


def test_the_project_itself_is_not_in_a_lock(locks):
    """Vigie is installed from the checkout (`pip install --no-deps -e .`), never from an index."""
    for name, pins in locks.items():
        assert "vigie" not in pins, f"requirements/{name}.txt pins vigie"


def test_read_lock_refuses_an_unhashed_or_unpinned_line(tmp_path):
    good = (REQUIREMENTS / "build.txt").read_text(encoding="utf-8")
    cases = {
        "unhashed": good + "flask==3.1.3\n",
        "range": good + "flask>=3.1 \\\n    --hash=sha256:" + "a" * 64 + "\n",
        "short hash": good + "flask==3.1.3 --hash=sha256:abc\n",
        "editable": good + "-e .\n",
    }
    for label, text in cases.items():
        path = tmp_path / f"{label}.txt"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(AssertionError):
            read_lock(path)
