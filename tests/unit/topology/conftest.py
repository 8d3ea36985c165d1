"""Factories for the topology unit tests (no Flask app)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC
from datetime import datetime

import pytest

from topology import HostInfo
from topology import ProblemInfo
from topology import layout_cache_clear

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_layout_cache():
    layout_cache_clear()
    yield
    layout_cache_clear()


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def make_host():
    """``make_host(hostid, name=None, **fields)``; the technical name defaults to ``h<id>``."""

    def make(hostid: str, name: str | None = None, **fields) -> HostInfo:
        fields.setdefault("host", f"h{hostid}")
        fields.setdefault("available", "available")
        fields.setdefault("last_data_age_s", 30.0)
        return HostInfo(hostid=hostid, name=name or f"Host {hostid}", **fields)

    return make


@pytest.fixture
def make_problem():
    """``make_problem(hostid, severity=4, **fields)`` with unique event ids."""
    counter = itertools.count(1)

    def make(hostid: str, severity: int = 4, **fields) -> ProblemInfo:
        fields.setdefault("eventid", f"ev{next(counter)}")
        fields.setdefault("name", f"Problem on {hostid}")
        fields.setdefault("since", T0)
        return ProblemInfo(hostid=hostid, severity=severity, **fields)

    return make


def _estate(size: int, seed: int) -> list[HostInfo]:
    """A multi-site estate of about ``size`` hosts, a mix of parent tags and inference."""
    rnd = random.Random(seed)
    hosts: list[HostInfo] = []
    ids = itertools.count(1000)

    def add(name: str, **fields) -> HostInfo:
        hostid = str(next(ids))
        h = HostInfo(hostid=hostid, host=f"t-{hostid}", name=name, available="available", **fields)
        hosts.append(h)
        return h

    sites = ["Mairie", "École", "Médiathèque", "Stade", "Ateliers"]
    add("Box fibre", role="access", site="Mairie")
    add("Routeur mairie", role="router", site="Mairie")
    for site in sites[1:]:
        add(f"Liaison {site}", role="link", site=site)
        add(f"Routeur {site}", role="router", site=site)
    device_roles = ["server", "nas", "camera", "ap", "printer", "phone", None]
    switches: dict[str, list[HostInfo]] = {s: [] for s in sites}
    while len(hosts) < size:
        site = rnd.choice(sites)
        if not switches[site] or rnd.random() < 0.04:
            switches[site].append(add(f"Commutateur {site} {len(switches[site]) + 1}", site=site))
            continue
        role = rnd.choice(device_roles)
        sw = rnd.choice(switches[site])
        parent = sw.host if rnd.random() < 0.7 else None
        add(f"{role or 'poste'} {site} {len(hosts)}", role=role, site=site, parent=parent)
    return hosts


@pytest.fixture
def estate():
    """``estate(size=500, seed=1)`` -> list of HostInfo."""

    def make(size: int = 500, seed: int = 1) -> list[HostInfo]:
        return _estate(size, seed)

    return make
