"""pip, as `make venv` and the production instructions run it, refuses a release whose file does
not match the lock: one entry of requirements/production.txt, downloaded from PyPI as it stands,
then with the hash of the very file pip fetched altered, then with every hash of it altered.
Marked ``network`` (PyPI); `make test` runs it, `make test-fast` does not."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "production.txt"
INDEX = "https://pypi.org/simple"
PACKAGE = "blinker"  # small, pure Python: one wheel to fetch
REFUSED = "DO NOT MATCH THE HASHES"


def lock_entry(name: str) -> str:
    """The lines of ``name`` in the lock, backslash continuations and hashes included."""
    match = re.search(rf"^{re.escape(name)}==.*?(?=^\S|^\s*#)", LOCK.read_text(), re.M | re.S)
    assert match, f"{name} is not in {LOCK.name}"
    return match.group(0)


def alter(digest: str) -> str:
    """The same sha256 with its last hex digit changed."""
    return digest[:-1] + ("0" if digest[-1] != "0" else "1")


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    """This venv's pip, on PyPI only (no local index, wheel folder or constraint from the
    machine's pip configuration), in hash-checking mode, no dependency."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k == "PIP_CERT"}
    env["PIP_CONFIG_FILE"] = os.devnull
    command = [
        sys.executable,
        "-m",
        "pip",
        *args,
        "--index-url",
        INDEX,
        "--no-deps",
        "--require-hashes",
        "--disable-pip-version-check",
        "--no-input",
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def fetched(tmp_path_factory) -> tuple[str, Path]:
    """The lock's entry, and the file pip downloads for it (the check passes)."""
    entry = lock_entry(PACKAGE)
    folder = tmp_path_factory.mktemp("genuine")
    requirements = folder / "requirements.txt"
    requirements.write_text(entry)
    result = pip(
        "download", "--only-binary", ":all:", "-d", str(folder / "files"), "-r", str(requirements)
    )
    assert result.returncode == 0, result.stderr
    files = list((folder / "files").iterdir())
    assert len(files) == 1, files
    return entry, files[0]


def test_pip_accepts_the_file_the_lock_describes(fetched):
    entry, file = fetched
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    assert f"--hash=sha256:{digest}" in entry


def test_pip_refuses_the_file_once_its_hash_is_altered(fetched, tmp_path):
    entry, file = fetched
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    forged = alter(digest)
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(entry.replace(digest, forged))
    assert tampered.read_text().count(forged) == 1

    result = pip(
        "download", "--only-binary", ":all:", "-d", str(tmp_path / "files"), "-r", str(tampered)
    )
    assert result.returncode != 0
    assert REFUSED in result.stderr
    assert re.search(rf"Expected .*{forged}.*Got\s+{digest}", result.stderr, re.S)
    assert not any((tmp_path / "files").glob("*"))


def test_make_venv_s_command_refuses_a_forged_entry(fetched, tmp_path):
    """Every hash of the entry altered: pip may not fall back on another file (with only the
    wheel's hash altered, it takes the sdist whose hash still matches)."""
    entry, _ = fetched
    forged = re.sub(r"(?<=sha256:)[0-9a-f]{64}", lambda m: alter(m.group(0)), entry)
    assert not set(re.findall(r"sha256:(\w+)", forged)) & set(re.findall(r"sha256:(\w+)", entry))
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(forged)
    # The command `make venv` runs; --dry-run: nothing installed even if it were accepted.
    result = pip(
        "install", "--dry-run", "--ignore-installed", "--no-build-isolation", "-r", str(tampered)
    )
    assert result.returncode != 0
    assert REFUSED in result.stderr
    assert "Would install" not in result.stdout
