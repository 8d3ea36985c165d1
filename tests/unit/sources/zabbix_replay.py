"""A Zabbix JSON-RPC transport that replays answers recorded from a real server.

The answers live in ``recorded/zabbix/<method>.json`` beside this module, one
file per API method, each entry an exact ``params`` object and the ``result``
(or ``error``) the server gave. :class:`ReplayAdapter`, mounted on a
:class:`requests.Session`, answers a call whose method and params match an
entry, and fails the test (:class:`NotRecorded`) on any other call: nothing
leaves the machine.

:class:`RecordingAdapter` sends every call to the real server and keeps the
answers; :func:`write` replaces the files with them. The contract suite
records through it (see ``tests/unit/sources/test_contract.py``)::

    set -a; . "$(scripts/zabbix.sh env-file)"; set +a
    VIGIE_RECORD_ZABBIX=1 VIGIE_TEST_ZABBIX_URL=$VIGIE_ZABBIX_URL \\
    VIGIE_TEST_ZABBIX_TOKEN=$VIGIE_ZABBIX_TOKEN \\
    .venv/bin/python -m pytest tests/unit/sources/test_contract.py -p no:randomly

Run the whole module when recording: the files are rewritten with what that
run asked, no more. The first answer to a call is kept when it is asked again.
Tokens and passwords never reach the files (they are not ``params``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.adapters import HTTPAdapter

#: Where the recorded answers live, one JSON file per API method.
RECORDED = Path(__file__).parent / "recorded" / "zabbix"

#: The URL a replaying source is given (never resolved: the adapter answers first).
REPLAY_URL = "http://zabbix.recorded/api_jsonrpc.php"

_NOTE = (
    "Answers of the development Zabbix (scripts/zabbix.sh) replayed by the source contract "
    "suite; refresh: see tests/unit/sources/zabbix_replay.py."
)

Key = tuple[str, str]


class NotRecorded(AssertionError):
    """A call that no recording answers (the source changed: record again)."""


def _key(method: str, params: Any) -> Key:
    return method, json.dumps(params, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def json_response(request: requests.PreparedRequest, status: int, body: bytes) -> requests.Response:
    """Build the :class:`requests.Response` a JSON-RPC server would send to ``request``."""
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers["Content-Type"] = "application/json"
    response.encoding = "utf-8"
    response.url = request.url
    response.request = request
    return response


def load(folder: Path = RECORDED) -> dict[Key, dict[str, Any]]:
    """Read every recorded answer: (method, params as canonical JSON) -> answer."""
    answers: dict[Key, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for entry in document["calls"]:
            answer = {k: entry[k] for k in ("result", "error") if k in entry}
            answers[_key(document["method"], entry["params"])] = answer
    return answers


def write(answers: dict[Key, dict[str, Any]], folder: Path = RECORDED) -> None:
    """Replace the recorded files with ``answers`` (one file per method, sorted)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    methods = sorted({method for method, _ in answers})
    for method in methods:
        calls = [
            {"params": json.loads(params), **answer}
            for (name, params), answer in sorted(answers.items())
            if name == method
        ]
        document = {"note": _NOTE, "method": method, "calls": calls}
        text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
        (folder / f"{method}.json").write_text(text + "\n", encoding="utf-8")


class ReplayAdapter(BaseAdapter):
    """Answer JSON-RPC calls from recorded answers only."""

    def __init__(self, answers: dict[Key, dict[str, Any]]) -> None:
        super().__init__()
        self.answers = answers
        self.methods: list[str] = []  # methods asked, in order

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        payload = json.loads(request.body)
        key = _key(payload["method"], payload["params"])
        self.methods.append(payload["method"])
        if key not in self.answers:
            raise NotRecorded(
                f"no recorded answer to Zabbix {key[0]} {key[1][:300]}: record again "
                "(tests/unit/sources/zabbix_replay.py says how)"
            )
        body = {"jsonrpc": "2.0", **self.answers[key], "id": payload["id"]}
        return json_response(request, 200, json.dumps(body).encode())

    def close(self) -> None:
        pass


class RecordingAdapter(HTTPAdapter):
    """Send calls to the real server and keep the first answer to each."""

    def __init__(self, answers: dict[Key, dict[str, Any]]) -> None:
        super().__init__()
        self.answers = answers

    def send(self, request, *args, **kwargs):
        response = super().send(request, *args, **kwargs)
        payload = json.loads(request.body)
        answer = response.json()
        kept = {k: answer[k] for k in ("result", "error") if k in answer}
        if kept:
            self.answers.setdefault(_key(payload["method"], payload["params"]), kept)
        return response


def session(adapter: BaseAdapter, url: str) -> requests.Session:
    """Return a session sending every request for ``url``'s server through ``adapter``."""
    http = requests.Session()
    http.trust_env = False
    http.mount(url.split("/api_jsonrpc.php")[0] + "/", adapter)
    return http
