"""Password policy (issue 15, defect 8; ASVS 2.1.7): common, breached and context passwords
are refused where a password is chosen, in French; good passphrases and demo accounts pass."""

import re

import pytest

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import make_member
from webapp.services import accounts
from webapp.services import demo
from webapp.services import passwords
from webapp.services.errors import ValidationError

EMAIL = "jean.dupont@mairie-sarralbe.fr"
NAME = "Jean Dupont"


def refusal(password: str, email: str = EMAIL, name: str = NAME) -> str | None:
    try:
        passwords.check(password, email=email, name=name)
    except ValidationError as exc:
        return exc.errors["password"]
    return None


@pytest.mark.parametrize(
    "password, words",
    [
        ("aaaaaaaaaaaa", "trop facile à deviner"),  # the security test's example
        ("aaaaaaaaaaaa", "Une répétition comme « aaa » se devine vite."),
        ("qwerty123456", "les plus courants ou divulgués"),
        ("1qaz2wsx3edc", "les plus courants ou divulgués"),
        ("QWERTY123456", "les plus courants ou divulgués"),
        ("motdepasse123", "trop facile à deviner"),
        ("soleil123456", "trop facile à deviner"),
        ("azertyuiop12", "trop facile à deviner"),
        ("123456789012", "trop facile à deviner"),
        ("Jean.Dupont1975", "« dupont », « jean »"),
        ("jeandupont!!!", "repose sur votre nom"),
        ("sarralbe2026!!", "« sarralbe »"),  # a word of the e-mail's domain
        ("mairie-sarralbe", "repose sur votre nom"),
        ("vigie-vigie-2026", "« vigie »"),
        ("V1g1e-V1g1e-2026", "« vigie »"),  # l33t
        ("Moselle-2026-Metz", "« moselle »"),
        ("Moselle Fibre 2026", "« moselle », « fibre »"),  # SYNDICATE_NAME
        ("MoselleFibre57!", "« mosellefibre »"),
        ("court", "au moins 12 caractères"),
    ],
)
def test_weak_passwords_are_refused_in_french(app, password, words):
    message = refusal(password)
    assert message is not None, password
    assert words in message


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,  # the factories' passphrase
        "a brand new passphrase",
        "un cheval rouge au galop",
        "Ma maison près de la Moselle est bleue",  # a context word inside a good sentence
        "jean: tulipe orange, vélo volé",
        "x7#Kq!2pLz9w",
    ],
)
def test_good_passphrases_are_accepted(app, password):
    assert refusal(password) is None


def test_the_syndicate_name_comes_from_the_settings(app):
    app.config["SYNDICATE_NAME"] = "Grand Est Numérique"
    assert "« numerique »" in refusal("numérique-2026-57")
    assert refusal("Moselle Fibre 2026") is not None  # « moselle » stays a context word
    assert "fibre" not in passwords.context_words()


def test_context_words_are_the_users_name_email_and_the_service(app):
    words = passwords.context_words(
        email="elodie.muller57@mairie-sarralbe.fr", name="Élodie Müller"
    )
    for word in ("elodie", "muller", "elodiemuller", "elodiemuller57", "mairie", "sarralbe"):
        assert word in words
    assert {"vigie", "moselle", "fibre", "mosellefibre"} <= set(words)
    assert "fr" not in words  # the top-level domain is no word


def test_the_length_rules_stay(app):
    app.config["PASSWORD_MIN_LENGTH"] = 16
    assert "au moins 16 caractères" in refusal("un cheval rouge")
    assert "trop long" in refusal("un cheval rouge " * 20)


def test_set_password_page_refuses_a_weak_password_and_keeps_the_link(app, client):
    member = make_member()
    user = accounts.create_user("jean.dupont@example.org", "Jean Dupont", member=member)
    path = f"/mot-de-passe/definir/{accounts.make_password_token(user)}"
    for weak, words in (
        ("aaaaaaaaaaaa", "trop facile à deviner"),
        ("jean.dupont.2026", "repose sur votre nom"),
        ("qwerty123456", "courants ou divulgués"),
    ):
        token = csrf_from(client, path)
        response = client.post(path, data={"password": weak, "confirm": weak, "csrf_token": token})
        assert response.status_code == 400
        assert words in response.get_data(as_text=True)
        assert accounts.authenticate(user.email, weak) is None
    token = csrf_from(client, path)
    good = "tulipe orange sous la pluie"
    response = client.post(path, data={"password": good, "confirm": good, "csrf_token": token})
    assert response.status_code == 302
    assert accounts.authenticate(user.email, good) is not None


def test_set_password_page_carries_the_meter_settings(app, client):
    member = make_member()
    user = accounts.create_user("jean.dupont@example.org", "Jean Dupont", member=member)
    page = client.get(f"/mot-de-passe/definir/{accounts.make_password_token(user)}")
    html = page.get_data(as_text=True)
    assert re.search(r"/static/js/password-meter\.[0-9a-f]{12}\.js", html)  # content-hashed
    assert re.search(r"/static/vendor/zxcvbn-ts/language-fr\.[0-9a-f]{12}\.js", html)
    assert "&#34;dupont&#34;" in html and "&#34;vigie&#34;" in html  # context words, escaped
    assert "<script>" not in html  # the CSP forbids inline scripts
    # The dictionaries are loaded by the page's script when the field is used, never here.
    assert '<script src="/static/vendor/zxcvbn-ts' not in html


def test_the_meter_is_not_on_other_pages(app, client):
    assert "password-meter" not in client.get("/connexion").get_data(as_text=True)
    assert "zxcvbn" not in client.get("/mot-de-passe/oubli").get_data(as_text=True)


def test_creating_a_user_with_a_weak_password_is_refused(app):
    member = make_member()
    with pytest.raises(ValidationError) as refused:
        accounts.create_user("agent@example.org", "Agent", member=member, password="aaaaaaaaaaaa")
    assert "trop facile" in refused.value.errors["password"]
    assert accounts.find_user("agent@example.org") is None


def test_demo_accounts_keep_their_published_password(app, client):
    """« demo-vigie-2026 » holds « vigie »: accepted for demo accounts only (refused in
    production anyway), so that `make run` prints logins that work."""
    assert refusal(demo.DEMO_PASSWORD) is not None
    demo.load()
    assert accounts.authenticate(demo.ADMIN_EMAIL, demo.DEMO_PASSWORD) is not None


def test_feedback_keys_cover_the_zxcvbn_packages_messages():
    from zxcvbn import zxcvbn

    for weak in ("aaaaaaaaaaaa", "abcdefghijkl", "qwertyuiopas", "1990-12-12-1990", "Password"):
        result = zxcvbn(weak)
        said = [result["feedback"]["warning"], *result["feedback"]["suggestions"]]
        assert len(passwords.feedback_keys(result)) == len([s for s in said if s]), said
    assert all(key in passwords.FEEDBACK for key in passwords._PYTHON_FEEDBACK.values())
