"""What a problem is about, read from trigger names as Zabbix templates and the demo write them."""

import pytest

from topology.model import Severity
from topology.problems import Impact
from topology.problems import ProblemKind
from topology.problems import classify
from topology.problems import impact_of
from webapp.sources.demo.estate import INCIDENTS


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        # Zabbix 6.0 template triggers (English)
        ("Unavailable by ICMP ping", ProblemKind.DOWN),
        ("Zabbix agent is not available (for 3m)", ProblemKind.DOWN),
        ("No SNMP data collection", ProblemKind.DOWN),
        ("Interface Gi0/1(): Link down", ProblemKind.LINK),
        (
            "Interface eth0: Ethernet has changed to lower speed than it was before",
            ProblemKind.OTHER,
        ),
        ("High ICMP ping response time", ProblemKind.SLOW),
        ("High ICMP ping loss", ProblemKind.SLOW),
        ("/: Disk space is critically low (used > 90%)", ProblemKind.DISK),
        ("Free disk space is less than 20% on volume /var", ProblemKind.DISK),
        ("High CPU utilization (over 90% for 5m)", ProblemKind.CPU),
        ("Load average is too high (per CPU load over 1.5 for 5m)", ProblemKind.CPU),
        ("High memory utilization (>90% for 5m)", ProblemKind.MEMORY),
        ("Lack of free swap space", ProblemKind.MEMORY),
        ("Cartridge black: Toner is low", ProblemKind.TONER),
        ("Printer: out of paper", ProblemKind.TONER),
        ("sw-core has been restarted (uptime < 10m)", ProblemKind.RESTART),
        ("Device temperature is above critical threshold", ProblemKind.TEMPERATURE),
        ("Fan 2 is in critical state", ProblemKind.TEMPERATURE),
        ("Power supply #1 is in critical state", ProblemKind.POWER),
        ("UPS on battery", ProblemKind.POWER),
        ("SSL certificate expires soon (less than 7 days)", ProblemKind.CERTIFICATE),
        ("Configuration changed", ProblemKind.OTHER),
        # French, as the demo and the syndicate's own triggers write them
        ("Routeur mairie ne répond plus (ICMP)", ProblemKind.DOWN),
        ("Liaison coupée : Fibre mairie – école", ProblemKind.LINK),
        ("Caméra hors ligne : Caméra parking", ProblemKind.DOWN),
        ("Espace disque faible sur NAS (92 % utilisés)", ProblemKind.DISK),
        ("Charge processeur élevée sur Serveur", ProblemKind.CPU),
        ("Toner presque vide sur Imprimante accueil", ProblemKind.TONER),
        ("Temps de réponse élevé sur Box", ProblemKind.SLOW),
        ("Onduleur sur batterie", ProblemKind.POWER),
        ("Température élevée du local technique", ProblemKind.TEMPERATURE),
        ("Le serveur a redémarré", ProblemKind.RESTART),
        ("Mémoire presque pleine", ProblemKind.MEMORY),
        ("Certificat du portail expiré", ProblemKind.CERTIFICATE),
        ("Quelque chose d’inattendu", ProblemKind.OTHER),
    ],
)
def test_a_problem_is_classified_by_its_name(name, kind):
    assert classify(name) == kind


def test_every_demo_incident_is_recognised():
    for template, _severity in INCIDENTS.values():
        assert classify(template.format(name="Équipement")) != ProblemKind.OTHER, template


def test_an_inter_site_link_that_does_not_answer_is_a_cut_link():
    assert classify("Fibre mairie – école ne répond plus (ICMP)", "link") == ProblemKind.LINK
    assert classify("Fibre mairie – école ne répond plus (ICMP)", "switch") == ProblemKind.DOWN
    # Other kinds on a link stay what they are.
    assert classify("Temps de réponse élevé sur Fibre", "link") == ProblemKind.SLOW


def test_case_does_not_matter():
    assert classify("UNAVAILABLE BY ICMP PING") == ProblemKind.DOWN
    assert classify("liaison COUPÉE") == ProblemKind.LINK


@pytest.mark.parametrize(
    ("severity", "impact"),
    [
        (Severity.DISASTER, Impact.INTERRUPTED),
        (Severity.HIGH, Impact.INTERRUPTED),
        (Severity.AVERAGE, Impact.DEGRADED),
        (Severity.WARNING, Impact.DEGRADED),
        (Severity.INFORMATION, Impact.WATCH),
        (Severity.NOT_CLASSIFIED, Impact.WATCH),
        (4, Impact.INTERRUPTED),
    ],
)
def test_the_impact_follows_the_severity(severity, impact):
    assert impact_of(severity) == impact
