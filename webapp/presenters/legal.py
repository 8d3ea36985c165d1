"""What the legal pages and the footer show: contacts, the statement's figures, retention.

Everything comes from the configuration (``VIGIE_LEGAL_*``, ``VIGIE_CONTACT_*``…) and from
the RGAA self-audit in ``docs/rgaa`` (:mod:`webapp.services.rgaa`); templates only display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_babel import ngettext
from phonenumbers import NumberParseException
from phonenumbers import PhoneNumberFormat

from webapp.config import BaseConfig
from webapp.services import rgaa

__all__ = [
    "LEGAL_SETTINGS",
    "SECURITY_TXT_LIFETIME",
    "contact",
    "footer",
    "personal_data",
    "security_txt",
    "statement",
    "status_label",
]

#: The settings the legal pages show; while one keeps its shipped value, the pages say so.
LEGAL_SETTINGS = (
    "LEGAL_PUBLISHER",
    "LEGAL_DIRECTOR",
    "LEGAL_HOST",
    "CONTACT_PHONE",
    "CONTACT_POSTAL_ADDRESS",
    "DATA_CONTROLLER",
    "DPO_CONTACT",
    "SECURITY_CONTACT",
    "ACCESSIBILITY_CONTACT",
)

#: security.txt's Expires: this far ahead of the request (RFC 9116: less than a year).
SECURITY_TXT_LIFETIME = timedelta(days=180)

_STATUS_LABELS = {
    rgaa.TOTAL: lazy_gettext("totalement conforme"),
    rgaa.PARTIAL: lazy_gettext("partiellement conforme"),
    rgaa.NONE: lazy_gettext("non conforme"),
}
RESULT_LABELS = {
    "C": lazy_gettext("Conforme"),
    "NC": lazy_gettext("Non conforme"),
    "NA": lazy_gettext("Non applicable"),
    "NT": lazy_gettext("Non vérifié"),
}


@dataclass(frozen=True)
class Contact:
    """The ways to reach the service, with and without the Internet."""

    phone: str
    phone_uri: str | None  # tel:+33…, or None when the number does not parse
    hours: str
    postal_address: str
    accessibility_email: str
    dpo_email: str
    security_uri: str
    publisher: str
    director: str
    host: str
    controller: str
    demo_values: list[str]  # the settings still at their shipped (demo) value


def status_label(status: str) -> str:
    return str(_STATUS_LABELS.get(status, _STATUS_LABELS[rgaa.NONE]))


def _audit() -> rgaa.Audit:
    return rgaa.load(current_app.config.get("ACCESSIBILITY_AUDIT_DIR"))


def _setting(name: str) -> str:
    value = current_app.config.get(name)
    return str(value).strip() if value is not None else ""


def _tel_uri(number: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, "FR")
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return "tel:" + phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def _security_uri(value: str) -> str:
    """RFC 9116's Contact is a URI: an e-mail address becomes ``mailto:``."""
    if value.startswith(("mailto:", "https:", "tel:")):
        return value
    if "@" in value:
        return "mailto:" + value
    return value


def _email(value: str) -> str:
    return value.removeprefix("mailto:")


def contact() -> Contact:
    """The configured contacts; ``demo_values`` lists the ones never configured."""
    phone = _setting("CONTACT_PHONE")
    demo = [
        f"VIGIE_{name}"
        for name in LEGAL_SETTINGS
        if current_app.config.get(name) == getattr(BaseConfig, name, object())
    ]
    return Contact(
        phone=phone,
        phone_uri=_tel_uri(phone) if phone else None,
        hours=_setting("CONTACT_HOURS"),
        postal_address=_setting("CONTACT_POSTAL_ADDRESS"),
        accessibility_email=_email(_setting("ACCESSIBILITY_CONTACT")),
        dpo_email=_email(_setting("DPO_CONTACT")),
        security_uri=_security_uri(_setting("SECURITY_CONTACT")),
        publisher=_setting("LEGAL_PUBLISHER"),
        director=_setting("LEGAL_DIRECTOR"),
        host=_setting("LEGAL_HOST"),
        controller=_setting("DATA_CONTROLLER") or _setting("LEGAL_PUBLISHER"),
        demo_values=demo,
    )


def footer() -> dict:
    """The footer of every page: the statement's status, the phone and the postal address."""
    audit = _audit()
    info = contact()
    return {
        "status": audit.status,
        "accessibility": _("Accessibilité : %(status)s", status=status_label(audit.status)),
        "phone": info.phone,
        "phone_uri": info.phone_uri,
        "postal_address": info.postal_address,
    }


def _percent(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def statement() -> dict:
    """The accessibility statement (RGAA 4.1 model) computed from the self-audit grid."""
    audit = _audit()
    pages = {page["id"]: page for page in audit.pages}

    def where(criterion: rgaa.CriterionResult, result: str) -> list[dict]:
        """The pages with ``result``, grouped by what was found there."""
        groups: dict[str, list[str]] = {}
        for page_id, page_result in criterion.pages.items():
            if page_result == result:
                groups.setdefault(criterion.details.get(page_id, ""), []).append(page_id)
        return [
            {
                "page": _("toutes les pages auditées")
                if len(ids) == len(audit.pages)
                else ", ".join(str(pages.get(i, {}).get("titre", i)) for i in ids),
                "detail": detail,
            }
            for detail, ids in groups.items()
        ]

    def pages_sentence(criterion: rgaa.CriterionResult, result: str) -> str:
        found = [p for p, r in criterion.pages.items() if r == result]
        if len(found) == len(audit.pages):
            return _("toutes les pages auditées")
        names = [str(pages.get(p, {}).get("titre", p)) for p in found]
        return ngettext("page : %(names)s", "pages : %(names)s", len(names), names=", ".join(names))

    themes = [
        {
            "name": theme,
            "criteria": [
                {
                    "number": c.number,
                    "title": c.title,
                    "result": c.result,
                    "label": str(RESULT_LABELS[c.result]),
                }
                for c in criteria
            ],
        }
        for theme, criteria in audit.by_theme.items()
    ]
    return {
        "status": audit.status,
        "status_label": status_label(audit.status),
        "rate": _percent(audit.rate),
        "met": audit.met,
        "not_met": audit.not_met,
        "not_verified": audit.not_verified,
        "not_applicable": audit.not_applicable,
        "applicable": audit.applicable,
        "total": len(audit.criteria),
        "non_conformities": [
            {"number": c.number, "title": c.title, "pages": where(c, "NC")}
            for c in audit.with_result("NC")
        ],
        "not_verified_list": [
            {"number": c.number, "title": c.title, "where": pages_sentence(c, "NT")}
            for c in audit.with_result("NT")
        ],
        "themes": themes,
        "pages": [
            dict(page, chemin=re.sub(r"\{[a-z_]+\}", "…", page.get("chemin", "")))
            for page in audit.pages
        ],
        "derogations": audit.meta.get("derogations", []),
        "exemptions": audit.meta.get("exemptions", []),
        "technologies": audit.meta.get("technologies", []),
        "assistive_technologies": audit.meta.get("technologies_assistance", []),
        "method": audit.meta.get("methode", ""),
        "auditor": audit.meta.get("auditeur", ""),
        "date": audit.environment.get("date") or audit.meta.get("date", ""),
        "browsers": audit.environment.get("navigateurs", []),
        "tools": audit.environment.get("outils", []),
        "site_url": current_app.config.get("BASE_URL", ""),
    }


def personal_data() -> dict:
    """Retention periods and recipients, from the settings that govern them."""
    config = current_app.config
    provider = (config.get("SMS_PROVIDER") or "").strip().lower()
    if provider == "ovh":
        sms = _("OVHcloud (API SMS d’OVH), qui reçoit le numéro et le texte du SMS")
    elif provider:
        sms = _(
            "la passerelle SMS configurée par le syndicat (%(host)s), qui reçoit le numéro et "
            "le texte du SMS",
            host=urlsplit(str(config.get("SMS_HTTP_URL") or "")).hostname or provider,
        )
    else:
        sms = None
    mail_server = (config.get("MAIL_SERVER") or "").strip()
    reset_minutes = int(config.get("PASSWORD_RESET_MAX_AGE", 3600)) // 60
    invitation_days = max(1, int(config.get("INVITATION_MAX_AGE", 604800)) // 86400)
    push_hours = max(1, int(config.get("PUSH_TTL", 86400)) // 3600)
    return {
        "audit_days": int(config.get("AUDIT_RETENTION_DAYS", 365)),
        "reset_minutes": reset_minutes,
        "invitation_days": invitation_days,
        "push_hours": push_hours,
        "reopen_days": int(config.get("SUPPORT_REOPEN_DAYS", 7)),
        "sms_recipient": sms,
        "mail_server": mail_server,
    }


def security_txt(now: datetime | None = None) -> str:
    """``/.well-known/security.txt`` (RFC 9116), its Expires computed from ``now``."""
    now = now or datetime.now(UTC)
    expires = (now + SECURITY_TXT_LIFETIME).astimezone(UTC).replace(microsecond=0)
    base = str(current_app.config.get("BASE_URL", "")).rstrip("/")
    lines = [
        f"# {_setting('LEGAL_PUBLISHER') or 'Vigie'} – Vigie",
        f"Contact: {contact().security_uri}",
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "Preferred-Languages: fr, en",
        f"Canonical: {base}/.well-known/security.txt",
    ]
    return "\n".join(lines) + "\n"
