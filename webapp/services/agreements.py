"""Supervision agreements (conventions): recorded by the syndicate, shown to the member.

A member orders pools only under a current agreement (signed, not past its renewal
date). The signed document is a PDF, checked by size (``VIGIE_AGREEMENT_MAX_BYTES``),
name and content (it must start as a PDF does), kept with its SHA-256. Recording and
editing go through the same checks (:func:`_check`) and each writes one audit line.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Agreement
from webapp.models import Member
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.services import audit
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError

PDF_MAGIC = b"%PDF-"
REFERENCE_MAX = 80
PACKAGE_MAX = 1_000_000
NAME_MAX = 255
DEFAULT_NAME = "convention.pdf"
# A date typed with a wrong year (0202, 2202) is refused rather than kept for centuries.
YEARS = range(1990, 2101)
KIB = 1024
MIB = 1024 * 1024


def current(member: Member, today: date) -> Agreement | None:
    """The agreement in force on ``today``, if any (the latest signed)."""
    return db.session.scalar(
        select(Agreement)
        .where(
            Agreement.member_id == member.id,
            Agreement.signed_on <= today,
            Agreement.renewal_on >= today,
        )
        .order_by(Agreement.signed_on.desc(), Agreement.id.desc())
        .limit(1)
    )


def of_member(member: Member) -> list[Agreement]:
    """The member's agreements, the latest signed first."""
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.member_id == member.id)
            .order_by(Agreement.signed_on.desc(), Agreement.id.desc())
        )
    )


def get(member: Member, agreement_id: int) -> Agreement:
    """``member``'s agreement ``agreement_id``, else :class:`NotFound` (another's too)."""
    row = db.session.get(Agreement, agreement_id)
    if row is None or row.member_id != member.id:
        raise NotFound(agreement_id)
    return row


def document(member: Member, agreement_id: int) -> tuple[str, bytes]:
    """The signed document of an agreement as ``(file name, content)``; :class:`NotFound`
    when the agreement is not ``member``'s or has no document."""
    row = get(member, agreement_id)
    if row.document is None:
        raise NotFound(agreement_id)
    return row.document_name or DEFAULT_NAME, row.document


def max_bytes() -> int:
    """The largest document accepted (``VIGIE_AGREEMENT_MAX_BYTES``)."""
    return int(current_app.config["AGREEMENT_MAX_BYTES"])


def size_label(size: int) -> str:
    """« 820 octets », « 12 ko », « 1,5 Mo » (the reader's locale; 1 ko = 1024 octets)."""
    if size < KIB:
        return _("%(num)d octets", num=size)
    if size < MIB:
        return _("%(size)s ko", size=format_decimal(round(size / KIB, 1), "#,##0.#"))
    return _("%(size)s Mo", size=format_decimal(round(size / MIB, 1), "#,##0.#"))


# -- checks (record and update share them) ---------------------------------------------


@dataclass(frozen=True)
class _Terms:
    """What an agreement says, checked."""

    signed_on: date
    renewal_on: date
    package_probes: int
    reference: str | None


@dataclass(frozen=True)
class _Document:
    name: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _clean_name(name: str | None) -> str:
    """The file's own name (no folder a browser may send), without control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if not unicodedata.category(c).startswith("C")).strip()
    return base[-NAME_MAX:] or DEFAULT_NAME


def _check_document(name: str | None, content: bytes | None) -> str | None:
    """The French reason ``content`` is refused, or ``None``."""
    if not content:
        return _("Le fichier est vide.")
    if len(content) > max_bytes():
        return _("Fichier trop gros : %(max)s au plus.", max=size_label(max_bytes()))
    if not (name or "").strip().lower().endswith(".pdf") or not content.startswith(PDF_MAGIC):
        return _("Le document doit être un fichier PDF.")
    return None


def _check(
    *,
    signed_on: date,
    renewal_on: date,
    package_probes: int,
    reference: str | None,
    document_name: str | None,
    document: bytes | None,
    document_required: bool,
) -> tuple[_Terms, _Document | None]:
    """Every rule of an agreement at once: :class:`ValidationError` lists each refusal."""
    errors: dict[str, str] = {}
    if signed_on.year not in YEARS:
        errors["signed_on"] = _("Date de signature invalide : vérifiez l’année.")
    if renewal_on.year not in YEARS:
        errors["renewal_on"] = _("Date de renouvellement invalide : vérifiez l’année.")
    elif renewal_on <= signed_on:
        errors["renewal_on"] = _("La date de renouvellement doit suivre la date de signature.")
    minimum = int(current_app.config["MIN_PACKAGE_PROBES"])
    if isinstance(package_probes, bool) or not isinstance(package_probes, int):
        errors["package_probes"] = _("Le forfait est un nombre entier de sondes.")
    elif package_probes < minimum:
        errors["package_probes"] = _("Le forfait compte au moins %(min)d sondes.", min=minimum)
    elif package_probes > PACKAGE_MAX:
        errors["package_probes"] = _("Le forfait compte au plus %(max)d sondes.", max=PACKAGE_MAX)
    reference = (reference or "").strip() or None
    if reference and len(reference) > REFERENCE_MAX:
        errors["reference"] = _(
            "Référence trop longue : %(max)d caractères au plus.", max=REFERENCE_MAX
        )
    checked = None
    if document is None:
        if document_required:
            errors["document"] = _("Joignez la convention signée, en PDF.")
    elif (reason := _check_document(document_name, document)) is not None:
        errors["document"] = reason
    else:
        checked = _Document(_clean_name(document_name), document)
    if errors:
        raise ValidationError(errors)
    return _Terms(signed_on, renewal_on, package_probes, reference), checked


def _require_admin(admin: User, member: Member) -> None:
    if not admin.is_admin:
        raise PermissionDenied(member.slug)


def _apply(row: Agreement, terms: _Terms, doc: _Document | None) -> None:
    row.signed_on = terms.signed_on
    row.renewal_on = terms.renewal_on
    row.package_probes = terms.package_probes
    row.reference = terms.reference
    if doc is not None:
        row.document = doc.content
        row.document_name = doc.name
        row.document_size = len(doc.content)
        row.document_sha256 = doc.sha256


def _audited(row: Agreement) -> dict[str, Any]:
    """The audited fields of ``row``, as the journal stores them (dates in ISO)."""
    return {
        "reference": row.reference,
        "signed_on": row.signed_on.isoformat(),
        "renewal_on": row.renewal_on.isoformat(),
        "package_probes": row.package_probes,
        "document": row.document_name,
        "document_sha256": row.document_sha256,
    }


# -- changes ---------------------------------------------------------------------------


def record(
    member: Member,
    admin: User,
    *,
    signed_on: date,
    renewal_on: date,
    package_probes: int,
    reference: str | None = None,
    document_name: str | None = None,
    document: bytes | None = None,
) -> Agreement:
    """Record a signed agreement with its PDF (syndicate admins). Commits."""
    _require_admin(admin, member)
    terms, doc = _check(
        signed_on=signed_on,
        renewal_on=renewal_on,
        package_probes=package_probes,
        reference=reference,
        document_name=document_name,
        document=document,
        document_required=True,
    )
    row = Agreement(member=member, recorded_by=admin)
    _apply(row, terms, doc)
    db.session.add(row)
    db.session.flush()
    audit.record(
        AuditKind.AGREEMENT_RECORDED,
        actor=admin,
        member=member,
        target=f"agreement {row.id}",
        detail=_audited(row),
    )
    db.session.commit()
    return row


def update(
    member: Member,
    agreement_id: int,
    admin: User,
    *,
    signed_on: date,
    renewal_on: date,
    package_probes: int,
    reference: str | None,
    document_name: str | None = None,
    document: bytes | None = None,
) -> Agreement:
    """Edit an agreement (syndicate admins): a new document replaces the old one, none
    keeps it. The audit line holds each changed field before and after. Commits, unless
    nothing changed (then nothing is written)."""
    _require_admin(admin, member)
    row = get(member, agreement_id)
    terms, doc = _check(
        signed_on=signed_on,
        renewal_on=renewal_on,
        package_probes=package_probes,
        reference=reference,
        document_name=document_name,
        document=document,
        document_required=False,
    )
    before = _audited(row)
    _apply(row, terms, doc)
    after = _audited(row)
    changed = {
        key: {"before": before[key], "after": after[key]}
        for key in before
        if before[key] != after[key]
    }
    if not changed:
        db.session.rollback()
        return row
    audit.record(
        AuditKind.AGREEMENT_CHANGED,
        actor=admin,
        member=member,
        target=f"agreement {row.id}",
        detail=changed,
    )
    db.session.commit()
    return row
