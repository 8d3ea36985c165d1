"""Every HTML page, as the role that sees it: axe-core, no horizontal overflow, screenshots.

The pages come from ``app.url_map`` (GET routes; files, JSON and htmx fragments
aside) so that a new page cannot escape the check: ``test_every_page_route_is_checked``
fails until it is given a role below. French error pages and forms re-rendered
with their errors are checked too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from flask import url_for

from tests import factories
from tests.browser.helpers import assert_accessible
from tests.browser.helpers import assert_no_horizontal_overflow
from tests.browser.helpers import first_backend_only
from tests.browser.helpers import log_in
from webapp.extensions import db
from webapp.live.monitor import get_monitor
from webapp.services import accounts
from webapp.services import demo
from webapp.services import kiosk
from webapp.services import orders
from webapp.services import support
from webapp.services import unsubscribe

pytestmark = pytest.mark.browser

ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS, "viewer", "member_admin", "admin"]
SLUG = "sarralbe"
DEMO_SLUGS = [
    "sarralbe",
    "bitche",
    "cc-saulnois",
    "ecole-jean-moulin",
    "college-la-salle",
    "sde-rohrbach",
]

# Every GET route rendering a full page -> the role that visits it.
PAGE_ROLES = {
    "auth.login": ANONYMOUS,
    "auth.forgot_password": ANONYMOUS,
    "auth.set_password": ANONYMOUS,
    "members.index": "admin",  # a member's viewer is redirected to members.detail
    "members.detail": "viewer",
    "members.users": "member_admin",
    "admin.index": "admin",
    "admin.new_member": "admin",
    "admin.zabbix": "admin",
    "admin.journal": "admin",
    "admin.over_quota": "admin",
    "admin.service": "admin",
    "probes.meter": "viewer",
    "probes.contribution": "member_admin",
    "probes.orders_list": "member_admin",
    "probes.order_new": "member_admin",
    "probes.order_reduce": "member_admin",
    "probes.order": "member_admin",
    "probes.agreement": "member_admin",
    "admin.orders": "admin",
    "admin.access_requests": "admin",
    "admin.agreements": "admin",
    "admin.agreement_edit": "admin",
    "profile.index": "viewer",
    "profile.two_factor": "viewer",  # two-factor sign-in: enrolment, recovery codes
    "maps.map": "viewer",
    "maps.node": "viewer",
    "maps.site": "viewer",
    "support.member_requests": "viewer",
    "support.new": "viewer",
    "support.queue": "admin",
    "support.member_request": "viewer",
    "support.member_stats": "viewer",
    "support.staff_request": "admin",
    "support.staff_new": "admin",
    "support.stats": "admin",
    "wall.index": "admin",
    "wall.member": "admin",
    "wall.links": "admin",
    "wall.kiosk_entry": ANONYMOUS,  # a TV opening its kiosk link: redirected to the wall
    "pwa.offline": ANONYMOUS,  # what the service worker shows without a network
    "profile.alerts": "viewer",
    "alerts.notifications": "viewer",
    "alerts.member_defaults": "member_admin",
    "profile.unsubscribe": ANONYMOUS,  # an e-mail's one-click link, opened in a browser
    "legal.accessibility": ANONYMOUS,  # the accessibility statement (issue 15)
    "legal.legal_notice": ANONYMOUS,
    "legal.personal_data": ANONYMOUS,
    "legal.contact": ANONYMOUS,
}
# GET routes that only redirect (no page of their own) -> the page their tests check.
REDIRECTS = {
    # Without a pending second step, back to the login form; the page itself (after a
    # password) is checked at 390×844 by tests/browser/test_two_factor_browser.py.
    "auth.verify": "auth.login",
    # The provider's answer: signed in (a redirect) or the login page with a message; the
    # round trip is checked in Chromium by tests/browser/test_proconnect_browser.py.
    "auth.proconnect_callback": "auth.login",
    "alerts.open_notification": "alerts.notifications",
    "probes.contributions_index": "probes.contribution",
}
# Fragments swapped in by htmx: no <html>, <title> or landmarks of their own;
# their markup is checked inside the page that includes them.
FRAGMENTS = {
    "members.summary_fragment": "members.detail",
    "members.card_fragment": "members.index",
    "wall.tiles": "wall.index",
    "maps.drawing": "maps.map",
    "maps.texts": "maps.map",
}


def page_routes(app) -> dict[str, str]:
    """endpoint -> rule of every GET route that answers HTML (no files, no JSON)."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.rule.startswith("/api/") or rule.rule == "/healthz":
            continue  # JSON
        if rule.rule == "/sw.js":
            continue  # the service worker's script
        if rule.rule == "/.well-known/security.txt":
            continue  # a text file (RFC 9116), checked by tests/integration/test_legal_pages.py
        if rule.rule.endswith((".csv", ".pdf")):
            continue  # files, checked by their own tests
        if rule.endpoint in FRAGMENTS or rule.endpoint in REDIRECTS:
            continue
        if rule.endpoint in ("support.member_attachment", "support.staff_attachment"):
            continue  # file downloads, checked by their own tests
        routes[rule.endpoint] = rule
    return routes


def test_every_page_route_is_checked(app):
    routes = page_routes(app)
    assert set(routes) == set(PAGE_ROLES), (
        "give each new page route the role that visits it in PAGE_ROLES (or FRAGMENTS)"
    )
    assert set(FRAGMENTS.values()) <= set(routes)


@dataclass
class Visit:
    """One page state to check: ``go`` brings the page there and returns the HTTP status."""

    name: str
    go: Callable[[], int]
    status: int = 200


def _goto(page, path: str) -> Callable[[], int]:
    return lambda: page.goto(path).status


def _submit_empty(page, path: str, button: str) -> Callable[[], int]:
    """Open a form and send it empty: it comes back with its errors."""

    def go() -> int:
        page.goto(path)
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("main").get_by_role("button", name=button).click()
        page.wait_for_load_state()
        return posted.value.status

    return go


def _user_for(role: str, member):
    if role == ANONYMOUS:
        return None
    if role == "admin":
        for slug in DEMO_SLUGS[1:]:
            factories.demo_member(slug)
    return factories.make_user(role, member if role in ("viewer", "member_admin") else None)


def _order_of(member):
    """A current agreement and an order waiting for the syndicate (the order pages' states)."""
    agreement = factories.make_agreement(
        member, signed_on=date(2025, 1, 15), reference="CONV-2025-007"
    )
    if not member.subscription.pools:
        member.subscription.pools = 2
        db.session.commit()
    buyer = factories.make_user("member_admin", member)
    order, _created = orders.place(member, buyer, pools=2, key=f"pages-{member.id}", note="Vite")
    return agreement, order


def _visits(app, page, role: str, member) -> list[Visit]:
    invited = factories.make_user("viewer", member)
    host = next(h for h in get_monitor(app).source.hosts() if member.group_names[0] in h.groups)
    agreement, order = _order_of(member) if role in ("member_admin", "admin") else (None, None)
    request = None
    if role != ANONYMOUS:
        request = factories.make_support_request(
            member,
            invited,
            subject="La caméra du parking ne répond plus",
            hostid=host.hostid,
            urgency="high",
            category="outage",
        )
        support.add_comment(request, factories.make_user("support"), "Nous regardons.")
    values = {
        "slug": member.slug,
        "token": accounts.make_password_token(invited),
        "hostid": host.hostid,
        "year": 2026,
        "order_id": order.id if order else 0,
        "agreement_id": agreement.id if agreement else 0,
        "request_id": request.id if request else 0,
        "site": host.tag("site") or "_",
    }
    visits = []
    for endpoint, rule in sorted(page_routes(app).items()):
        if PAGE_ROLES.get(endpoint) != role:
            continue
        if endpoint == "wall.kiosk_entry":
            clear, _link = kiosk.create("Télévision du support", factories.make_user("admin"))
            arguments = {"token": clear}
        elif endpoint == "profile.unsubscribe":
            arguments = {"token": unsubscribe.make_token(invited.id)}
        else:
            missing = rule.arguments - set(values)
            assert not missing, f"no test value for {missing} of {rule.rule}"
            arguments = {arg: values[arg] for arg in rule.arguments}
        with app.test_request_context():
            path = url_for(endpoint, **arguments)
        visits.append(Visit(endpoint.replace(".", "-"), _goto(page, path)))
    if role == ANONYMOUS:
        visits += [
            Visit("error-404", _goto(page, "/page-qui-n-existe-pas"), 404),
            Visit("auth-link-invalid", _goto(page, "/mot-de-passe/definir/lien-faux"), 400),
            Visit("auth-login-errors", _submit_empty(page, "/connexion", "Se connecter"), 400),
            Visit(
                "auth-forgot-errors",
                _submit_empty(page, "/mot-de-passe/oubli", "Recevoir un lien"),
                400,
            ),
        ]
    elif role == "viewer":
        visits += [
            Visit("error-403", _goto(page, "/admin/"), 403),
            Visit("profile-token-errors", _submit_empty(page, "/profil/", "Créer un jeton"), 400),
            Visit(
                "support-new-errors",
                _submit_empty(page, f"/membres/{member.slug}/support/nouvelle", "Envoyer"),
                400,
            ),
        ]
    elif role == "member_admin":
        visits.append(
            Visit(
                "members-users-errors",
                _submit_empty(page, f"/membres/{member.slug}/utilisateurs", "Inviter"),
                400,
            )
        )
        orders_path = f"/membres/{member.slug}/commandes"
        visits += [
            Visit(
                "probes-order_new-errors",
                _submit_empty(page, f"{orders_path}/nouvelle?pools=", "Voir le montant"),
                400,
            ),
            Visit(
                "probes-order_reduce-review",
                _submit_empty(page, f"{orders_path}/reduction", "Voir le montant"),
                200,
            ),
        ]
    elif role == "admin":
        visits.append(
            Visit(
                "admin-new_member-errors",
                _submit_empty(page, "/admin/membres/nouveau", "Créer le membre"),
                400,
            )
        )
    return visits


@pytest.mark.parametrize("role", ROLES)
@first_backend_only
def test_pages_pass_axe_and_fit_the_viewport(app, page, problems, viewport, shoot, role):
    member = factories.demo_member(SLUG)
    user = _user_for(role, member)
    visits = _visits(app, page, role, member)
    assert visits
    if user is not None:
        log_in(page, user.email)

    failures = []
    for visit in visits:
        problems.expected_statuses = {visit.status} if visit.status >= 400 else set()
        status = visit.go()
        label = f"{visit.name} ({role}, {viewport})"
        try:
            assert status == visit.status, f"{label}: HTTP {status}, expected {visit.status}"
            assert_accessible(page, label)
            assert_no_horizontal_overflow(page, label)
        except AssertionError as exc:
            failures.append(str(exc))
        shoot(page, visit.name)
    assert not failures, "\n\n".join(failures)
    problems.check()


@first_backend_only
def test_member_home_with_a_failure_passes_axe(page, problems, viewport, shoot):
    """Badges and summary in their problem colours (contrast), with dependants unreachable."""
    member = factories.demo_member(SLUG)
    user = factories.make_user("viewer", member)
    demo.fail(f"{SLUG}-sw-1-1")
    log_in(page, user.email)
    assert page.get_by_role("heading", level=2, name="Tout fonctionne normalement").count() == 0
    assert page.locator(".summary--problem").count() == 1
    assert page.locator(".badge--unreachable").count() > 0
    assert_accessible(page, f"members-detail with a failure ({viewport})")
    assert_no_horizontal_overflow(page, f"members-detail with a failure ({viewport})")
    shoot(page, "members-detail-failure")
    problems.check()
