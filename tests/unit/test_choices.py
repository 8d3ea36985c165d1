"""One vocabulary of states, severities and roles: topology's enums, the web side's words."""

from topology.model import MemberState
from topology.model import NodeState
from topology.model import Role
from topology.model import Severity
from webapp.models.choices import ROLE_LABELS
from webapp.models.choices import SEVERITY_LABELS
from webapp.models.choices import STATE_DISPLAY
from webapp.models.choices import HealthState
from webapp.sources import base


def test_sources_and_topology_share_one_severity():
    assert base.Severity is Severity


def test_every_state_a_node_or_member_takes_has_its_display():
    assert set(STATE_DISPLAY) == set(NodeState)
    assert {HealthState(state.value) for state in MemberState} <= set(STATE_DISPLAY)


def test_every_severity_and_role_has_a_label():
    assert set(SEVERITY_LABELS) == set(Severity)
    assert set(ROLE_LABELS) == set(Role)
    assert SEVERITY_LABELS[4] == SEVERITY_LABELS[Severity.HIGH]  # plain ints still read
    assert ROLE_LABELS["other"] == ROLE_LABELS[Role.OTHER]
