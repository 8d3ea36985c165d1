"""The alert pages through the test client: /profil/alertes, a member's defaults,
/notifications and its header badge, the administrators' delivery health."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_from
from webapp.extensions import db
from webapp.models import AlertRule
from webapp.models import Delivery
from webapp.models import Membership
from webapp.models.member import utcnow
from webapp.services import alert_rules
from webapp.services import outbox

PAGE = "/profil/alertes"
FORM = {
    "channels": ["email", "portal"],
    "min_severity": "4",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
    "quiet_except_disasters": "y",
    "recoveries": "y",
}


def rules_state():
    rows = db.session.execute(
        select(
            AlertRule.user_id,
            AlertRule.member_id,
            AlertRule.channels,
            AlertRule.min_severity,
            AlertRule.quiet_start,
            AlertRule.quiet_end,
            AlertRule.sites,
            AlertRule.muted_until,
        ).order_by(AlertRule.id)
    ).all()
    db.session.expire_all()
    return [tuple(r) for r in rows]


def post(client, url, data, page=None):
    token = csrf_from(client, page or url)
    return client.post(url, data={**data, "csrf_token": token})


def test_the_page_says_what_applies_and_links_from_profile_and_nav(app, client, login):
    member = factories.demo_member("sarralbe")
    login(factories.make_user("viewer", member))
    page = client.get(PAGE).get_data(as_text=True)
    assert "Vous suivez les réglages par défaut de Vigie" in page
    assert "Seulement les pannes graves" in page and "Aussi les alertes moyennes" in page
    assert "Couper 1 h" in page and "Couper 4 h" in page and "Couper 8 h" in page
    assert 'id="push-devices"' in page  # the devices partial
    assert "Pour quels membres" not in page  # one member only: nothing to choose
    assert "Médiathèque" in page  # a site of the member, from the source
    assert 'href="/profil/alertes"' in client.get("/profil/").get_data(as_text=True)
    assert 'aria-current="page">Mes alertes' in page


def test_member_defaults_are_named_on_the_users_page(app, client, login):
    member = factories.demo_member("sarralbe")
    alert_rules.save_member_defaults(member, {"channels": ["sms"], "min_severity": 5})
    login(factories.make_user("viewer", member))
    page = client.get(PAGE).get_data(as_text=True)
    assert "Vous suivez les réglages par défaut de Démo sarralbe" in page
    assert 'value="5" checked' in page


def test_saving_the_form(app, client, login):
    member = factories.demo_member("sarralbe")
    user = login(factories.make_user("viewer", member))
    response = post(client, PAGE, {**FORM, "sites": ["Mairie"]})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vos réglages d’alerte sont enregistrés." in page
    assert "Vous avez vos propres réglages." in page
    rule = alert_rules.effective(user, member)
    assert rule.channels == {"email", "portal"} and rule.sites == {"Mairie"}
    assert str(rule.quiet_start) == "22:00:00" and rule.recoveries
    # Unchecking everything optional: no recoveries, no quiet hours (and then the
    # disasters' exception is back to its default).
    post(client, PAGE, {"channels": ["sms"], "min_severity": "0"})
    rule = alert_rules.effective(user, member)
    assert rule.channels == {"sms"} and rule.min_severity == 0
    assert rule.quiet_start is None and rule.quiet_end is None and not rule.recoveries


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": ["fax"]}, "Canal inconnu : « fax »"),
        ({"min_severity": "9"}, "Gravité minimale entre 0"),
        ({"min_severity": "haute"}, "Gravité minimale entre 0"),
        ({"min_severity": "4" * 5000}, "Gravité minimale entre 0"),
        ({"quiet_start": "25:00"}, "Heure invalide"),
        ({"quiet_end": ""}, "Heure invalide"),
        ({"quiet_end": "<script>"}, "Heure invalide"),
        ({"quiet_end": "22:00"}, "doit différer du début"),
        ({"sites": ["Gare"]}, "Site inconnu : « Gare »"),
        ({"sites": ["🚒" * 200]}, "Nom de site invalide"),
        ({"members": ["autre"]}, "Membre inconnu"),
    ],
)
def test_bad_input_gets_french_errors_and_stores_nothing(app, client, login, change, message):
    member = factories.demo_member("sarralbe")
    factories.make_member(slug="autre")
    user = factories.make_user("viewer", member)
    second = factories.make_member(slug="deuxieme")
    db.session.add(Membership(user_id=user.id, member_id=second.id, role="viewer"))
    db.session.commit()
    login(user)
    before = rules_state()
    response = post(client, PAGE, {**FORM, **change})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Le formulaire contient des erreurs" in body and message in body
    assert "<script>" not in body  # the input comes back escaped
    assert rules_state() == before


def test_wrong_csrf_is_refused(app, client, login):
    login(factories.make_user())
    for url in (PAGE, f"{PAGE}/couper", f"{PAGE}/reactiver", f"{PAGE}/par-defaut"):
        response = client.post(url, data={**FORM, "hours": "1", "csrf_token": "forged"})
        assert response.status_code == 400, url
        assert "jeton de sécurité" in response.get_data(as_text=True)
    assert rules_state() == []


def test_mute_buttons_and_reactivate(app, client, login):
    member = factories.demo_member("sarralbe")
    user = login(factories.make_user("viewer", member))
    response = post(client, f"{PAGE}/couper", {"hours": "4"}, page=PAGE)
    assert response.status_code == 303
    page = client.get(PAGE).get_data(as_text=True)
    assert "Alertes coupées jusqu’à" in page and "Réactiver" in page
    assert alert_rules.effective(user, member).muted(utcnow() + timedelta(hours=3))
    post(client, f"{PAGE}/reactiver", {}, page=PAGE)
    assert not alert_rules.effective(user, member).muted(utcnow())
    assert alert_rules.rule_row(user) is None  # followed Vigie's defaults: still does


@pytest.mark.parametrize("hours", ["2", "", "abc", "1" * 3000, "-1"])
def test_mute_with_junk_hours(app, client, login, hours):
    login(factories.make_user())
    response = post(client, f"{PAGE}/couper", {"hours": hours}, page=PAGE)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Durée possible : 1, 4 ou 8 heures." in page
    assert rules_state() == []


def test_back_to_the_defaults(app, client, login):
    member = factories.demo_member("sarralbe")
    user = login(factories.make_user("viewer", member))
    post(client, PAGE, FORM)
    assert "Revenir aux réglages par défaut" in client.get(PAGE).get_data(as_text=True)
    post(client, f"{PAGE}/par-defaut", {}, page=PAGE)
    assert alert_rules.rule_row(user) is None


def test_staff_choose_among_all_members(app, client, login):
    factories.make_member(slug="alpha", name="Alpha")
    factories.make_member(slug="beta", name="Bêta")
    staff = login(factories.make_user("support"))
    page = client.get(PAGE).get_data(as_text=True)
    assert "Vous ne recevez encore aucune alerte" in page
    assert "Pour quels membres" in page and "Alpha" in page and "Bêta" in page
    assert "tous les membres du syndicat" in page
    assert post(client, PAGE, {**FORM, "members": ["beta"]}).status_code == 303
    row = alert_rules.rule_row(staff)
    assert len(row.member_ids) == 1


def test_the_delivery_log_on_the_page(app, client, login):
    user = login(factories.make_user())
    held = outbox.enqueue(
        key="log-1",
        user=user,
        channel="email",
        kind="problem",
        subject="Routeur en panne",
        body="…",
        hold_until=utcnow() + timedelta(hours=2),
    )
    failed = outbox.enqueue(
        key="log-2", user=user, channel="sms", kind="problem", subject="Caméra en panne", body="…"
    )
    failed.status, failed.last_error = "failed", "Numéro non confirmé."
    db.session.commit()
    assert held.status == "held"
    page = client.get(PAGE).get_data(as_text=True)
    assert "Routeur en panne" in page and "Retenu jusqu’à" in page
    assert "Caméra en panne" in page and "Échec" in page and "Numéro non confirmé." in page


# ---- a member's defaults --------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("member_admin", 200), ("support", 200), ("admin", 200), ("viewer", 403)]
)
def test_member_defaults_page_access(app, client, login, role, status):
    member = factories.demo_member("sarralbe")
    login(factories.make_user(role, member if role in ("viewer", "member_admin") else None))
    assert client.get("/membres/sarralbe/alertes").status_code == status


def test_another_members_admin_gets_not_found(app, client, login):
    factories.demo_member("sarralbe")
    login(factories.make_user("member_admin", factories.make_member()))
    assert client.get("/membres/sarralbe/alertes").status_code == 404
    assert client.post("/membres/sarralbe/alertes", data=FORM).status_code in (400, 404)
    assert rules_state() == []


def test_member_admin_saves_defaults_users_follow_them(app, client, login):
    member = factories.demo_member("sarralbe")
    viewer = factories.make_user("viewer", member)
    login(factories.make_user("member_admin", member))
    url = "/membres/sarralbe/alertes"
    page = client.get(url).get_data(as_text=True)
    assert "Aucun réglage par défaut n’est encore enregistré" in page
    assert "2 utilisateurs suivent ces réglages" in page
    response = post(client, url, {**FORM, "channels": ["email"], "min_severity": "3"})
    assert response.status_code == 303
    assert alert_rules.effective(viewer, member).min_severity == 3
    assert alert_rules.applied(viewer).source == "member"
    bad = post(client, url, {**FORM, "quiet_start": "99:99"})
    assert bad.status_code == 400 and "Heure invalide" in bad.get_data(as_text=True)
    assert alert_rules.member_defaults_row(member).quiet_start == "22:00"


# ---- notification centre ------------------------------------------------------------------


def _portal(user, n, url="http://localhost/membres/sarralbe/", status="sent"):
    row = outbox.enqueue(
        key=f"portal-{user.id}-{n}",
        user=user,
        channel="portal",
        kind="problem",
        subject=f"Panne n° {n}",
        body="Le routeur ne répond plus.",
        data={"url": url, "severity": 4},
    )
    row.status = status
    row.sent_at = utcnow() if status == "sent" else None
    db.session.commit()
    return row


def test_badge_on_every_page_and_the_centre(app, client, login):
    member = factories.demo_member("sarralbe")
    user = login(factories.make_user("viewer", member))
    for n in range(3):
        _portal(user, n)
    _portal(user, 9, status="queued")
    for url in ("/membres/sarralbe/", "/profil/", PAGE, "/notifications"):
        page = client.get(url).get_data(as_text=True)
        assert "3 notifications non lues" in page, url
        assert '<span class="nav-count" aria-hidden="true">3</span>' in page
    centre = client.get("/notifications").get_data(as_text=True)
    assert centre.count('class="notification notification--unread"') == 3
    assert "Panne n° 9" not in centre  # not delivered yet
    response = post(client, "/notifications/tout-lu", {}, page="/notifications")
    assert response.status_code == 303
    page = client.get("/notifications").get_data(as_text=True)
    assert "3 notifications marquées comme lues." in page
    assert "Notifications, aucune non lue" in page and "nav-count" not in page


def test_opening_a_notification_marks_it_read_and_follows_only_portal_links(app, client, login):
    user = login(factories.make_user())
    other = factories.make_user()
    inside = _portal(user, 1)
    outside = _portal(user, 2, url="https://evil.example/")
    theirs = _portal(other, 3)
    response = client.get(f"/notifications/{inside.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/membres/sarralbe/"
    assert db.session.get(Delivery, inside.id).read_at is not None
    response = client.get(f"/notifications/{outside.id}")
    assert response.headers["Location"] == "/notifications"
    assert client.get(f"/notifications/{theirs.id}").status_code == 404
    assert db.session.get(Delivery, theirs.id).read_at is None
    assert client.get("/notifications/999999").status_code == 404
    assert client.get("/notifications/99999999999999999999999").status_code == 404


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page=-2", "page=99999999"])
def test_centre_with_junk_pages(app, client, login, query):
    login(factories.make_user())
    response = client.get(f"/notifications?{query}")
    assert response.status_code == 400
    assert "Numéro de page invalide" in response.get_data(as_text=True)


def test_centre_pages(app, client, login):
    user = login(factories.make_user())
    for n in range(25):
        _portal(user, n)
    first = client.get("/notifications").get_data(as_text=True)
    assert "Page 1 sur 2" in first and "Plus anciennes" in first
    assert (
        client.get("/notifications?page=2").get_data(as_text=True).count("notification--unread")
        == 5
    )
    assert "Rien sur cette page." in client.get("/notifications?page=5").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_login(app, client):
    for url in (PAGE, "/notifications", "/membres/x/alertes"):
        response = client.get(url)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]


# ---- delivery health -----------------------------------------------------------------------


def test_delivery_health_for_syndicate_admins_only(app, client, login):
    user = factories.make_user()
    row = outbox.enqueue(key="h-1", user=user, channel="sms", kind="problem", subject="s", body="b")
    row.status, row.provider, row.last_error = "failed", "ovh", "Crédit SMS épuisé."
    outbox.enqueue(key="h-2", user=user, channel="email", kind="problem", subject="s", body="b")
    db.session.commit()
    admin = factories.make_user("admin")
    support = factories.make_user("support")
    login(admin)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Envoi des alertes" in page and "Dernières 24 heures" in page
    assert "Crédit SMS épuisé." in page and "ovh" in page
    assert "1 message en attente ; il attend depuis" in page
    client.post("/deconnexion", data={"csrf_token": csrf_from(client, "/admin/")})
    login(support)
    assert "Envoi des alertes" not in client.get("/admin/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Delivery.id))) == 2
