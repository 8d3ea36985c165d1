"""The source registry: settings checked before anything is built or sent."""

from __future__ import annotations

import pytest

from webapp.sources import check_settings
from webapp.sources import make_source
from webapp.sources.base import SourceConfigError
from webapp.sources.demo import DemoSource
from webapp.sources.zabbix import ZabbixSource

URL = "http://127.0.0.1:8089/api_jsonrpc.php"


def test_demo_and_zabbix_are_built_from_their_settings(tmp_path):
    assert isinstance(
        make_source({"SOURCE": "demo", "DEMO_INCIDENTS": False}, tmp_path), DemoSource
    )
    zabbix = make_source({"SOURCE": "zabbix", "ZABBIX_URL": URL, "ZABBIX_TOKEN": "t"}, tmp_path)
    assert isinstance(zabbix, ZabbixSource) and zabbix.calls == 0


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"SOURCE": "nagios"}, "VIGIE_SOURCE"),
        ({"SOURCE": "zabbix", "ZABBIX_URL": URL}, "VIGIE_ZABBIX_TOKEN"),
        ({"SOURCE": "zabbix", "ZABBIX_URL": URL, "ZABBIX_USER": "u"}, "VIGIE_ZABBIX_PASSWORD"),
        ({"SOURCE": "zabbix", "ZABBIX_URL": "zabbix:8080", "ZABBIX_TOKEN": "t"}, "ZABBIX_URL"),
        ({"SOURCE": "zabbix", "ZABBIX_URL": "http://[::1", "ZABBIX_TOKEN": "t"}, "ZABBIX_URL"),
        (
            {"SOURCE": "zabbix", "ZABBIX_URL": URL, "ZABBIX_TOKEN": "t", "ZABBIX_TIMEOUT": "x"},
            "TIMEOUT",
        ),
        ({"SOURCE": "demo", "DEMO_MEMBERS": -1}, "VIGIE_DEMO_MEMBERS"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_its_variable(tmp_path, settings, named):
    for attempt in (lambda: check_settings(settings), lambda: make_source(settings, tmp_path)):
        with pytest.raises(SourceConfigError) as error:
            attempt()
        message = str(error.value)
        assert named in message and "\n" not in message


def test_the_zabbix_source_itself_refuses_missing_credentials_as_a_setting_error():
    with pytest.raises(SourceConfigError):
        ZabbixSource(URL)
