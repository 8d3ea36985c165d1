"""Real values for the arguments of the URL map's rules (route-map tests)."""

from __future__ import annotations

import re
from datetime import date

from tests.factories import demo_member
from tests.factories import make_agreement
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.services import accounts
from webapp.services import attachments
from webapp.services import kiosk
from webapp.services import orders
from webapp.services import tokens

PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
HUGE = "9" * 25


def fill(rule, samples: dict, huge: bool = False) -> str:
    """A path of ``rule``: real values (``samples``), or 25 digits for integer arguments."""

    def value(match):
        converter, name = match.groups()
        if converter == "int":
            return HUGE if huge else samples.get(name, "1")
        return samples.get(name, "x")

    return PLACEHOLDER.sub(value, rule.rule)


def samples() -> dict:
    """Real ids and tokens, so that the input reaches the forms behind each route."""
    from webapp.services import demo

    member = demo_member("sarralbe")
    demo.fail("sarralbe-routeur")
    source = demo._source()
    router = source.host_by_name("sarralbe-routeur")
    problem = next(p for p in source.problems() if p.hostid == router.hostid)
    agreement = make_agreement(member, signed_on=date(2025, 1, 15))
    order, _created = orders.place(
        member, make_user("member_admin", member=member), pools=1, key="bad-input"
    )
    author = make_user("viewer", member=member)
    request = make_support_request(member, author, hostid=router.hostid)
    attachment = attachments.add(request, author, b"%PDF-1.4\n%%EOF\n", "x.pdf")
    _clear, token = tokens.create(author, "script")
    _clear, link = kiosk.create("Mur", make_user("admin"))
    return {
        "slug": member.slug,
        "hostid": router.hostid,
        "eventid": problem.eventid,
        "request_id": str(request.id),
        "attachment_id": str(attachment.id),
        "order_id": str(order.id),
        "agreement_id": str(agreement.id),
        "token_id": str(token.id),
        "link_id": str(link.id),
        "year": "2026",
        "site": "Mairie",
        "token": accounts.make_password_token(author),
    }
