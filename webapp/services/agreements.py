"""Supervision agreements (conventions): recorded by the syndicate, shown to the member.

A member orders pools only under a current agreement (signed, not past its renewal
date). The signed document is a PDF, checked by size (``VIGIE_AGREEMENT_MAX_BYTES``),
name and content (it must start as a PDF does), kept with its SHA-256.
"""

from __future__ import annotations

import hashlib
from datetime import date

from flask import current_app
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
    return list(
        db.session.scalars(
            select(Agreement)
            .where(Agreement.member_id == member.id)
            .order_by(Agreement.signed_on.desc(), Agreement.id.desc())
        )
    )


def get(member: Member, agreement_id: int) -> Agreement:
    row = db.session.get(Agreement, agreement_id)
    if row is None or row.member_id != member.id:
        raise NotFound(agreement_id)
    return row


def _check_document(name: str | None, content: bytes | None) -> None:
    if content is None:
        return
    limit = int(current_app.config["AGREEMENT_MAX_BYTES"])
    if not content:
        raise ValidationError({"document": _("Le fichier est vide.")})
    if len(content) > limit:
        raise ValidationError(
            {
                "document": _(
                    "Fichier trop gros : %(max)d Mo au plus.", max=max(1, limit // (1024 * 1024))
                )
            }
        )
    if not (name or "").lower().endswith(".pdf") or not content.startswith(PDF_MAGIC):
        raise ValidationError({"document": _("Le document doit être un fichier PDF.")})


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
    """Record a signed agreement (syndicate admins). Commits."""
    if not admin.is_admin:
        raise PermissionDenied(member.slug)
    errors = {}
    if renewal_on <= signed_on:
        errors["renewal_on"] = _("La date de renouvellement doit suivre la date de signature.")
    minimum = int(current_app.config["MIN_PACKAGE_PROBES"])
    if not minimum <= package_probes <= 1_000_000:
        errors["package_probes"] = _("Le forfait compte au moins %(min)d sondes.", min=minimum)
    if reference and len(reference) > 80:
        errors["reference"] = _("Référence trop longue : 80 caractères au plus.")
    if errors:
        raise ValidationError(errors)
    _check_document(document_name, document)
    row = Agreement(
        member=member,
        reference=(reference or "").strip() or None,
        signed_on=signed_on,
        renewal_on=renewal_on,
        package_probes=package_probes,
        recorded_by=admin,
    )
    if document is not None:
        row.document = document
        row.document_name = (document_name or "convention.pdf")[-255:]
        row.document_size = len(document)
        row.document_sha256 = hashlib.sha256(document).hexdigest()
    db.session.add(row)
    db.session.flush()
    audit.record(
        AuditKind.AGREEMENT_RECORDED,
        actor=admin,
        member=member,
        target=f"agreement {row.id}",
        detail={
            "signed_on": signed_on.isoformat(),
            "renewal_on": renewal_on.isoformat(),
            "package_probes": package_probes,
            "document": row.document_name,
        },
    )
    db.session.commit()
    return row
