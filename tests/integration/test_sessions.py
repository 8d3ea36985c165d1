"""Signed-in sessions are server-side (issue 15, ASVS 3.3.1 to 3.3.3).

Logout, a password reset, deactivation and a role change end them (pages, API and open
sockets); privileged accounts (syndicate staff, member admins) have 12 h absolute and
30 min idle limits, viewers up to 30 days; the profile lists the signed-in devices.
"""

from datetime import UTC
from datetime import datetime

import pytest
from flask_login.utils import encode_cookie
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select
from sqlalchemy import update

from tests.clock import Clock  # the time the session checks and cookie signatures read
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_user
from webapp.extensions import socketio
from webapp.live.events import NAMESPACE
from webapp.models import UserSession
from webapp.services import accounts
from webapp.services import sessions
from webapp.services import tokens

FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sessions, "_now", clock)
    # A cookie signed "then" is as old as the clock says (Flask's session, links).
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(clock().timestamp()))
    return clock


def sign_in(app, user, user_agent: str | None = None):
    """A new browser (its own cookies), signed in through the form."""
    browser = app.test_client()
    if user_agent:
        browser.environ_base["HTTP_USER_AGENT"] = user_agent
    response = browser.post(
        "/connexion",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_from(browser, "/connexion"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def copy_of(app, browser):
    """Another client holding a copy of ``browser``'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.environ_base.update(browser.environ_base)
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def log_out(browser):
    token = csrf_from(browser, "/profil/")
    assert browser.post("/deconnexion", data={"csrf_token": token}).status_code == 302


def signed_in(browser) -> bool:
    response = browser.get("/profil/")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/connexion")
        return False
    assert response.status_code == 200
    return True


def connect(app, browser):
    return socketio.test_client(app, namespace=NAMESPACE, flask_test_client=browser)


# ---- a late anonymous answer never signs the browser out ---------------------------------


def test_anonymous_pages_do_not_send_the_session_cookie_again(app):
    """Once the login form gave the browser its CSRF token, a signed-out page leaves the
    cookie alone: an answer that started before the sign-in (the service worker fetching
    its offline page) would otherwise arrive after it and put the old cookie back."""
    browser = app.test_client()
    assert browser.get("/connexion").headers.getlist("Set-Cookie"), "the CSRF token is set"
    for path in ("/hors-ligne", "/sw.js", "/", "/mentions-legales"):
        response = browser.get(path)
        assert response.status_code in (200, 302), path
        assert response.headers.getlist("Set-Cookie") == [], path


def test_an_answer_begun_before_the_sign_in_does_not_undo_it(app):
    user = make_user("member_admin", member=demo_member("sarralbe"))
    browser = app.test_client()
    token = csrf_from(browser, "/connexion")
    late = app.test_client()  # the same browser, a request sent with the cookie of then
    late.set_cookie("session", browser.get_cookie("session").value)
    response = browser.post(
        "/connexion", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert late.get("/hors-ligne").headers.getlist("Set-Cookie") == []
    assert signed_in(browser)


def test_a_copied_cookie_from_another_browser_loses_a_short_session(app):
    """Strong session protection is kept for signed-in sessions: an admin's cookie read by
    another browser (another user agent) is not signed in there."""
    user = make_user("member_admin", member=demo_member("sarralbe"))
    browser = sign_in(app, user, user_agent=FIREFOX_ANDROID)
    thief = app.test_client()
    thief.environ_base["HTTP_USER_AGENT"] = CHROME_WINDOWS
    thief.set_cookie("session", browser.get_cookie("session").value)
    assert not signed_in(thief)


# ---- defect 1: logout ends the session (pages, API, sockets) ---------------------------


def test_a_cookie_copied_before_logout_is_dead_after_it(app):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser = sign_in(app, user)
    thief = copy_of(app, browser)
    assert signed_in(thief)
    assert thief.get("/api/v1/members").status_code == 200
    log_out(browser)
    assert not signed_in(browser)
    assert not signed_in(thief), "the copied cookie no longer reads pages"
    api = thief.get("/api/v1/members")
    assert api.status_code == 401 and api.json["error"]["code"] == "authentication_required"
    page = thief.get("/profil/", follow_redirects=True).get_data(as_text=True)
    assert "Votre session a été fermée" in page, "told in French, on the login page"


def test_a_remember_cookie_cannot_bring_a_session_back(app):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser = sign_in(app, user)
    (row,) = sessions.list_for(user)
    log_out(browser)
    for value in (str(user.id), str(row.id)):  # the user's id, the row's id: never a session
        thief = app.test_client()
        thief.set_cookie("remember_token", encode_cookie(value))
        assert not signed_in(thief)


def test_logout_closes_the_sockets_of_that_session(app):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser = sign_in(app, user)
    elsewhere = sign_in(app, user, CHROME_WINDOWS)
    mine = connect(app, copy_of(app, browser))
    other = connect(app, elsewhere)
    assert mine.emit("subscribe", {"member": "sarralbe"}, namespace=NAMESPACE, callback=True)["ok"]
    assert mine.is_connected(NAMESPACE) and other.is_connected(NAMESPACE)
    log_out(browser)
    assert not mine.is_connected(NAMESPACE), "the server closed the logged-out session's socket"
    assert other.is_connected(NAMESPACE), "another device stays signed in"
    again = connect(app, copy_of(app, browser))
    assert not again.is_connected(NAMESPACE)


def test_sockets_of_sessions_ended_elsewhere_are_closed_by_the_check(app, db):
    """Ended by another worker (or expired): the periodic check closes the socket."""
    from webapp.realtime import close_ended_session_sockets

    user = make_user("support")
    browser = sign_in(app, user)
    sio = connect(app, browser)
    assert sio.is_connected(NAMESPACE)
    assert close_ended_session_sockets() == 0
    # What another process did: the row revoked, no event in this process.
    db.session.execute(update(UserSession).values(revoked_at=datetime.now(UTC)))
    db.session.commit()
    assert close_ended_session_sockets() == 1, "even a client that ignores the notice"
    assert not sio.is_connected(NAMESPACE)


def test_pages_of_an_ended_session_hear_it_in_any_process(app):
    """In another process, the page's socket is told at once (its script reloads the page)."""
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser = sign_in(app, user)
    sio = connect(app, browser)
    # As in a process that does not hold the socket: no direct closing.
    app.extensions.pop(sessions.CLOSE_SOCKETS_HOOK)
    (row,) = sessions.list_for(user)
    sessions.revoke_one(user, row.id)
    assert [e["args"][0] for e in sio.get_received(NAMESPACE) if e["name"] == "session.ended"] == [
        {"reason": "ended_by_user"}
    ]


# ---- defect 4: a password reset ends the other sessions --------------------------------


def test_a_password_reset_ends_every_session(app):
    user = make_user("member_admin", member=demo_member("sarralbe"))
    phone = sign_in(app, user, FIREFOX_ANDROID)
    sio = connect(app, phone)
    assert signed_in(phone)
    link = accounts.password_link(user)
    path = link.removeprefix(app.config["BASE_URL"])
    anonymous = app.test_client()
    response = anonymous.post(
        path,
        data={
            "password": "a brand new passphrase 2026",
            "confirm": "a brand new passphrase 2026",
            "csrf_token": csrf_from(anonymous, path),
        },
    )
    assert response.status_code == 302
    assert not signed_in(phone), "the session opened before the reset is over"
    assert not sio.is_connected(NAMESPACE)
    assert sessions.list_for(user) == []


# ---- deactivation and role changes ------------------------------------------------------


def test_deactivation_ends_sessions_sockets_and_tokens(app, db):
    from webapp.realtime import close_ended_session_sockets

    user = make_user("admin")
    browser = sign_in(app, user)
    clear, _token = tokens.create(user, "script")
    sio = connect(app, browser)
    assert sio.is_connected(NAMESPACE)
    user.active = False
    db.session.commit()
    assert close_ended_session_sockets() == 1, "closed by the check, before any request"
    assert not sio.is_connected(NAMESPACE)
    assert not signed_in(browser)
    api = app.test_client().get("/api/v1/members", headers={"Authorization": f"Bearer {clear}"})
    assert api.status_code == 401, "a deactivated user's API tokens are refused"
    user.active = True
    db.session.commit()
    assert not signed_in(browser), "reactivating does not bring the old session back"


def test_a_role_change_ends_the_sessions(app, db):
    member = demo_member("sarralbe")
    user = make_user("viewer", member=member)
    browser = sign_in(app, user)
    assert signed_in(browser)
    user.memberships[0].role = "member_admin"
    db.session.commit()
    assert not signed_in(browser), "signed in again, with the new role's limits"
    staff = make_user("support")
    desk = sign_in(app, staff)
    staff.staff_role = "admin"
    db.session.commit()
    assert not signed_in(desk)


# ---- defect 2: idle and absolute limits by risk ----------------------------------------


def test_an_admin_idle_for_31_minutes_is_signed_out(app, clock):
    user = make_user("member_admin", member=demo_member("sarralbe"))
    browser = sign_in(app, user)
    clock.advance(minutes=29)
    assert signed_in(browser), "active within the idle limit"
    clock.advance(minutes=29)
    assert signed_in(browser), "the last activity counts, not the sign-in"
    clock.advance(minutes=31)
    response = browser.get("/profil/", follow_redirects=True)
    assert "Votre session a expiré" in response.get_data(as_text=True)
    assert not signed_in(browser)


def test_a_viewer_stays_signed_in_up_to_30_days(app, clock):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser = sign_in(app, user, FIREFOX_ANDROID)
    cookie = browser.get_cookie("session")
    assert cookie.expires is not None, "a viewer's cookie outlives the browser"
    clock.advance(minutes=31)
    assert signed_in(browser)
    clock.advance(days=20)
    assert signed_in(browser), "20 days later on the same phone"
    clock.advance(days=10)
    assert not signed_in(browser), "30 days after signing in"


def test_staff_sessions_end_after_12_hours_however_active(app, clock):
    user = make_user("support")
    browser = sign_in(app, user)
    assert browser.get_cookie("session").expires is None, "a browser-session cookie"
    for _step in range(28):  # a request every 25 minutes: never idle
        clock.advance(minutes=25)
        assert signed_in(browser)
    clock.advance(minutes=25)
    assert not signed_in(browser), "12 h 05 after signing in, active all along"


def test_a_20_day_old_staff_cookie_is_refused(app, clock):
    user = make_user("admin")
    clock.advance(days=-20)
    browser = sign_in(app, user)
    clock.advance(days=20)
    assert not signed_in(browser)
    assert browser.get("/api/v1/members").status_code == 401


def test_last_activity_is_written_at_most_once_a_minute(app, db, clock):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser = sign_in(app, user)
    (row,) = sessions.list_for(user)
    started = row.last_seen_at
    clock.advance(seconds=30)
    assert signed_in(browser)
    db.session.expire_all()
    assert db.session.get(UserSession, row.id).last_seen_at == started
    clock.advance(seconds=40)
    assert signed_in(browser)
    db.session.expire_all()
    assert db.session.get(UserSession, row.id).last_seen_at > started


def test_expired_and_ended_sessions_are_purged(app, db, clock):
    user = make_user("viewer", member=demo_member("sarralbe"))
    staff = make_user("support")
    sign_in(app, user)
    log_out(sign_in(app, user))
    sign_in(app, staff)
    assert sessions.purge_expired() == 1, "the ended one"
    clock.advance(hours=13)
    assert sessions.purge_expired() == 1, "the staff session, past its 12 h"
    assert len(db.session.scalars(select(UserSession)).all()) == 1


def test_the_delivery_worker_purges_sessions_daily(app, db, clock):
    from webapp.services.notify import Worker

    user = make_user("viewer", member=demo_member("sarralbe"))
    log_out(sign_in(app, user))
    worker = Worker(app, channels={})
    assert worker.purge_sessions_daily() == 1
    assert worker.purge_sessions_daily() is None, "once a day"


# ---- the profile's device list ----------------------------------------------------------


def test_profile_lists_devices_and_ends_one(app):
    user = make_user("viewer", member=demo_member("sarralbe"))
    phone = sign_in(app, user, FIREFOX_ANDROID)
    desk = sign_in(app, user, CHROME_WINDOWS)
    someone = make_user("viewer", member=demo_member("bitche"))
    sign_in(app, someone)
    page = desk.get("/profil/").get_data(as_text=True)
    assert "Appareils connectés" in page
    assert "Firefox sur Android" in page and "Chrome sur Windows" in page
    assert "cet appareil" in page
    assert page.count('class="session-row') == 2, "only this user's sessions"
    rows = {row.device: row for row in sessions.list_for(user)}
    token = csrf_from(desk, "/profil/")
    # Someone else's session: not found, never ended.
    (foreign,) = sessions.list_for(someone)
    refused = desk.post(f"/profil/connexions/{foreign.id}/fermer", data={"csrf_token": token})
    assert refused.status_code == 404
    assert len(sessions.list_for(someone)) == 1
    for bad in ("9" * 25, "0", "-1"):
        assert (
            desk.post(f"/profil/connexions/{bad}/fermer", data={"csrf_token": token}).status_code
            == 404
        )
    ended = desk.post(
        f"/profil/connexions/{rows['Firefox sur Android'].id}/fermer",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "« Firefox sur Android » est déconnecté." in ended.get_data(as_text=True)
    assert not signed_in(phone)
    assert signed_in(desk)
    assert [row.device for row in sessions.list_for(user)] == ["Chrome sur Windows"]


def test_end_all_other_devices_keeps_this_one(app):
    user = make_user("member_admin", member=demo_member("sarralbe"))
    phones = [sign_in(app, user, FIREFOX_ANDROID) for _ in range(2)]
    desk = sign_in(app, user, CHROME_WINDOWS)
    token = csrf_from(desk, "/profil/")
    response = desk.post(
        "/profil/connexions/fermer-les-autres", data={"csrf_token": token}, follow_redirects=True
    )
    assert "2 autres appareils sont déconnectés." in response.get_data(as_text=True)
    assert signed_in(desk)
    assert not any(signed_in(phone) for phone in phones)


def test_ending_this_device_from_the_list_signs_out(app):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser = sign_in(app, user)
    (row,) = sessions.list_for(user)
    token = csrf_from(browser, "/profil/")
    response = browser.post(f"/profil/connexions/{row.id}/fermer", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")
    assert not signed_in(browser)


def test_session_rows_keep_only_digests_and_prefixes(app, db):
    user = make_user("viewer", member=demo_member("sarralbe"))
    browser = sign_in(app, user, FIREFOX_ANDROID)
    (row,) = sessions.list_for(user)
    cookie = browser.get_cookie("session").value
    assert row.token_hash not in cookie and len(row.token_hash) == 64
    assert row.ip_prefix == "127.0.0.0/24"
    assert row.device == "Firefox sur Android"
