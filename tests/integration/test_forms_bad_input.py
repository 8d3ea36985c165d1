"""Bad input on every form: a clear French message, never a 500, nothing stored."""

import pytest
from sqlalchemy import func
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.factories import demo_member
from tests.factories import make_user
from webapp.extensions import db
from webapp.models import ApiToken
from webapp.models import Member
from webapp.models import Membership
from webapp.models import User
from webapp.services import accounts
from webapp.services import demo

LONG = "a" * 10_000
EMOJI = "Mairie 🚒🔥"
HTML = '<script>alert("x")</script>'
BAD_VALUES = {"empty": "", "long": LONG, "emoji": EMOJI, "html": HTML}

FRENCH_ERRORS = (
    "Ce champ est obligatoire",
    "caractères au plus",
    "Caractère non autorisé",
    "Adresse électronique invalide",
    "Adresse électronique ou mot de passe incorrect",
    "jeton de sécurité",
    "Minuscules, chiffres et tirets",
    "Numéro de téléphone invalide",
    "Entre 12 et 256 caractères",
    "Équipement inconnu",
    "Langue inconnue",
    "Le formulaire contient des erreurs",
)


def snapshot_state():
    counts = tuple(
        db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Member, User, Membership, ApiToken)
    )
    users = tuple(
        db.session.execute(
            select(User.name, User.phone, User.locale, User.password_hash).order_by(User.id)
        ).all()
    )
    db.session.expire_all()
    return counts, users, tuple(sorted(demo.faults()))


# (name, url, role, valid data, text fields to spoil (?optional), expected status)
FORMS = [
    (
        "login",
        "/connexion",
        None,
        {"email": "someone@example.org", "password": "whatever-password"},
        ["email"],
        400,
    ),
    ("forgot", "/mot-de-passe/oubli", None, {"email": "someone@example.org"}, ["email"], 400),
    (
        "set_password",
        "/mot-de-passe/definir/{token}",
        None,
        {"password": "a good passphrase", "confirm": "a good passphrase"},
        ["password"],
        400,
    ),
    (
        "new_member",
        "/admin/membres/nouveau",
        "admin",
        {
            "name": "Commune X",
            "slug": "commune-x",
            "kind": "commune",
            "siren": "",
            "host_group": "Membres/x",
            "contact_name": "",
            "contact_email": "",
            "contact_phone": "",
        },
        ["name", "slug", "host_group", "?contact_name", "?contact_phone"],
        400,
    ),
    (
        "invite",
        "/membres/sarralbe/utilisateurs",
        "member_admin",
        {"email": "new@example.org", "name": "Nouvel Utilisateur", "role": "viewer"},
        ["email", "name"],
        400,
    ),
    (
        "profile",
        "/profil/",
        "viewer",
        {"name": "Nouveau Nom", "phone": "", "locale": "fr"},
        ["name", "?phone"],
        400,
    ),
    ("token", "/profil/jetons", "viewer", {"token_name": "Mon script"}, ["token_name"], 400),
    (
        "demo",
        "/admin/demo",
        "support",
        {"host": "sarralbe-routeur", "action": "fail"},
        ["host"],
        303,
    ),
    ("language", "/langue", None, {"lang": "en", "next": "/connexion"}, ["lang"], 302),
]


def prepare(app, client, login, role, url):
    member = demo_member("sarralbe")
    page = url
    if "{token}" in url:
        invited = accounts.create_user("invited@example.org", "Invitée", member=member)
        page = url = url.format(token=accounts.make_password_token(invited))
    elif role:
        login(make_user(role, member=None if role in ("admin", "support") else member))
    if url in ("/profil/jetons", "/admin/demo", "/langue"):
        page = "/profil/" if role == "viewer" else ("/admin/" if role else "/connexion")
    return url, page


@pytest.mark.parametrize("form", FORMS, ids=[f[0] for f in FORMS])
@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_bad_values_are_refused_in_french(app, client, login, form, kind):
    name, url, role, valid, spoil, status = form
    url, page = prepare(app, client, login, role, url)
    token = csrf_from(client, page)
    before = snapshot_state()
    for field in spoil:
        optional = field.startswith("?")
        field = field.lstrip("?")
        if kind == "empty" and optional:
            continue  # an optional field may be left empty
        if kind in ("emoji", "html") and field == "password":
            continue  # any character is fine in a passphrase
        data = {**valid, field: BAD_VALUES[kind], "csrf_token": token}
        response = client.post(url, data=data, follow_redirects=False)
        assert response.status_code == status, (name, field, kind, response.status_code)
        body = response.get_data(as_text=True)
        if status in (302, 303):
            body = client.get(response.headers["Location"]).get_data(as_text=True)
        assert any(message in body for message in FRENCH_ERRORS), (name, field, kind)
        assert HTML not in body, "user input is escaped"
        assert snapshot_state() == before, (name, field, kind)


@pytest.mark.parametrize("form", FORMS, ids=[f[0] for f in FORMS])
def test_wrong_csrf_is_refused(app, client, login, form):
    name, url, role, valid, _spoil, _status = form
    url, _page = prepare(app, client, login, role, url)
    before = snapshot_state()
    for token in ("", "forged-token"):
        response = client.post(url, data={**valid, "csrf_token": token})
        assert response.status_code == 400, name
        assert "jeton de sécurité" in response.get_data(as_text=True)
    assert snapshot_state() == before


def test_valid_forms_do_store(app, client, login):
    """The same payloads, unspoiled, are accepted: the refusals above are not blanket."""
    login(make_user("admin"))
    token = csrf_from(client, "/admin/membres/nouveau")
    response = client.post(
        "/admin/membres/nouveau",
        data={
            "name": "Commune X",
            "slug": "commune-x",
            "kind": "commune",
            "host_group": "Membres/x",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert db.session.execute(select(Member).where(Member.slug == "commune-x")).scalar_one()


def test_a_body_over_the_limit_on_a_page_is_the_413_page_not_a_500(client, login_as):
    member = demo_member("sarralbe")
    login_as("viewer", member)
    response = client.post(
        f"/membres/{member.slug}/support/nouvelle",
        data={"message": "x" * (2 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True)
