"""``flask vigie zabbix-check``: is Vigie's Zabbix connection right, in plain French?"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from webapp.services import members as member_service
from webapp.sources import make_zabbix_source
from webapp.sources.base import SourceConfigError
from webapp.sources.base import SourceError
from webapp.sources.base import SourceUnavailable

logger = logging.getLogger(__name__)

OK, WARNING, ERROR = "ok", "warning", "error"


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warning | error
    message: str


def run_checks(source=None) -> list[Finding]:
    """Check URL, token, API version, permissions and member host groups."""
    config = current_app.config
    findings: list[Finding] = []
    if source is None:
        if not (config.get("ZABBIX_TOKEN") or config.get("ZABBIX_USER")):
            return [
                Finding(ERROR, _("Aucun jeton d’API Zabbix n’est configuré (VIGIE_ZABBIX_TOKEN)."))
            ]
        try:
            # Every group the token reads, not only the prefixed ones: foreign groups are told.
            source = make_zabbix_source({**config, "ZABBIX_GROUPS_PREFIX": None})
        except SourceConfigError as exc:
            return [Finding(ERROR, str(exc))]
    url = config["ZABBIX_URL"]
    try:
        version = source.version()
    except SourceError as exc:
        return [
            Finding(
                ERROR,
                _(
                    "L’adresse %(url)s ne répond pas comme une API Zabbix : %(error)s",
                    url=url,
                    error=exc,
                ),
            )
        ]
    findings.append(Finding(OK, _("L’API Zabbix répond à l’adresse %(url)s.", url=url)))
    if version.startswith("6.0"):
        findings.append(
            Finding(OK, _("Version %(v)s : prise en charge (Zabbix 6.0 LTS).", v=version))
        )
    else:
        findings.append(
            Finding(WARNING, _("Version %(v)s : Vigie est testé avec Zabbix 6.0 LTS.", v=version))
        )
    try:
        visible = {group.name for group in source.host_groups()}
    except SourceUnavailable as exc:
        return [*findings, Finding(ERROR, _("Zabbix ne répond plus : %(e)s", e=exc))]
    except SourceError as exc:
        return [*findings, Finding(ERROR, _("Le jeton d’API est refusé : %(e)s", e=exc))]
    findings.append(
        Finding(
            OK, _("Le jeton d’API est accepté ; %(n)d groupes d’hôtes visibles.", n=len(visible))
        )
    )
    assigned = {name for member in member_service.all_members() for name in member.group_names}
    missing = sorted(assigned - visible)
    if missing:
        findings.append(
            Finding(
                ERROR,
                _(
                    "Groupes de membres introuvables ou non lisibles avec ce jeton : %(groups)s.",
                    groups=", ".join(missing),
                ),
            )
        )
    elif assigned:
        findings.append(
            Finding(OK, _("Les %(n)d groupes des membres sont lisibles.", n=len(assigned)))
        )
    prefix = config.get("ZABBIX_GROUPS_PREFIX") or "Membres/"
    unassigned = sorted(name for name in visible - assigned if name.startswith(prefix))
    if unassigned:
        findings.append(
            Finding(
                WARNING,
                _(
                    "Groupes Zabbix sans membre dans Vigie : %(groups)s.",
                    groups=", ".join(unassigned),
                ),
            )
        )
    foreign = sorted(name for name in visible - assigned if not name.startswith(prefix))
    if foreign:
        findings.append(
            Finding(
                WARNING,
                _(
                    "Le jeton lit aussi des groupes qui ne sont pas des membres "
                    "(%(n)d, par exemple « %(example)s ») : "
                    "des droits plus restreints suffisent.",
                    n=len(foreign),
                    example=foreign[0],
                ),
            )
        )
    return findings
