"""Registry of supervision sources: configuration name -> class."""

from __future__ import annotations

import os
from typing import Any

from webapp.sources.base import MonitoringSource
from webapp.sources.base import SourceError
from webapp.sources.base import SourceUnavailable

__all__ = ["MonitoringSource", "SourceError", "SourceUnavailable", "make_source"]


def make_source(config: Any, instance_path: str) -> MonitoringSource:
    """Build the source named by ``config["SOURCE"]``."""
    name = config.get("SOURCE", "demo")
    if name == "demo":
        from webapp.sources.demo import DemoSource

        state = config.get("DEMO_STATE_FILE") or os.path.join(instance_path, "demo-state.json")
        return DemoSource(
            seed=int(config.get("DEMO_SEED", 42)),
            members=int(config.get("DEMO_MEMBERS", 6)),
            items=config.get("DEMO_ITEMS"),
            state_file=state,
            incidents=bool(config.get("DEMO_INCIDENTS", True)),
        )
    if name == "zabbix":
        from webapp.sources.zabbix import ZabbixSource

        return ZabbixSource(
            config["ZABBIX_URL"],
            token=config.get("ZABBIX_TOKEN"),
            user=config.get("ZABBIX_USER"),
            password=config.get("ZABBIX_PASSWORD"),
            timeout=float(config.get("ZABBIX_TIMEOUT", 10.0)),
            groups_prefix=config.get("ZABBIX_GROUPS_PREFIX") or None,
            cache_ttl=float(config.get("ZABBIX_CACHE_TTL", 300.0)),
        )
    raise ValueError(f"Unknown monitoring source {name!r} (expected 'demo' or 'zabbix')")
