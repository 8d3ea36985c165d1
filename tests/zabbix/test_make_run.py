"""``VIGIE_SOURCE=zabbix make run`` on a fresh clone, the development Zabbix up (issue 9).

The make target itself runs, in a copy of the working tree without its ignored files
(no ``instance/``, no ``static/vendor``, no compiled translations: a fresh clone of
what is being tested). Only the virtualenv and ``node_modules`` of this checkout are
reused, and marked up to date so that make never reinstalls them from the copy.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.zabbix.conftest import ROOT
from tests.zabbix.conftest import wait_for
from webapp.services.demo import DEMO_PASSWORD

pytestmark = pytest.mark.zabbix

#: Read by scripts/zabbix.sh itself (where the development Zabbix lives), kept.
SCRIPT_SETTINGS = {"VIGIE_ZABBIX_DIR", "VIGIE_ZABBIX_PORT", "VIGIE_ZABBIX_SERVER_PORT"}


def _fresh_clone(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is not listed twice
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / "node_modules").symlink_to(ROOT / "node_modules")
    return target


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def make_run(zabbix_env, tmp_path):
    """Start ``VIGIE_SOURCE=zabbix make run`` (no token given); yield (base URL, output file)."""
    if not (ROOT / "node_modules/.package-lock.json").is_file():
        pytest.fail("no node_modules in this checkout: run `make vendor` first (make test does)")
    clone = _fresh_clone(tmp_path / "vigie")
    venv = Path(sys.prefix)
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if (not key.startswith("VIGIE_") or key in SCRIPT_SETTINGS)
        and key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "FLASK_APP")
    }
    env["VIGIE_SOURCE"] = "zabbix"
    output = tmp_path / "make-run.log"
    with output.open("w") as log:
        process = subprocess.Popen(
            ["make", "-o", f"{venv}/.installed", "-o", "node_modules/.package-lock.json", "run"]
            + [f"VENV={venv}", f"PORT={port}"],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield f"http://127.0.0.1:{port}", output, process, clone
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _health(base: str, process: subprocess.Popen, output: Path) -> dict | None:
    if process.poll() is not None:
        pytest.fail(f"make run exited ({process.returncode}):\n{output.read_text()[-3000:]}")
    try:
        response = requests.get(f"{base}/healthz", timeout=5)
    except requests.ConnectionError:
        return None
    data = response.json()
    return data if data["source"] == "ok" else None


def test_make_run_serves_the_portal_on_the_development_zabbix(make_run, zabbix_env):
    base, output, process, clone = make_run
    health = wait_for(lambda: _health(base, process, output), 180, "the portal on Zabbix")
    assert health["source_name"] == "zabbix" and health["database"] == "ok"
    log = output.read_text()
    assert "Traceback" not in log, log
    assert "Source : le Zabbix de développement" in log
    assert (clone / "instance/vigie.db").is_file()  # the clone's own portal, not this one's

    session = requests.Session()
    page = session.get(f"{base}/connexion", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    email = "elu@sarralbe.demo.example.org"
    assert email in log  # the demo accounts printed by make run
    session.post(
        f"{base}/connexion",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token},
        timeout=10,
    ).raise_for_status()
    member = session.get(f"{base}/membres/sarralbe/", timeout=30)
    assert member.status_code == 200 and member.url.endswith("/membres/sarralbe/")
    # Its equipment as the development Zabbix names it.
    assert "Routeur mairie" in member.text
