"""The audit journal (/admin/journal) in Chromium, at phone (390×844) and wall (1920×1080) size.

A syndicate admin reads a busy journal, filters it with the form (kind and days), meets a
French error for a wrong date, and downloads the CSV export; axe-core finds nothing on the
page in each state, nothing overflows, and every state is photographed.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import log_in
from webapp.extensions import db
from webapp.models.choices import AuditKind
from webapp.services import audit

pytestmark = pytest.mark.browser

DAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def _busy_journal() -> None:
    """One line of most kinds, a long detail and markup that must stay text."""
    sarralbe = factories.make_member(name="Commune de Sarralbe", slug="sarralbe")
    bitche = factories.make_member(name="Ville de Bitche", slug="bitche")
    rows = [
        (AuditKind.LOGIN, "claire.agent@sarralbe.fr", sarralbe, None, {}),
        (AuditKind.LOGIN_FAILED, "<b>intrus</b>@exemple.fr", None, None, {"reason": "credentials"}),
        (
            AuditKind.INVITATION,
            "chef@sarralbe.fr",
            sarralbe,
            "user paul.martin@sarralbe.fr",
            {"role": "viewer"},
        ),
        (
            AuditKind.ROLE_CHANGED,
            "chef@sarralbe.fr",
            sarralbe,
            "user paul.martin@sarralbe.fr",
            {"role": "viewer"},
        ),
        (
            AuditKind.TOKEN_CREATED,
            "paul@bitche.fr",
            bitche,
            "token 12",
            {
                "name": "Sauvegarde nocturne du serveur de fichiers de la mairie",
                "prefix": "vigie_AbCdEf",
            },
        ),
        (
            AuditKind.KIOSK_REVOKED,
            "support@syndicat.fr",
            None,
            "kiosk 3",
            {"name": "Télévision du support", "prefix": "mur_XyZ123"},
        ),
        (
            AuditKind.ORDER_APPROVED,
            "admin@syndicat.fr",
            bitche,
            "order 7",
            {"pools": 2, "from": "requested", "to": "approved"},
        ),
        (
            AuditKind.SUPPORT_STATUS,
            "support@syndicat.fr",
            bitche,
            "support 5",
            {"from": "new", "to": "closed"},
        ),
    ]
    for n, (kind, actor, member, target, detail) in enumerate(rows):
        audit.record(
            kind,
            actor_label=actor,
            member=member,
            target=target,
            detail=detail,
            ip="2001:db8:85a3::8a2e:370:7334" if n % 3 == 0 else "192.0.2.7",
            at=DAY + timedelta(hours=n * 7),
        )
    db.session.commit()


def _check(page, name: str, shoot) -> None:
    assert_accessible(page, name)
    assert_no_horizontal_overflow(page, name)
    shoot(page, name)


@first_backend_only
def test_journal_reads_filters_and_exports(page, problems, viewport, shoot):
    _busy_journal()
    admin = factories.make_user("admin", email="direction@syndicat.fr")
    log_in(page, admin.email)

    page.goto("/admin/journal")
    expect(page.get_by_role("heading", level=1, name="Journal d’audit")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("row", name="Connexion refusée")).to_contain_text(
        "<b>intrus</b>@exemple.fr"
    )
    expect(table.get_by_text("01/12/2026 à 12 h 00")).to_be_visible()  # 11:00 UTC, Paris time
    expect(table.get_by_text("Commande acceptée")).to_be_visible()
    _check(page, "admin-journal", shoot)

    # Filter with the form: a kind and two days (date fields).
    page.get_by_label("Type d’événement").select_option(label="Jeton d’API créé")
    page.get_by_label("Du", exact=True).fill("2026-12-01")
    page.get_by_label("Au", exact=True).fill("2026-12-03")
    page.get_by_role("button", name="Filtrer", exact=True).click()
    page.wait_for_url("**/admin/journal?*kind=token_created*")
    expect(page.locator("#journal-count")).to_have_text("1 ligne pour ces filtres")
    expect(page.get_by_role("table").get_by_text("Jeton 12")).to_be_visible()
    expect(page.get_by_label("Type d’événement")).to_have_value("token_created")
    _check(page, "admin-journal-filtered", shoot)

    # The export of these lines.
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter ces lignes (CSV)").click()
    data = download.value.path().read_bytes()
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Date (Europe/Paris);Type;Acteur;")
    assert "Jeton d’API créé;paul@bitche.fr;Ville de Bitche;Jeton 12" in text
    assert len(text.splitlines()) == 2

    # A wrong date typed into the address: French message, linked to its field.
    problems.expected_statuses = {400}
    response = page.goto("/admin/journal?start=31/02/2026&kind=login")
    assert response.status == 400
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Le formulaire contient des erreurs")
    expect(summary).to_contain_text("Date invalide")
    expect(page.get_by_label("Du", exact=True)).to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link").click()
    expect(page.get_by_label("Du", exact=True)).to_be_focused()
    _check(page, "admin-journal-errors", shoot)
    problems.check()
