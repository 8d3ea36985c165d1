"""Support response times (issue 13, part 5): medians, p90, shares within target, by month
in the syndicate's time zone and by member; the staff's page and each member's page.

Times are hand-computed: p90 is ``statistics.quantiles(n=10, method="inclusive")``, so for
three sorted times a ≤ b ≤ c it is ``b + 0.8 × (c − b)``. Default targets (minutes):
critical 30 / 240, high 120 / 1440, normal 480 / 4320, low 1440 / 10080.
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from tests import factories
from webapp.blueprints.support.stats import duration as stats_duration
from webapp.blueprints.support.stats import percent
from webapp.blueprints.support.stats import target_duration as stats_target_duration
from webapp.extensions import db
from webapp.models import SupportRequest
from webapp.models.choices import SupportStatus
from webapp.models.choices import SupportUrgency
from webapp.models.member import utcnow
from webapp.services import support
from webapp.services import support_stats
from webapp.services.errors import PermissionDenied

MIN = 60
HOUR = 3600
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday morning in March (CET, UTC+1)
END_OF_MARCH = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)


def make_request(
    member,
    created_at,
    *,
    urgency=SupportUrgency.NORMAL,
    response=None,
    resolved=None,
    waiting=0,
    status=None,
    closed=None,
    waiting_since=None,
    rating=None,
    subject="Imprimante",
) -> SupportRequest:
    """A request with explicit clocks; ``response`` and ``resolved`` are seconds after creation."""
    first = created_at + timedelta(seconds=response) if response is not None else None
    resolved_at = created_at + timedelta(seconds=resolved) if resolved is not None else None
    if status is None:
        status = (
            SupportStatus.RESOLVED
            if resolved_at
            else (SupportStatus.IN_PROGRESS if first else SupportStatus.NEW)
        )
    request = SupportRequest(
        member=member,
        subject=subject,
        message="…",
        urgency=str(urgency),
        status=str(status),
        created_at=created_at,
        updated_at=created_at,
        first_response_at=first,
        resolved_at=resolved_at,
        closed_at=closed,
        waiting_seconds=waiting,
        waiting_since=waiting_since,
        rating=rating,
        rated_at=(resolved_at + timedelta(minutes=5)) if rating and resolved_at else None,
    )
    db.session.add(request)
    db.session.commit()
    return request


def month(report, year: int, number: int):
    found = [m for m in report.months if (m.month.year, m.month.month) == (year, number)]
    assert found, [m.month for m in report.months]
    return found[0].figures


@pytest.fixture
def member(app):
    return factories.make_member(name="Commune de Rémelfing", slug="remelfing")


@pytest.fixture
def other(app):
    return factories.make_member(name="Commune de Sarreinsming", slug="sarreinsming")


# -- the arithmetic -------------------------------------------------------------------


def test_three_requests_give_exact_median_and_p90(member):
    # Responses 10, 20 and 60 min; resolutions 1 h, 2 h and 5 h of support time (the
    # third took 7 h, 2 of them waiting for the member).
    make_request(member, T0, response=10 * MIN, resolved=1 * HOUR)
    make_request(member, T0 + timedelta(days=1), response=20 * MIN, resolved=2 * HOUR)
    make_request(
        member, T0 + timedelta(days=2), response=60 * MIN, resolved=7 * HOUR, waiting=2 * HOUR
    )

    report = support_stats.member_report(member, 3, now=END_OF_MARCH)
    march = month(report, 2025, 3)
    assert (march.opened, march.resolved, march.responded) == (3, 3, 3)
    assert march.response_median == 20 * MIN
    assert march.response_p90 == pytest.approx(20 * MIN + 0.8 * 40 * MIN)  # 52 min
    assert march.resolution_median == 2 * HOUR
    assert march.resolution_p90 == pytest.approx(2 * HOUR + 0.8 * 3 * HOUR)  # 4 h 24 min
    assert (march.response_within, march.response_judged) == (3, 3)
    assert (march.resolution_within, march.resolution_judged) == (3, 3)
    assert report.total == march
    assert [m.month.month for m in report.months] == [3, 2, 1]  # newest first
    assert month(report, 2025, 2).empty and month(report, 2025, 1).empty
    assert report.months[0].current and not report.months[1].current


def test_percentiles_of_one_time_and_of_none():
    assert support_stats.percentiles([]) == (None, None)
    assert support_stats.percentiles([90]) == (90, 90)
    assert support_stats.percentiles([600, 3600, 1200]) == (1200, pytest.approx(3120))


def test_waiting_for_the_member_never_counts_against_support(member):
    # Critical: 4 h to resolve. 5 h in all, 2 of them waiting: 3 h, within the target.
    make_request(
        member,
        T0,
        urgency=SupportUrgency.CRITICAL,
        response=10 * MIN,
        resolved=5 * HOUR,
        waiting=2 * HOUR,
    )
    figures = month(support_stats.member_report(member, 3, now=END_OF_MARCH), 2025, 3)
    assert figures.resolution_median == 3 * HOUR
    assert (figures.resolution_within, figures.resolution_judged) == (1, 1)


def test_late_response_and_late_resolution_are_missed(member):
    make_request(
        member, T0, urgency=SupportUrgency.CRITICAL, response=45 * MIN, resolved=5 * HOUR
    )  # 45 min > 30 min; 5 h > 4 h
    make_request(
        member,
        T0 + timedelta(days=1),
        urgency=SupportUrgency.CRITICAL,
        response=30 * MIN,
        resolved=4 * HOUR,
    )  # exactly on target: within
    figures = month(support_stats.member_report(member, 3, now=END_OF_MARCH), 2025, 3)
    assert (figures.response_within, figures.response_judged) == (1, 2)
    assert (figures.resolution_within, figures.resolution_judged) == (1, 2)
    assert figures.response_share == 0.5 and figures.resolution_share == 0.5


def test_open_request_past_target_is_already_missed(member):
    now = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
    # Unanswered for 2 h (critical: 30 min): a missed response; resolution 4 h not yet up.
    make_request(member, now - timedelta(hours=2), urgency=SupportUrgency.CRITICAL)
    # Answered, then waiting for the member since 5 h 40 min: 20 min of support time only.
    make_request(
        member,
        now - timedelta(hours=6),
        urgency=SupportUrgency.CRITICAL,
        response=10 * MIN,
        status=SupportStatus.WAITING_MEMBER,
        waiting_since=now - timedelta(hours=5, minutes=40),
    )
    # In progress for 5 h (critical): the resolution target ran out an hour ago.
    make_request(
        member, now - timedelta(hours=5), urgency=SupportUrgency.CRITICAL, response=5 * MIN
    )
    figures = support_stats.member_report(member, 3, now=now).total
    assert figures.opened == 3 and figures.resolved == 0
    assert (figures.response_within, figures.response_judged) == (2, 3)
    assert (figures.resolution_within, figures.resolution_judged) == (0, 1)
    # Of the two responses given, 5 and 10 min: the median halfway, p90 at 9 min 30 s.
    assert (figures.response_median, figures.response_p90) == (7.5 * MIN, 9.5 * MIN)


def test_closed_unanswered_counts_only_once_its_target_ran_out(member):
    # Withdrawn after 1 h (normal: 8 h to respond): not judged. Withdrawn after 2 days: missed.
    make_request(member, T0, status=SupportStatus.CLOSED, closed=T0 + timedelta(hours=1))
    make_request(
        member, T0 + timedelta(days=3), status=SupportStatus.CLOSED, closed=T0 + timedelta(days=5)
    )
    figures = month(support_stats.member_report(member, 3, now=END_OF_MARCH), 2025, 3)
    assert (figures.opened, figures.resolved) == (2, 0)
    assert (figures.response_within, figures.response_judged) == (0, 1)
    assert figures.resolution_judged == 0  # 2 days of 3: the resolution target still ran


def test_configured_targets_decide(app, member):
    app.config["SUPPORT_TARGETS"] = "normal=5/60"
    make_request(member, T0, response=10 * MIN, resolved=50 * MIN)
    figures = support_stats.member_report(member, 3, now=END_OF_MARCH).total
    assert (figures.response_within, figures.response_judged) == (0, 1)
    assert (figures.resolution_within, figures.resolution_judged) == (1, 1)
    assert support_stats.member_report(member, 3, now=END_OF_MARCH).targets["normal"] == (
        5 * MIN,
        HOUR,
    )


def test_months_are_the_syndicate_s_months(member):
    now = datetime(2025, 4, 2, 12, 0, tzinfo=UTC)
    # 28 Feb 23:30 UTC is 1 March 00:30 in Paris (CET): March.
    make_request(member, datetime(2025, 2, 28, 23, 30, tzinfo=UTC))
    # 28 Feb 22:30 UTC is 23:30 in Paris: February.
    make_request(member, datetime(2025, 2, 28, 22, 30, tzinfo=UTC))
    # 31 March 21:30 UTC is 23:30 in Paris (CEST since 30 March): March.
    make_request(member, datetime(2025, 3, 31, 21, 30, tzinfo=UTC))
    # 31 March 22:30 UTC is 1 April 00:30 in Paris: April.
    make_request(member, datetime(2025, 3, 31, 22, 30, tzinfo=UTC))
    report = support_stats.member_report(member, 3, now=now)
    assert [(m.month.month, m.figures.opened) for m in report.months] == [(4, 1), (3, 2), (2, 1)]
    assert report.start == datetime(2025, 1, 31, 23, 0, tzinfo=UTC)  # 1 Feb, Paris midnight


def test_period_starts_at_local_midnight(member):
    now = datetime(2025, 4, 2, 12, 0, tzinfo=UTC)
    make_request(member, datetime(2025, 1, 31, 22, 59, tzinfo=UTC))  # 31 Jan 23:59, Paris
    make_request(member, datetime(2025, 1, 31, 23, 0, tzinfo=UTC))  # 1 Feb 00:00, Paris
    assert support_stats.member_report(member, 3, now=now).total.opened == 1


def test_a_miss_counts_in_the_month_its_target_ran_out(member):
    # Normal (8 h to respond), opened 31 January 10:00 UTC, answered 2 February: the
    # response time is February's, the miss January's (it ran out at 18:00 on the 31st).
    created = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)
    make_request(member, created, response=(2 * 24 - 2) * HOUR)
    report = support_stats.member_report(member, 3, now=datetime(2025, 3, 1, 12, tzinfo=UTC))
    january, february = month(report, 2025, 1), month(report, 2025, 2)
    assert (january.opened, january.responded, january.response_judged) == (1, 0, 1)
    assert january.response_within == 0
    assert (february.opened, february.responded, february.response_judged) == (0, 1, 0)
    assert february.response_median == 46 * HOUR


def test_satisfaction_is_satisfied_over_rated(member):
    make_request(member, T0, response=MIN, resolved=HOUR, rating=support.SATISFIED)
    make_request(member, T0, response=MIN, resolved=HOUR, rating=support.SATISFIED)
    make_request(member, T0, response=MIN, resolved=HOUR, rating=support.UNSATISFIED)
    make_request(member, T0, response=MIN, resolved=HOUR)
    figures = support_stats.member_report(member, 3, now=END_OF_MARCH).total
    assert (figures.satisfied, figures.rated) == (2, 3)
    assert figures.satisfaction == pytest.approx(2 / 3)


def test_through_the_service_clocks(member):
    """Opened, answered, waiting for the member, answered back, resolved: the real clocks."""
    viewer = factories.make_user("member_admin", member)
    agent = factories.make_user("support")
    new = support.NewRequest(
        subject="Plus d’internet",
        message="La box clignote.",
        category="outage",
        urgency=SupportUrgency.CRITICAL,
    )
    request = support.open_request(member, viewer, new, now=T0)
    support.add_comment(request, agent, "Nous regardons.", now=T0 + timedelta(minutes=20))
    support.change_status(
        request, agent, SupportStatus.WAITING_MEMBER, now=T0 + timedelta(minutes=30)
    )
    support.add_comment(request, viewer, "Voici la photo.", now=T0 + timedelta(hours=2, minutes=30))
    support.change_status(
        request,
        agent,
        SupportStatus.RESOLVED,
        resolution="Box changée.",
        now=T0 + timedelta(hours=5),
    )
    support.rate(request, viewer, True, now=T0 + timedelta(hours=6))

    figures = support_stats.member_report(member, 3, now=END_OF_MARCH).total
    assert figures.response_median == 20 * MIN
    assert figures.resolution_median == 3 * HOUR  # 5 h less 2 h waiting for the member
    assert (figures.response_within, figures.resolution_within, figures.resolution_judged) == (
        1,
        1,
        1,
    )
    assert (figures.satisfied, figures.rated) == (1, 1)


def test_each_member_sees_only_its_own_numbers(member, other):
    make_request(member, T0, response=10 * MIN, resolved=HOUR)
    make_request(other, T0, response=HOUR, resolved=2 * HOUR)
    make_request(other, T0, response=3 * HOUR, resolved=4 * HOUR)
    mine = support_stats.member_report(member, 3, now=END_OF_MARCH)
    assert mine.total.opened == 1 and mine.total.response_median == 10 * MIN
    assert mine.members == []

    staff = support_stats.staff_report(factories.make_user("support"), 3, now=END_OF_MARCH)
    assert staff.total.opened == 3
    assert [(m.slug, m.figures.opened) for m in staff.members] == [
        ("remelfing", 1),
        ("sarreinsming", 2),
    ]
    assert staff.members[1].figures.response_median == 2 * HOUR
    one = support_stats.staff_report(factories.make_user("support"), 3, other, now=END_OF_MARCH)
    assert one.total.opened == 2 and [m.slug for m in one.members] == ["sarreinsming"]


def test_staff_report_is_the_staff_s(member):
    with pytest.raises(PermissionDenied):
        support_stats.staff_report(factories.make_user("member_admin", member), 3)


def test_french_durations_and_shares(app):
    def duration(seconds):
        text = stats_duration(seconds)
        return text.replace("\u00a0", " ") if text else text

    def target_duration(seconds):
        return stats_target_duration(seconds).replace("\u00a0", " ")

    with app.test_request_context():
        assert stats_duration(80 * MIN) == "1\u00a0h\u00a020\u00a0min"  # never broken
        assert duration(None) is None
        assert duration(20) == "moins d’une minute"
        assert duration(45 * MIN) == "45 min"
        assert duration(80 * MIN) == "1 h 20 min"
        assert duration(4 * HOUR) == "4 h"
        assert duration((2 * 24 + 3) * HOUR + 10 * MIN) == "2 j 3 h"
        assert duration(3 * 24 * HOUR) == "3 j"
        assert duration(24 * HOUR) == "1 j"
        assert target_duration(24 * HOUR) == "24 h"  # a target under two days, in hours
        assert target_duration(30 * MIN) == "30 min"
        assert target_duration(3 * 24 * HOUR) == "3 j"
        assert percent(13, 15) == "87\u00a0%"
        assert percent(199, 200) == "99\u00a0%"  # never 100 % with a miss
        assert percent(1, 300) == "1\u00a0%"  # never 0 % with a success
        assert percent(0, 0) is None


# -- the pages ------------------------------------------------------------------------


def recent(member, **kwargs) -> SupportRequest:
    """A request of yesterday: inside any period, whatever today's date."""
    return make_request(member, utcnow() - timedelta(days=1), **kwargs)


def kpi(page: str, label: str) -> str:
    """The value of the key figure ``label`` (spaces as typed: no-break ones made plain)."""
    match = re.search(
        rf'<span class="kpi__label">{re.escape(label)}</span>'
        r'<span class="kpi__value[^"]*">([^<]*)<',
        page,
    )
    assert match, f"no key figure {label!r}"
    return match.group(1).replace("\u00a0", " ").replace("&nbsp;", " ")


def test_staff_page_shows_months_members_and_targets(client, login_as, member, other):
    recent(member, response=10 * MIN, resolved=HOUR)
    recent(member, response=30 * MIN, resolved=2 * HOUR)
    recent(other, urgency=SupportUrgency.CRITICAL, response=HOUR, resolved=5 * HOUR)
    login_as("support")
    response = client.get("/support/statistiques")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert kpi(page, "Demandes reçues") == "3"
    assert kpi(page, "Première réponse, médiane") == "30 min"
    assert kpi(page, "Réponses dans le délai") == "67 %"  # 2 of 3: the critical was late
    assert "2 sur 3" in page
    assert "Mois par mois" in page and "Membre par membre" in page
    assert 'href="/membres/remelfing/support/statistiques?months=6"' in page
    assert "Commune de Sarreinsming" in page
    plain = page.replace("\u00a0", " ")
    assert "<strong>Critique</strong> : réponse sous 30 min, résolution sous 4 h" in plain
    assert "<strong>Haute</strong> : réponse sous 2 h, résolution sous 24 h" in plain
    assert "<strong>Basse</strong> : réponse sous 24 h, résolution sous 7 j" in plain
    assert '<th scope="col">' in page and "<caption" in page

    one = client.get("/support/statistiques?months=3&member=sarreinsming").get_data(as_text=True)
    assert kpi(one, "Demandes reçues") == "1"
    assert kpi(one, "Réponses dans le délai") == "0 %"


def test_member_page_shows_only_the_member_s_numbers(client, login_as, member, other):
    recent(member, response=10 * MIN, resolved=HOUR, rating=support.SATISFIED)
    recent(other, response=HOUR, resolved=2 * HOUR)
    recent(other, response=HOUR, resolved=2 * HOUR)
    login_as("viewer", member)
    response = client.get("/membres/remelfing/support/statistiques?months=12")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert kpi(page, "Demandes reçues") == "1"
    assert kpi(page, "Première réponse, médiane") == "10 min"
    assert kpi(page, "Avis satisfaits") == "100 %"
    assert "Sarreinsming" not in page and "Membre par membre" not in page
    assert "Sur les 12 derniers mois" in page


def test_staff_may_read_a_member_s_page(client, login_as, member):
    recent(member, response=10 * MIN)
    login_as("support")
    page = client.get("/membres/remelfing/support/statistiques").get_data(as_text=True)
    assert kpi(page, "Demandes reçues") == "1"


def test_staff_page_is_403_for_a_member_user(client, login_as, member):
    login_as("member_admin", member)
    assert client.get("/support/statistiques").status_code == 403


def test_another_member_s_page_is_404(client, login_as, member, other):
    login_as("member_admin", member)
    assert client.get("/membres/sarreinsming/support/statistiques").status_code == 404


def test_pages_need_a_sign_in(client, member):
    assert client.get("/support/statistiques").status_code == 302
    assert client.get("/membres/remelfing/support/statistiques").status_code == 302


def test_empty_period_says_so_in_french(client, login_as, member):
    make_request(
        member,
        utcnow() - timedelta(days=400),
        response=MIN,
        resolved=HOUR,
        status=SupportStatus.CLOSED,
        closed=utcnow() - timedelta(days=390),
    )
    login_as("viewer", member)
    page = client.get("/membres/remelfing/support/statistiques?months=3").get_data(as_text=True)
    assert "Aucune demande de support sur cette période" in page
    assert "Mois par mois" not in page
    assert "réponse sous 30\u00a0min, résolution sous 4\u00a0h" in page  # the targets, still


def test_staff_empty_period_says_so_in_french(client, login_as, member):
    login_as("support")
    page = client.get("/support/statistiques?member=remelfing").get_data(as_text=True)
    assert "Aucune demande de support de Commune de Rémelfing sur cette période" in page


@pytest.mark.parametrize("query", ["months=5", "months=", "months=abc", "member=inconnu"])
def test_bad_filters_are_a_400_in_french(client, login_as, member, query):
    login_as("support")
    response = client.get(f"/support/statistiques?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Le formulaire contient des erreurs" in page
    told = (
        "Période : Choisissez une période de la liste."
        if "months" in query
        else "Membre : Choisissez un membre de la liste."
    )
    assert told in page


def test_member_bad_period_is_a_400(client, login_as, member):
    login_as("viewer", member)
    response = client.get("/membres/remelfing/support/statistiques?months=24")
    assert response.status_code == 400
    assert "Période : Choisissez une période de la liste." in response.get_data(as_text=True)
