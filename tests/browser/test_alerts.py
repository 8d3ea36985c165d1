"""Alert settings, notification centre and a member's defaults in Chromium.

Rules set in a few taps on a phone (390×844); axe-core finds nothing on
/profil/alertes, /notifications and /membres/<slug>/alertes at phone and wall size,
in their busy states (a log with every status, unread notifications, errors, a mute);
taps are at least 44 px; screenshots of each.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import log_in
from webapp.extensions import db
from webapp.models.member import utcnow
from webapp.services import alert_rules
from webapp.services import outbox

pytestmark = pytest.mark.browser

SLUG = "sarralbe"
phone_only = pytest.mark.parametrize("viewport", ["phone"], indirect=True)

# Every visible control of <main> and the header that is smaller than a 44 px tap.
_SMALL_TAPS = """(selector) => {
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.height < 44 || box.width < 44) {
      small.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}" `
        + `${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return small;
}"""
TAPS = (
    "main .choice, main .button, main button, .site-nav a, .site-nav button, .notification__title a"
)


def _log(user) -> None:
    """One message in each state, as the outbox keeps them."""
    now = utcnow()
    rows = [
        ("email", "sent", None, {}),
        ("sms", "failed", "Le numéro a été refusé par l’opérateur (numéro inconnu).", {}),
        ("email", "held", None, {"hold_until": now + timedelta(hours=6)}),
        ("push", "queued", "Service de notification injoignable.", {"attempts": 2}),
        ("portal", "sent", None, {}),
    ]
    for n, (channel, status, error, extra) in enumerate(rows):
        row = outbox.enqueue(
            key=f"browser-{user.id}-{n}",
            user=user,
            channel=channel,
            kind="problem",
            subject=f"Sarralbe : le routeur de la mairie ne répond plus ({n + 1})",
            body="« Routeur mairie » ne répond plus : 12 équipements derrière lui injoignables.",
            data={"url": f"http://localhost/membres/{SLUG}/carte", "severity": 4},
            hold_until=extra.pop("hold_until", None),
        )
        row.status, row.last_error = status, error
        row.sent_at = now if status == "sent" else None
        for name, value in extra.items():
            setattr(row, name, value)
    db.session.commit()


def _small_taps(page) -> list[str]:
    return page.evaluate(_SMALL_TAPS, TAPS)


@first_backend_only
@phone_only
def test_rules_in_a_few_taps_on_a_phone(page, problems, shoot):
    member = factories.demo_member(SLUG)
    user = factories.make_user("viewer", member)
    log_in(page, user.email)
    page.get_by_role("link", name="Mes alertes").click()
    expect(page.get_by_role("heading", level=1, name="Mes alertes")).to_be_visible()

    # Four taps and two times: SMS off, moderate alerts too, quiet hours, save.
    page.get_by_role("checkbox", name="SMS").uncheck()
    page.get_by_role("radio", name="Aussi les alertes moyennes").check()
    page.get_by_label("Début des heures calmes").fill("22:00")
    page.get_by_label("Fin des heures calmes").fill("07:00")
    page.get_by_role("checkbox", name="Médiathèque").check()
    page.get_by_role("button", name="Enregistrer mes réglages").click()
    expect(page.get_by_text("Vos réglages d’alerte sont enregistrés.")).to_be_visible()
    expect(page.locator("#rule-source")).to_have_text("Vous avez vos propres réglages.")

    rule = alert_rules.effective(user, member)
    assert rule.channels == {"email", "push", "portal"}
    assert rule.min_severity == 3 and rule.sites == {"Médiathèque"}
    assert (str(rule.quiet_start), str(rule.quiet_end)) == ("22:00:00", "07:00:00")
    expect(page.get_by_role("radio", name="Aussi les alertes moyennes")).to_be_checked()
    expect(page.get_by_role("checkbox", name="SMS")).not_to_be_checked()

    # One tap to mute for an hour, one to turn the alerts back on.
    page.get_by_role("button", name="Couper 1 h").click()
    expect(page.locator("#mute-state")).to_contain_text("Alertes coupées jusqu’à")
    assert alert_rules.effective(user, member).muted(utcnow() + timedelta(minutes=50))
    shoot(page, "profile-alerts-muted")
    page.get_by_role("button", name="Réactiver").click()
    expect(page.get_by_text("Les alertes sont réactivées.")).to_be_visible()
    assert not alert_rules.effective(user, member).muted(utcnow())

    assert _small_taps(page) == []
    problems.check()


@first_backend_only
@phone_only
def test_form_errors_are_announced_and_linked(page, problems, shoot):
    user = factories.make_user("viewer", factories.demo_member(SLUG))
    log_in(page, user.email)
    page.goto("/profil/alertes")
    page.get_by_label("Début des heures calmes").fill("22:00")
    page.get_by_label("Fin des heures calmes").fill("22:00")
    problems.expected_statuses = {400}
    page.get_by_role("button", name="Enregistrer mes réglages").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Le formulaire contient des erreurs")
    expect(summary).to_contain_text("La fin des heures calmes doit différer du début.")
    expect(page.get_by_label("Fin des heures calmes")).to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link").click()
    expect(page.get_by_label("Fin des heures calmes")).to_be_focused()
    assert_accessible(page, "profile-alerts with errors")
    shoot(page, "profile-alerts-errors")
    assert alert_rules.rule_row(user) is None
    problems.check()


@first_backend_only
def test_alert_pages_pass_axe_and_fit(page, problems, viewport, shoot):
    member = factories.demo_member(SLUG)
    factories.make_member(slug="bitche", name="Ville de Bitche")
    viewer = factories.make_user("viewer", member, name="Claire Agent")
    _log(viewer)
    admin = factories.make_user("member_admin", member)
    alert_rules.save_member_defaults(
        member,
        {
            "channels": ["email", "portal"],
            "min_severity": 4,
            "sites": ["Mairie"],
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        },
    )

    log_in(page, viewer.email)
    page.goto("/profil/alertes")
    expect(page.get_by_text("Vous suivez les réglages par défaut de Démo sarralbe")).to_be_visible()
    expect(page.locator(".delivery")).to_have_count(5)
    expect(page.get_by_text("Retenu jusqu’à")).to_be_visible()
    expect(
        page.get_by_text("Le numéro a été refusé par l’opérateur (numéro inconnu).")
    ).to_be_visible()
    _check(page, "profile-alerts", viewport, shoot)

    page.goto("/notifications")
    expect(page.get_by_role("link", name="1 notification non lue")).to_be_visible()
    _check(page, "alerts-notifications", viewport, shoot)
    page.get_by_role("link", name="Sarralbe : le routeur de la mairie ne répond plus (5)").click()
    page.wait_for_url(f"**/membres/{SLUG}/carte")
    expect(page.get_by_role("link", name="Notifications, aucune non lue")).to_be_visible()

    page.goto("/notifications")
    _check(page, "alerts-notifications-read", viewport, shoot)

    page.context.clear_cookies()
    log_in(page, admin.email)
    page.goto(f"/membres/{SLUG}/alertes")
    expect(page.get_by_role("heading", level=1, name="Alertes par défaut")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Mairie")).to_be_checked()
    _check(page, "alerts-member_defaults", viewport, shoot)
    problems.check()


@first_backend_only
def test_staff_pages_pass_axe(page, problems, viewport, shoot):
    """Staff: every member to choose from; an empty notification centre; delivery health."""
    for n in range(9):
        factories.make_member(slug=f"commune-{n}", name=f"Commune numéro {n}")
    factories.demo_member(SLUG)
    admin = factories.make_user("admin")
    someone = factories.make_user()
    _log(someone)
    log_in(page, admin.email)
    page.goto("/profil/alertes")
    expect(page.get_by_role("group", name="Pour quels membres")).to_be_visible()
    _check(page, "profile-alerts-staff", viewport, shoot)
    page.goto("/notifications")
    expect(page.get_by_text("Aucune notification pour le moment.")).to_be_visible()
    _check(page, "alerts-notifications-empty", viewport, shoot)
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Envoi des alertes")).to_be_visible()
    expect(page.locator("#delivery-health")).to_contain_text("Le numéro a été refusé")
    _check(page, "admin-delivery-health", viewport, shoot, taps=False)
    page.locator("#delivery-health").screenshot(
        path=str(_shot_path(f"admin-delivery-health-section-{viewport}"))
    )
    problems.check()


def _shot_path(name: str):
    from tests.browser.helpers import SCREENSHOTS

    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def _check(page, name: str, viewport: str, shoot, taps: bool = True) -> None:
    label = f"{name} ({viewport})"
    assert_accessible(page, label)
    assert_no_horizontal_overflow(page, label)
    if taps:
        assert _small_taps(page) == [], label
    shoot(page, name)
