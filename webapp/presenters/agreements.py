"""Supervision agreements in words: the one in force (or why there is none), each
agreement's row, and the headers of a document download.

:func:`agreement_status` is what every page that depends on the agreement shows (the
agreement page, the order pages): one sentence, a state and a class; the state is
always told in words, never by the colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from flask_babel import format_date
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.models import Agreement
from webapp.models import Member
from webapp.services import agreements

__all__ = [
    "AgreementRow",
    "AgreementStatus",
    "agreement_row",
    "agreement_status",
    "day",
    "download_headers",
    "package",
    "rows",
]

CURRENT = "current"
EXPIRED = "expired"
NOT_YET_SIGNED = "not_yet_signed"
SUPERSEDED = "superseded"
NONE = "none"

# state -> (label, badge modifier of .badge, glyph): the word carries the state.
_BADGES = {
    CURRENT: (lambda: _("En vigueur"), "ok", "✓"),
    EXPIRED: (lambda: _("Expirée"), "problem", "✕"),
    NOT_YET_SIGNED: (lambda: _("Pas encore en vigueur"), "warning", "…"),
    SUPERSEDED: (lambda: _("Remplacée"), "unknown", "–"),
}


def day(value: date) -> str:
    """« 15 janvier 2025 » (the reader's locale)."""
    return format_date(value, "d MMMM y")


def package(probes: int) -> str:
    """« 100 sondes »."""
    return ngettext("%(count)s sonde", "%(count)s sondes", probes, count=format_number(probes))


@dataclass(frozen=True)
class AgreementStatus:
    """Whether ``member`` has an agreement in force, in words.

    ``agreement`` is the agreement in force (``None``: pools cannot be ordered);
    ``state`` is ``current``, ``expired`` (the latest one has passed its renewal
    date), ``not_yet_signed`` (the only ones start later) or ``none``; ``css_class``
    is ``agreement-status--ok`` or ``agreement-status--missing``.
    """

    agreement: Agreement | None
    state: str
    sentence: str
    css_class: str

    @property
    def in_force(self) -> bool:
        return self.agreement is not None


def agreement_status(member: Member, today: date) -> AgreementStatus:
    """The agreement in force on ``today`` for ``member``, or why there is none."""
    agreement = agreements.current(member, today)
    if agreement is not None:
        facts = {
            "signed": day(agreement.signed_on),
            "renewal": day(agreement.renewal_on),
            "package": package(agreement.package_probes),
        }
        if agreement.reference:
            sentence = _(
                "Convention %(reference)s signée le %(signed)s, en vigueur jusqu’au "
                "%(renewal)s (forfait de %(package)s).",
                reference=agreement.reference,
                **facts,
            )
        else:
            sentence = _(
                "Convention signée le %(signed)s, en vigueur jusqu’au %(renewal)s "
                "(forfait de %(package)s).",
                **facts,
            )
        return AgreementStatus(agreement, CURRENT, sentence, "agreement-status--ok")
    rows = agreements.of_member(member)
    latest = rows[0] if rows else None
    if latest is not None and latest.signed_on > today:
        sentence = _(
            "Pas de convention en vigueur : celle du syndicat prend effet le %(signed)s ; "
            "aucune commande de pools n’est possible avant cette date.",
            signed=day(latest.signed_on),
        )
        state = NOT_YET_SIGNED
    elif latest is not None:
        sentence = _(
            "Pas de convention en vigueur : la dernière a expiré le %(renewal)s ; aucune "
            "commande de pools n’est possible. Contactez le syndicat pour la renouveler.",
            renewal=day(latest.renewal_on),
        )
        state = EXPIRED
    else:
        sentence = _(
            "Pas de convention en vigueur : aucune commande de pools n’est possible. "
            "Contactez le syndicat pour la signer."
        )
        state = NONE
    return AgreementStatus(None, state, sentence, "agreement-status--missing")


@dataclass(frozen=True)
class AgreementRow:
    """One agreement as a table row or a list of facts shows it."""

    id: int
    reference: str
    signed_on: str
    signed_on_iso: str
    renewal_on: str
    renewal_on_iso: str
    package: str
    document: str | None  # « convention.pdf (12 ko) »; None without a document
    state: str
    state_label: str
    state_css: str  # modifier of .badge
    state_icon: str


def agreement_row(agreement: Agreement, today: date, current: Agreement | None) -> AgreementRow:
    """``current`` is the agreement in force (the others are expired, to come or replaced)."""
    if current is not None and agreement.id == current.id:
        state = CURRENT
    elif agreement.signed_on > today:
        state = NOT_YET_SIGNED
    elif agreement.renewal_on < today:
        state = EXPIRED
    else:
        state = SUPERSEDED
    label, css, icon = _BADGES[state]
    document = None
    if agreement.document_size is not None:
        document = _(
            "%(name)s (%(size)s)",
            name=agreement.document_name or agreements.DEFAULT_NAME,
            size=agreements.size_label(agreement.document_size),
        )
    return AgreementRow(
        id=agreement.id,
        reference=agreement.reference or "—",
        signed_on=day(agreement.signed_on),
        signed_on_iso=agreement.signed_on.isoformat(),
        renewal_on=day(agreement.renewal_on),
        renewal_on_iso=agreement.renewal_on.isoformat(),
        package=package(agreement.package_probes),
        document=document,
        state=state,
        state_label=label(),
        state_css=css,
        state_icon=icon,
    )


def rows(member: Member, today: date, current: Agreement | None) -> list[AgreementRow]:
    """Every agreement of ``member``, the latest signed first."""
    return [agreement_row(a, today, current) for a in agreements.of_member(member)]


def download_headers(name: str) -> dict[str, str]:
    """Headers of a document download: a PDF to save, never to sniff, never cached."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return {
        "Content-Type": "application/pdf",
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
        ),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
