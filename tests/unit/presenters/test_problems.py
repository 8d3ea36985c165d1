"""Problems in plain French: what it is, what it means for the people, how much it hurts."""

from __future__ import annotations

import itertools
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from topology import ProblemInfo
from topology.model import Role
from topology.model import Severity
from topology.problems import ProblemKind
from webapp.presenters import problems

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
TECHNICAL = ("ICMP", "SNMP", "agent", "trigger", "Gravité", "Zabbix", "Haute", "Désastre")
# One trigger name per kind, as a Zabbix template would write it.
NAMES = {
    ProblemKind.LINK: "Interface Gi0/1(): Link down",
    ProblemKind.DOWN: "Unavailable by ICMP ping",
    ProblemKind.DISK: "/: Disk space is critically low (used > 90%)",
    ProblemKind.MEMORY: "High memory utilization (>90% for 5m)",
    ProblemKind.CPU: "High CPU utilization (over 90% for 5m)",
    ProblemKind.TONER: "Cartridge black: Toner is low",
    ProblemKind.SLOW: "High ICMP ping response time",
    ProblemKind.RESTART: "Host has been restarted (uptime < 10m)",
    ProblemKind.TEMPERATURE: "Device temperature is above critical threshold",
    ProblemKind.POWER: "Power supply #1 is in critical state",
    ProblemKind.CERTIFICATE: "SSL certificate expires soon",
    ProblemKind.OTHER: "Configuration changed",
}


def problem(name: str, severity=Severity.HIGH, minutes: int = 0, eventid: str = "1"):
    return ProblemInfo(
        eventid=eventid,
        hostid="10",
        name=name,
        severity=severity,
        since=T0 + timedelta(minutes=minutes),
    )


@pytest.mark.parametrize(
    ("kind", "role", "severity"),
    [
        (kind, role, severity)
        for (kind, role), severity in zip(
            itertools.product(ProblemKind, [r.value for r in Role]),
            itertools.cycle(Severity),
        )
    ],
)
def test_no_member_facing_word_is_technical(kind, role, severity):
    text = problems.describe(problem(NAMES[kind], severity), role)
    shown = f"{text.title} {text.meaning} {text.impact_label}"
    assert text.title and text.meaning.endswith(".") and text.impact_label
    for word in TECHNICAL:
        assert word.lower() not in shown.lower(), (word, shown)
    # The source's wording is kept for support, unchanged.
    assert text.technical == NAMES[kind] and text.severity_label


def test_a_device_that_does_not_answer_says_what_it_means_for_its_role():
    meanings = {
        role: problems.describe(problem("Unavailable by ICMP ping"), role).meaning
        for role in ("access", "router", "firewall", "switch", "server", "nas", "camera")
        + ("ap", "printer", "phone", "link")
    }
    assert "Internet" in meanings["access"] and "Internet" in meanings["router"]
    assert "branché" in meanings["switch"]
    assert "images" in meanings["camera"] and "Wi-Fi" in meanings["ap"]
    assert "imprimer" in meanings["printer"] and "appeler" in meanings["phone"]
    assert "sauvegardes" in meanings["nas"] and "applications" in meanings["server"]
    assert "sites" in meanings["link"]
    assert len(set(meanings.values())) == len(meanings), "one sentence per role"
    assert problems.describe(problem("Unavailable by ICMP ping"), "other").meaning == (
        "L’équipement ne répond plus."
    )


def test_a_cut_link_reads_as_a_link_on_a_link_and_as_a_port_elsewhere():
    on_link = problems.describe(problem("Liaison coupée : Fibre"), "link")
    on_switch = problems.describe(problem("Interface Gi0/3: Link down"), "switch")
    assert on_link.title == on_switch.title == "Liaison coupée"
    assert "sites" in on_link.meaning and "port réseau" in on_switch.meaning
    silent = problems.describe(problem("Fibre ne répond plus (ICMP)"), "link")
    assert silent.kind == "link" and silent.title == "Liaison coupée"


@pytest.mark.parametrize(
    ("severity", "label"),
    [
        (Severity.DISASTER, "Service interrompu"),
        (Severity.HIGH, "Service interrompu"),
        (Severity.AVERAGE, "Service perturbé"),
        (Severity.WARNING, "Service perturbé"),
        (Severity.INFORMATION, "À surveiller"),
        (Severity.NOT_CLASSIFIED, "À surveiller"),
    ],
)
def test_the_impact_is_said_in_words(severity, label):
    assert problems.describe(problem("Toner presque vide", severity), "printer").impact_label == (
        label
    )


def test_the_most_hurtful_problem_comes_first_then_the_oldest():
    texts = problems.describe_all(
        [
            problem("Toner presque vide", Severity.INFORMATION, 0, "a"),
            problem("Temps de réponse élevé", Severity.WARNING, 5, "b"),
            problem("ne répond plus (ICMP)", Severity.HIGH, 9, "c"),
            problem("Liaison coupée", Severity.DISASTER, 7, "d"),
            problem("Onduleur sur batterie", Severity.HIGH, 1, "e"),
        ],
        "router",
    )
    assert [t.eventid for t in texts] == ["d", "e", "c", "b", "a"]


def test_the_live_script_gets_every_title_and_impact():
    texts = problems.live_texts()
    assert set(texts["problem_titles"]) == {k.value for k in ProblemKind}
    assert set(texts["impacts"]) == {"interrupted", "degraded", "watch"}
