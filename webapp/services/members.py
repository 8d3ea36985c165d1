"""Member organisations: creation and validation."""

from __future__ import annotations

import logging
import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import HostGroupLink
from webapp.models import Member
from webapp.models import Subscription
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.models.choices import MemberKind
from webapp.services import audit
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
GROUP_RE = re.compile(r"^[^\x00-\x1f<>]{1,255}$")


def siren_is_valid(siren: str) -> bool:
    """A SIREN is 9 digits with a Luhn checksum.

    >>> siren_is_valid("732829320"), siren_is_valid("732829321")
    (True, False)
    """
    if not re.fullmatch(r"\d{9}", siren):
        return False
    total = 0
    for index, char in enumerate(reversed(siren)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def validate_member(
    *,
    name: str,
    slug: str,
    kind: str,
    siren: str | None,
    host_groups: list[str],
    contact_email: str | None = None,
) -> None:
    errors: dict[str, str] = {}
    if not name.strip() or len(name) > 160:
        errors["name"] = _("Le nom est obligatoire (160 caractères au plus).")
    if not SLUG_RE.fullmatch(slug) or len(slug) > 63:
        errors["slug"] = _(
            "L'identifiant ne peut contenir que des minuscules, chiffres et tirets "
            "(63 caractères au plus)."
        )
    elif db.session.execute(select(Member.id).where(Member.slug == slug)).first():
        errors["slug"] = _("Cet identifiant est déjà utilisé.")
    if kind not in set(MemberKind):
        errors["kind"] = _("Type de membre inconnu.")
    if siren and not siren_is_valid(siren):
        errors["siren"] = _("Le SIREN doit comporter 9 chiffres valides.")
    for group in host_groups:
        if not GROUP_RE.fullmatch(group):
            errors["host_groups"] = _("Nom de groupe d'hôtes Zabbix invalide.")
            break
        owner = db.session.execute(
            select(HostGroupLink).where(HostGroupLink.name == group)
        ).scalar_one_or_none()
        if owner is not None:
            errors["host_groups"] = _(
                "Le groupe « %(group)s » est déjà attribué à un autre membre.", group=group
            )
            break
    if not host_groups:
        errors["host_groups"] = _("Indiquez au moins un groupe d'hôtes Zabbix.")
    if errors:
        raise ValidationError(errors)


def _text_or_none(value: str | None) -> str | None:
    """An optional text: stripped, and None when blank (never a value of spaces)."""
    return (value or "").strip() or None


def create_member(
    *,
    name: str,
    slug: str,
    kind: str,
    host_groups: list[str],
    siren: str | None = None,
    contact_name: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    pools: int = 0,
    actor: User | None = None,
    via: str | None = None,
) -> Member:
    """Create a member with its host groups and a minimum-package subscription.

    Its creation (by ``actor``; ``via="cli"`` from the command line) is an audit line.
    """
    name, slug = name.strip(), slug.strip()
    host_groups = [g.strip() for g in host_groups if g.strip()]
    validate_member(name=name, slug=slug, kind=kind, siren=siren or None, host_groups=host_groups)
    config = current_app.config
    member = Member(
        name=name,
        slug=slug,
        kind=kind,
        siren=siren or None,
        contact_name=_text_or_none(contact_name),
        contact_email=_text_or_none(contact_email),
        contact_phone=_text_or_none(contact_phone),
    )
    member.host_groups = [HostGroupLink(name=group) for group in host_groups]
    member.subscription = Subscription(
        package_probes=int(config["MIN_PACKAGE_PROBES"]),
        pool_size=int(config["POOL_SIZE_PROBES"]),
        pools=pools,
        base_pools=pools,
        price_per_probe_eur=int(config["PRICE_PER_PROBE_EUR"]),
    )
    db.session.add(member)
    db.session.flush()  # its id, for the audit line
    detail = {"slug": slug, "kind": kind, "host_groups": ", ".join(host_groups)}
    if via:
        detail["via"] = via
    audit.record(
        AuditKind.MEMBER_CREATED, actor=actor, member=member, target=f"member {slug}", detail=detail
    )
    db.session.commit()
    logger.info("Member %s created with groups %s", slug, host_groups)
    return member


def all_members() -> list[Member]:
    return list(db.session.execute(select(Member).order_by(Member.name)).scalars())
