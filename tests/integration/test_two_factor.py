"""Two-factor sign-in (issue 15, part 13): TOTP with recovery codes.

Enrolment on the profile (QR code, secret once, a first code confirms), the second step at
login (codes of the application once each, recovery codes once), its expiry, the
production rule (staff and member admins must enrol; viewers may), ProConnect counting as
strong, and nothing reachable between the two steps: pages, the API with the cookie,
Socket.IO.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from tests.clock import Clock as ManualClock
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_user
from webapp import security
from webapp.extensions import socketio
from webapp.live.events import NAMESPACE
from webapp.models import AuditEvent
from webapp.models import TwoFactor
from webapp.models import UserSession
from webapp.models.choices import AuditKind
from webapp.services import tokens
from webapp.services import two_factor

SECRET_RE = re.compile(r'<code class="secret-key"[^>]*>([A-Z2-7 ]+)</code>')
RECOVERY_RE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")
PAGE = "/profil/double-authentification"


class Clock(ManualClock):
    """The time the second step reads (codes, the pending step's age)."""

    def code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.now)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(two_factor, "_now", clock)
    return clock


@pytest.fixture
def production(app):
    app.config["ENV"] = "production"
    yield app
    app.config["ENV"] = "development"


def post_login(browser, user, password=PASSWORD):
    return browser.post(
        "/connexion",
        data={
            "email": user.email,
            "password": password,
            "csrf_token": csrf_from(browser, "/connexion"),
        },
    )


def sign_in(app, user):
    browser = app.test_client()
    response = post_login(browser, user)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser, response


def second_step(browser, code: str, field: str = "code"):
    token = csrf_from(browser, "/connexion/verification")
    return browser.post("/connexion/verification", data={field: code, "csrf_token": token})


def enrol(browser, clock) -> tuple[str, list[str]]:
    """Turn two-factor on from the profile: the secret and the recovery codes shown."""
    token = csrf_from(browser, PAGE)
    assert browser.post(PAGE + "/activer", data={"csrf_token": token}).status_code == 302
    page = browser.get(PAGE).get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1).replace(" ", "")
    response = browser.post(
        PAGE + "/confirmer",
        data={"code": clock.code(secret), "csrf_token": csrf_from(browser, PAGE)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    codes = RECOVERY_RE.findall(response.get_data(as_text=True))
    assert len(codes) == 10
    clock.advance(seconds=30)  # the confirming code's step is spent
    return secret, codes


def enrolled_user(app, clock, role="viewer"):
    user = make_user(role, member=demo_member("sarralbe") if role != "admin" else None)
    browser, _ = sign_in(app, user)
    secret, codes = enrol(browser, clock)
    return user, secret, codes


def kinds(user) -> list[str]:
    """The kinds of the user's audit lines, oldest first."""
    query = select(AuditEvent.kind).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id)
    return list(two_factor.db.session.scalars(query))


def last_session(user) -> UserSession:
    return two_factor.db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id.desc())
    ).first()


# ---- enrolment ----------------------------------------------------------------------


def test_enrolment_shows_a_local_qr_code_and_the_secret_then_a_first_code_turns_it_on(
    app, db, clock
):
    user = make_user("viewer", member=demo_member("sarralbe"))
    elsewhere, _ = sign_in(app, user)  # another device, signed in with the password alone
    browser, _ = sign_in(app, user)
    assert "Gérer la double authentification" in browser.get("/profil/").get_data(as_text=True)
    token = csrf_from(browser, PAGE)
    browser.post(PAGE + "/activer", data={"csrf_token": token})
    page = browser.get(PAGE).get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page, "the QR code is an SVG made here, no service"
    grouped = SECRET_RE.search(page).group(1)
    assert all(len(group) == 4 for group in grouped.split()), grouped
    secret = grouped.replace(" ", "")
    row = db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id))
    assert secret not in row.secret, "the secret is stored encrypted"
    assert row.confirmed_at is None

    not_the_code = "000000" if clock.code(secret) != "000000" else "111111"
    wrong = browser.post(PAGE + "/confirmer", data={"code": not_the_code, "csrf_token": token})
    assert wrong.status_code == 400
    assert "Code incorrect ou expiré" in html.unescape(wrong.get_data(as_text=True))
    db.session.refresh(row)
    assert row.confirmed_at is None, "a wrong first code turns nothing on"

    response = browser.post(
        PAGE + "/confirmer", data={"code": clock.code(secret), "csrf_token": token}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and len(RECOVERY_RE.findall(body)) == 10
    db.session.refresh(row)
    assert row.confirmed_at is not None
    assert all(code.code_hash.startswith("pbkdf2_sha256$") for code in row.recovery_codes)
    later = browser.get(PAGE).get_data(as_text=True)
    assert secret not in later and not SECRET_RE.search(later), "never shown again"
    assert not RECOVERY_RE.search(later), "the recovery codes are shown once"
    assert "10 codes de secours inutilisés" in later
    assert elsewhere.get("/profil/").status_code == 302, "the other devices are signed out"
    assert browser.get("/profil/").status_code == 200, "not this one"
    assert AuditKind.TWO_FACTOR_ENABLED in kinds(user)


# ---- the second step at login ----------------------------------------------------------


def test_login_asks_a_code_and_nothing_is_reachable_before_it(app, db, clock):
    user, secret, _codes = enrolled_user(app, clock)
    browser, response = sign_in(app, user)
    assert response.headers["Location"] == "/connexion/verification"
    page = browser.get("/connexion/verification").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert "Vérification en deux étapes" in page

    # between the two steps: no page, no API with the cookie, no socket
    assert browser.get("/profil/").headers["Location"].startswith("/connexion?next=")
    assert browser.get("/membres/sarralbe/").status_code == 302
    api = browser.get("/api/v1/members/sarralbe")
    assert api.status_code == 401 and api.json["error"]["code"] == "authentication_required"
    socket = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=browser)
    assert not socket.is_connected(NAMESPACE)

    done = second_step(browser, clock.code(secret))
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert browser.get("/api/v1/members/sarralbe").status_code == 200
    assert last_session(user).method == "password+totp"
    socket = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=browser)
    assert socket.is_connected(NAMESPACE)


def test_a_code_cannot_be_replayed(app, db, clock):
    user, secret, _codes = enrolled_user(app, clock)
    browser, _ = sign_in(app, user)
    code = clock.code(secret)
    assert second_step(browser, code).status_code == 302
    other, _ = sign_in(app, user)  # someone who watched the code being typed
    replay = second_step(other, code)
    assert replay.status_code == 400
    assert "déjà utilisé" in html.unescape(replay.get_data(as_text=True))
    assert other.get("/profil/").status_code == 302
    assert AuditKind.SECOND_STEP_FAILED in kinds(user)
    clock.advance(seconds=30)
    assert second_step(other, clock.code(secret)).status_code == 302, "the next code works"


def test_the_neighbour_steps_are_accepted(app, db, clock):
    user, secret, _codes = enrolled_user(app, clock)
    browser, _ = sign_in(app, user)
    previous = pyotp.TOTP(secret).at(clock.now - timedelta(seconds=30))
    # The step before was the confirmation's (spent), so only the next one: valid_window=1.
    following = pyotp.TOTP(secret).at(clock.now + timedelta(seconds=30))
    assert second_step(browser, following).status_code == 302
    other, _ = sign_in(app, user)
    assert second_step(other, previous).status_code == 400, "older than the last used step"


def test_a_recovery_code_works_once(app, db, clock):
    user, _secret, codes = enrolled_user(app, clock)
    browser, _ = sign_in(app, user)
    done = second_step(browser, codes[3].upper().replace("-", " "), field="recovery")
    assert done.status_code == 302
    assert last_session(user).method == "password+recovery"
    landing = browser.get(done.headers["Location"], follow_redirects=True)
    assert "Il vous en reste 9" in html.unescape(landing.get_data(as_text=True))
    assert two_factor.recovery_codes_left(user) == 9
    assert AuditKind.RECOVERY_CODE_USED in kinds(user)
    again, _ = sign_in(app, user)
    assert second_step(again, codes[3], field="recovery").status_code == 400
    assert again.get("/profil/").status_code == 302


def test_the_pending_step_expires_after_five_minutes(app, db, clock):
    user, secret, _codes = enrolled_user(app, clock)
    browser, _ = sign_in(app, user)
    clock.advance(seconds=301)
    expired = second_step_direct(browser, clock.code(secret))
    assert expired.status_code == 302 and expired.headers["Location"] == "/connexion"
    assert "La vérification a expiré" in html.unescape(
        browser.get("/connexion").get_data(as_text=True)
    )
    assert browser.get("/connexion/verification").headers["Location"] == "/connexion"
    assert browser.get("/profil/").status_code == 302


def second_step_direct(browser, code):
    """Post a code with the CSRF token of the login page (the verification page is gone)."""
    token = csrf_from(browser, "/connexion")
    return browser.post("/connexion/verification", data={"code": code, "csrf_token": token})


def test_wrong_codes_send_back_to_the_password(app, db, clock):
    user, secret, _codes = enrolled_user(app, clock)
    browser, _ = sign_in(app, user)
    wrong = "999999" if clock.code(secret) != "999999" else "999998"
    for _attempt in range(app.config["TWO_FACTOR_MAX_ATTEMPTS"]):
        response = second_step(browser, wrong)
        assert response.status_code == 400
    assert browser.get("/connexion/verification").headers["Location"] == "/connexion"
    failures = [k for k in kinds(user) if k == AuditKind.SECOND_STEP_FAILED]
    assert len(failures) == app.config["TWO_FACTOR_MAX_ATTEMPTS"]


def test_the_second_step_is_rate_limited(app, db, clock):
    app.config["TWO_FACTOR_MAX_ATTEMPTS"] = 100
    user, secret, _codes = enrolled_user(app, clock)
    browser, _ = sign_in(app, user)
    wrong = "999999" if clock.code(secret) != "999999" else "999998"
    token = csrf_from(browser, "/connexion/verification")
    statuses = [
        browser.post(
            "/connexion/verification", data={"code": wrong, "csrf_token": token}
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [400] * 5 and statuses[5] == 429


def test_an_empty_or_odd_code_is_a_french_error(app, db, clock):
    user, _secret, _codes = enrolled_user(app, clock)
    browser, _ = sign_in(app, user)
    empty = second_step(browser, "")
    assert empty.status_code == 400
    assert "Ce champ est obligatoire" in html.unescape(empty.get_data(as_text=True))
    odd = second_step(browser, "<script>" * 5)
    assert odd.status_code == 400


# ---- who must ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member_admin", "support", "admin"])
def test_in_production_privileged_users_are_held_to_enrolment(app, db, clock, production, role):
    user = make_user(role, member=demo_member("sarralbe") if role == "member_admin" else None)
    browser, response = sign_in(app, user)
    assert response.headers["Location"] == PAGE
    for path in ("/", "/membres/", "/profil/", "/admin/"):
        held = browser.get(path)
        assert held.status_code == 302 and held.headers["Location"] == PAGE, path
    fragment = browser.get("/membres/", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"] == PAGE, "htmx leaves the page for the enrolment"
    api = browser.get("/api/v1/members")
    assert api.status_code == 403 and api.json["error"]["code"] == "two_factor_enrolment_required"
    assert last_session(user).method == "password"
    socket = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=browser)
    assert not socket.is_connected(NAMESPACE)
    page = browser.get(PAGE).get_data(as_text=True)
    assert "Votre rôle impose la double authentification" in html.unescape(page)

    # an API token is a separate credential: unaffected
    clear, _token = tokens.create(user, "script")
    script = app.test_client()
    assert (
        script.get("/api/v1/members", headers={"Authorization": f"Bearer {clear}"}).status_code
        == 200
    )

    secret, _codes = enrol(browser, clock)
    assert browser.get("/").headers.get("Location") != PAGE
    assert browser.get("/profil/").status_code == 200
    assert browser.get("/api/v1/members").status_code == 200
    # and it cannot be turned off where it is required
    disabled = browser.post(
        PAGE + "/desactiver",
        data={
            "password": PASSWORD,
            "code": clock.code(secret),
            "csrf_token": csrf_from(browser, PAGE),
        },
    )
    assert disabled.status_code == 403
    assert db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id)).active
    # the next sign-in asks the code
    _browser, again = sign_in(app, user)
    assert again.headers["Location"] == "/connexion/verification"


def test_outside_production_privileged_users_are_not_held(app, db):
    user = make_user("member_admin", member=demo_member("sarralbe"))
    browser, response = sign_in(app, user)
    assert response.headers["Location"] == "/"
    assert browser.get("/profil/").status_code == 200


def test_in_production_viewers_may_go_without_and_turn_it_off(app, db, clock, production):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser, response = sign_in(app, user)
    assert response.headers["Location"] == "/"
    assert browser.get("/membres/sarralbe/").status_code == 200
    secret, codes = enrol(browser, clock)
    token = csrf_from(browser, PAGE)
    wrong = browser.post(
        PAGE + "/desactiver",
        data={"password": "pas le bon", "code": clock.code(secret), "csrf_token": token},
    )
    assert wrong.status_code == 400
    assert "Mot de passe incorrect" in html.unescape(wrong.get_data(as_text=True))
    off = browser.post(
        PAGE + "/desactiver", data={"password": PASSWORD, "code": codes[0], "csrf_token": token}
    )
    assert off.status_code == 302
    assert not two_factor.is_enabled(user)
    assert AuditKind.TWO_FACTOR_DISABLED in kinds(user)
    _again, response = sign_in(app, user)
    assert response.headers["Location"] == "/"


def test_renewed_recovery_codes_replace_the_old_ones(app, db, clock):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser, _ = sign_in(app, user)
    secret, old = enrol(browser, clock)
    response = browser.post(
        PAGE + "/codes-de-secours",
        data={"renew-code": clock.code(secret), "csrf_token": csrf_from(browser, PAGE)},
    )
    assert response.status_code == 200
    new = RECOVERY_RE.findall(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert AuditKind.RECOVERY_CODES_RENEWED in kinds(user)
    other, _ = sign_in(app, user)
    assert second_step(other, old[0], field="recovery").status_code == 400
    assert second_step(other, new[0], field="recovery").status_code == 302


# ---- ProConnect is strong ------------------------------------------------------------


@pytest.fixture
def proconnect(app):
    """A stand-in for the ProConnect callback: it identified the user, then signs them in."""
    from webapp.models import User

    def callback(user_id: int):
        user = two_factor.db.session.get(User, user_id)
        security.sign_in(user, method="proconnect")
        return "ok"

    app.add_url_rule("/test/proconnect/<int:user_id>", "test_proconnect", callback)
    return lambda browser, user: browser.get(f"/test/proconnect/{user.id}")


def test_a_proconnect_sign_in_never_asks_the_second_factor(app, db, clock, production, proconnect):
    enrolled, _secret, _codes = enrolled_user(app, clock, role="admin")
    browser = app.test_client()
    assert proconnect(browser, enrolled).status_code == 200
    assert browser.get("/profil/").status_code == 200, "no second step after ProConnect"
    assert last_session(enrolled).method == "proconnect"

    not_enrolled = make_user("member_admin", member=demo_member("sarralbe"))
    browser = app.test_client()
    proconnect(browser, not_enrolled)
    assert browser.get("/profil/").status_code == 200, "nor the enrolment hold"
    socket = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=browser)
    assert socket.is_connected(NAMESPACE)


def test_the_syndicate_resets_a_lost_phone_from_the_command_line(app, db, clock, runner):
    user, secret, _codes = enrolled_user(app, clock, role="member_admin")
    browser, _ = sign_in(app, user)
    clock.advance(seconds=30)
    second_step(browser, clock.code(secret))
    assert browser.get("/profil/").status_code == 200
    result = runner.invoke(args=["vigie", "user", "reset-2fa", "--email", user.email])
    assert result.exit_code == 0, result.output
    assert "Double authentification retirée" in result.output
    assert not two_factor.is_enabled(user)
    assert browser.get("/profil/").status_code == 302, "their sessions are closed"
    again = runner.invoke(args=["vigie", "user", "reset-2fa", "--email", user.email])
    assert again.exit_code != 0 and "n'est pas activée" in again.output
    unknown = runner.invoke(args=["vigie", "user", "reset-2fa", "--email", "nobody@example.org"])
    assert unknown.exit_code != 0 and "compte inconnu" in unknown.output


def test_a_secret_under_a_lost_key_is_a_clear_error_not_a_crash(app, db, clock):
    from cryptography.fernet import Fernet

    user, secret, _codes = enrolled_user(app, clock)
    app.config["TWO_FACTOR_KEYS"] = Fernet.generate_key().decode()  # the old key is gone
    browser, _ = sign_in(app, user)
    response = second_step(browser, clock.code(secret))
    assert response.status_code == 409
    assert "Contactez le support" in html.unescape(response.get_data(as_text=True))
    assert browser.get("/profil/").status_code == 302


def test_keys_rotate_the_first_one_encrypts(app, db, clock):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app.config["TWO_FACTOR_KEYS"] = old
    user, secret, _codes = enrolled_user(app, clock)
    app.config["TWO_FACTOR_KEYS"] = f"{new},{old}"
    browser, _ = sign_in(app, user)
    assert second_step(browser, clock.code(secret)).status_code == 302
