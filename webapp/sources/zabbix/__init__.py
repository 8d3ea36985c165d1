"""Zabbix back-end of the :class:`~webapp.sources.base.MonitoringSource` contract.

:mod:`.transport` (pyzabbix session, login, typed errors, call counters),
:mod:`.parse` (API rows -> our dataclasses), :mod:`.cursor` (event cursor and
change sets) and :mod:`.source` (:class:`ZabbixSource`: calls, batching, caches).
"""

from webapp.sources.zabbix.source import ZabbixSource

__all__ = ["ZabbixSource"]
