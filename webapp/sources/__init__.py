"""Registry of supervision sources: configuration name -> class.

Building a source sends nothing; a missing or wrong setting raises
:class:`SourceConfigError` with one line, in French, naming the ``VIGIE_*``
variable to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from webapp.sources.base import MonitoringSource
from webapp.sources.base import SourceConfigError
from webapp.sources.base import SourceError
from webapp.sources.base import SourceUnavailable

__all__ = [
    "SOURCES",
    "MonitoringSource",
    "SourceConfigError",
    "SourceError",
    "SourceUnavailable",
    "check_settings",
    "make_source",
    "make_zabbix_source",
]

SOURCES = ("demo", "zabbix")


def make_source(config: Mapping[str, Any], instance_path: str) -> MonitoringSource:
    """Build the source named by ``config["SOURCE"]``.

    Raises
    ------
    SourceConfigError
        Unknown source name, or a setting of that source missing or wrong.
    """
    name = check_settings(config)
    if name == "demo":
        from webapp.sources.demo import DemoSource

        state = config.get("DEMO_STATE_FILE") or os.path.join(instance_path, "demo-state.json")
        return DemoSource(**_demo_settings(config), state_file=state)
    return make_zabbix_source(config)


def check_settings(config: Mapping[str, Any]) -> str:
    """Check the settings of the configured source without building it; return its name.

    Imports no client library and sends nothing (gunicorn's master runs it).

    Raises
    ------
    SourceConfigError
        Unknown source name, or a setting of that source missing or wrong.
    """
    name = config.get("SOURCE", "demo")
    if name == "demo":
        _demo_settings(config)
    elif name == "zabbix":
        _zabbix_settings(config)
    else:
        raise SourceConfigError(
            f"VIGIE_SOURCE={name!r} : source de supervision inconnue (demo ou zabbix)."
        )
    return name


def make_zabbix_source(config: Mapping[str, Any]):
    """Build a :class:`~webapp.sources.zabbix.ZabbixSource` from the ``ZABBIX_*`` settings."""
    from webapp.sources.zabbix import ZabbixSource

    settings = _zabbix_settings(config)
    return ZabbixSource(settings.pop("url"), **settings)


def _demo_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    items = config.get("DEMO_ITEMS")
    return {
        "seed": _number(config, "DEMO_SEED", 42, int),
        "members": _number(config, "DEMO_MEMBERS", 8, int),
        "items": None if items is None else _number(config, "DEMO_ITEMS", None, int),
        "incidents": bool(config.get("DEMO_INCIDENTS", True)),
    }


def _zabbix_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    url = str(config.get("ZABBIX_URL") or "")
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed host ("http://[::1")
        valid = False
    if not valid:
        raise SourceConfigError(
            f"VIGIE_ZABBIX_URL={url!r} n'est pas une adresse http(s) "
            "(ex. https://zabbix.example/api_jsonrpc.php)."
        )
    token = config.get("ZABBIX_TOKEN") or None
    user, password = config.get("ZABBIX_USER") or None, config.get("ZABBIX_PASSWORD") or None
    if token is None and (user is None or password is None):
        raise SourceConfigError(
            "VIGIE_SOURCE=zabbix demande un jeton d'API (VIGIE_ZABBIX_TOKEN) ou un compte "
            "(VIGIE_ZABBIX_USER et VIGIE_ZABBIX_PASSWORD) ; celui du Zabbix de développement "
            "est dans le fichier qu'affiche scripts/zabbix.sh env-file (make zabbix-up)."
        )
    return {
        "url": url,
        "token": token,
        "user": user,
        "password": password,
        "timeout": _number(config, "ZABBIX_TIMEOUT", 10.0, float),
        "groups_prefix": config.get("ZABBIX_GROUPS_PREFIX") or None,
        "cache_ttl": _number(config, "ZABBIX_CACHE_TTL", 300.0, float),
    }


def _number(config: Mapping[str, Any], key: str, default: Any, kind: type) -> Any:
    value = config.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise SourceConfigError(f"VIGIE_{key}={value!r} n'est pas un nombre.") from None
    if number < 0:
        raise SourceConfigError(f"VIGIE_{key}={value!r} ne peut pas être négatif.")
    return number
