"""A deterministic, offline simulated estate behind the :class:`MonitoringSource` contract.

* :mod:`.estate` — the members, their sites and equipment, generated from a seed;
* :mod:`.state` — injected faults, warnings, acknowledgements and the simulated
  outage, in a file shared (and locked) between processes;
* :mod:`.source` — :class:`DemoSource`: the contract, fault injection and the
  time model of natural incidents.
"""

from webapp.sources.base import UnknownHost
from webapp.sources.demo.estate import DEMO_MEMBERS
from webapp.sources.demo.estate import GROUP_PREFIX
from webapp.sources.demo.estate import INCIDENTS
from webapp.sources.demo.estate import ROLE_PROFILE
from webapp.sources.demo.estate import WARNING_KINDS
from webapp.sources.demo.estate import DemoMember
from webapp.sources.demo.estate import make_members
from webapp.sources.demo.source import SLOT_SECONDS
from webapp.sources.demo.source import DemoSource
from webapp.sources.demo.state import WARNING_KEY
from webapp.sources.demo.state import DemoState

__all__ = [
    "DEMO_MEMBERS",
    "GROUP_PREFIX",
    "INCIDENTS",
    "ROLE_PROFILE",
    "SLOT_SECONDS",
    "WARNING_KEY",
    "WARNING_KINDS",
    "DemoMember",
    "DemoSource",
    "DemoState",
    "UnknownHost",
    "make_members",
]
