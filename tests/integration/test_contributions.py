"""Contribution statements over HTTP: page, PDF, JSON, the finance CSV, permissions, bad years."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from tests import factories
from webapp.extensions import db
from webapp.models import PoolOrder

NNBSP = "\u202f"  # narrow no-break space: Babel's French thousands separator
NBSP = "\u00a0"  # no-break space: before the euro sign


def add_order(
    member, *, pools=1, state="active", kind="add", effective_on, price=100, prorata=True
):
    order = PoolOrder(
        member_id=member.id,
        kind=kind,
        pools=pools,
        state=state,
        idempotency_key=f"k-{member.id}-{effective_on}-{kind}-{pools}-{price}",
        request_hash="0" * 64,
        pool_size=50,
        price_per_probe_cents=price,
        prorata=prorata,
        effective_on=effective_on,
        activated_at=datetime.combine(effective_on, datetime.min.time(), UTC)
        if state == "active"
        else None,
    )
    db.session.add(order)
    db.session.commit()
    return order


@pytest.fixture
def member(app):
    """Subscribed since 15/01/2024; one pool in March 2026, one in December 2026 (a dearer
    price), and a reduction of one pool from 1 January 2027."""
    member = factories.make_member(name="Commune de Sarralbe", slug="sarralbe", siren="215706201")
    member.subscription.created_at = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
    db.session.commit()
    add_order(member, effective_on=date(2026, 3, 15))
    add_order(member, effective_on=date(2026, 12, 2), price=150)
    add_order(member, kind="reduce", state="approved", effective_on=date(2027, 1, 1))
    # Neither of these counts: still waiting, and refused.
    add_order(member, pools=5, state="requested", effective_on=date(2026, 4, 1))
    add_order(member, pools=7, state="rejected", effective_on=date(2026, 5, 1))
    return member


# 2026: package 100,00 € + March pool 50 × 1 € × 10/12 = 41,67 € + December pool at 1,50 €:
# 50 × 1,50 € × 1/12 = 6,25 € → 147,92 €.
TOTAL_2026 = 10_000 + 4_167 + 625


def test_member_admin_reads_the_statement(client, login_as, member):
    login_as("member_admin", member=member)
    response = client.get("/membres/sarralbe/contributions/2026")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Contribution 2026" in html
    assert "Moselle Fibre" in html and "CSD 2024-314" in html
    assert f"41,67{NBSP}€" in html and f"6,25{NBSP}€" in html
    assert f"147,92{NBSP}€" in html
    assert "10 mois sur 12 (pro rata, à partir de mars)" in html
    assert "1 mois sur 12 (pro rata, à partir de décembre)" in html
    assert f"1,50{NBSP}€</td>" in html
    assert "Commande n°" in html and "15/03/2026" in html
    assert "Réduction de 1 pool à partir du 01/01/2027" in html
    # the years to choose from, the current one marked, and the PDF link
    assert 'href="/membres/sarralbe/contributions/2024"' in html
    assert 'href="/membres/sarralbe/contributions/2027"' in html
    assert 'aria-current="page">2026<' in html
    assert 'href="/membres/sarralbe/contributions/2026.pdf"' in html
    assert "État au" in html  # 2026 is the year in progress


def test_thousands_use_a_narrow_no_break_space(client, login_as, app):
    big = factories.make_member(slug="grand-est", pools=30)  # 100 + 1,500 probes
    big.subscription.created_at = datetime(2024, 1, 2, tzinfo=UTC)
    db.session.commit()
    login_as("admin")
    html = client.get("/membres/grand-est/contributions/2025").get_data(as_text=True)
    assert f"1{NNBSP}600,00{NBSP}€" in html
    assert "Pools détenus à l’adhésion" in html


def test_syndicate_staff_may_read_any_statement(client, login_as, member):
    login_as("support")
    assert client.get("/membres/sarralbe/contributions/2026").status_code == 200


def test_reduction_applies_from_its_first_of_january(client, login_as, member):
    login_as("member_admin", member=member)
    data = client.get("/api/v1/members/sarralbe/contributions/2027").get_json()
    # The December pool (newest) goes: package 100 € + March pool 50 € = 150,00 €.
    assert data["total_cents"] == 15_000
    assert [(ln["kind"], ln["probes"], ln["amount_cents"]) for ln in data["lines"]] == [
        ("package", 100, 10_000),
        ("pools", 50, 5_000),
    ]
    assert data["reductions"] == [
        {
            "order_id": data["reductions"][0]["order_id"],
            "effective_on": "2027-01-01",
            "pools": 1,
            "applied_pools": 1,
            "upcoming": False,
        }
    ]
    assert data["status"] == "forecast"


def test_json_statement_in_integer_cents(client, login_as, member):
    login_as("member_admin", member=member)
    response = client.get("/api/v1/members/sarralbe/contributions/2026")
    assert response.status_code == 200
    data = response.get_json()
    assert data["total_cents"] == TOTAL_2026
    assert data["currency"] == "EUR"
    assert data["syndicate"] == "Moselle Fibre" and data["decision"] == "CSD 2024-314"
    assert data["subscription_start"] == "2024-01-15"
    assert [ln["amount_cents"] for ln in data["lines"]] == [10_000, 4_167, 625]
    march = data["lines"][1]
    assert march == {
        "kind": "pools",
        "order_id": march["order_id"],
        "since": "2026-03-15",
        "pools": 1,
        "pools_bought": 1,
        "probes": 50,
        "price_per_probe_cents": 100,
        "months": 10,
        "prorated": True,
        "yearly_cents": 5_000,
        "amount_cents": 4_167,
    }
    assert all(isinstance(ln["amount_cents"], int) for ln in data["lines"])


def test_a_year_before_the_subscription_is_an_empty_statement(client, login_as, member):
    login_as("member_admin", member=member)
    data = client.get("/api/v1/members/sarralbe/contributions/2023").get_json()
    assert data["lines"] == [] and data["total_cents"] == 0 and data["status"] == "before_start"
    html = client.get("/membres/sarralbe/contributions/2023").get_data(as_text=True)
    assert "Aucune contribution pour 2023" in html


@pytest.mark.parametrize("year", ["abc", "0", "99999", "-1", "2026.5", "２０２６"])
def test_bad_years_in_the_api_are_a_json_400(client, login_as, member, year):
    login_as("member_admin", member=member)
    response = client.get(f"/api/v1/members/sarralbe/contributions/{year}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_year" and error["field"] == "year"
    assert "Année invalide" in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/membres/sarralbe/contributions/abc",
        "/membres/sarralbe/contributions/0",
        "/membres/sarralbe/contributions/99999",
        "/membres/sarralbe/contributions/99999999999999999999999",
        "/membres/sarralbe/contributions/0.pdf",
        "/membres/sarralbe/contributions/abc.pdf",
        "/admin/contributions/0.csv",
        "/admin/contributions/99999.csv",
        "/admin/contributions/abc.csv",
    ],
)
def test_bad_years_on_pages_are_a_french_404(client, login_as, member, path):
    login_as("admin")
    response = client.get(path)
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_a_viewer_of_the_member_is_refused(client, login_as, member):
    login_as("viewer", member=member)
    for path in (
        "/membres/sarralbe/contributions/2026",
        "/membres/sarralbe/contributions/2026.pdf",
        "/membres/sarralbe/contributions",
    ):
        assert client.get(path).status_code == 403, path
    response = client.get("/api/v1/members/sarralbe/contributions/2026")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert client.get("/admin/contributions/2026.csv").status_code == 403


def test_another_members_user_is_told_nothing(client, login_as, member):
    other = factories.make_member(slug="bitche")
    login_as("member_admin", member=other)
    for path in (
        "/membres/sarralbe/contributions/2026",
        "/membres/sarralbe/contributions/2026.pdf",
        "/membres/sarralbe/contributions/abc",
    ):
        assert client.get(path).status_code == 404, path
    response = client.get("/api/v1/members/sarralbe/contributions/2026")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    # even a bad year does not reveal that the member exists
    assert client.get("/api/v1/members/sarralbe/contributions/abc").status_code == 404
    assert client.get("/admin/contributions/2026.csv").status_code == 403


def test_signed_out_callers_are_sent_to_log_in(client, member):
    assert client.get("/membres/sarralbe/contributions/2026").status_code == 302
    assert client.get("/api/v1/members/sarralbe/contributions/2026").status_code == 401


def test_contributions_redirects_to_the_current_year(client, login_as, member):
    login_as("member_admin", member=member)
    response = client.get("/membres/sarralbe/contributions")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/membres/sarralbe/contributions/20")


def test_html_in_a_member_name_is_escaped(client, login_as, app):
    hostile = factories.make_member(name='<script>alert("x")</script> & Cie', slug="hostile")
    login_as("member_admin", member=hostile)
    html = client.get("/membres/hostile/contributions/2026").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Cie" in html


def test_the_finance_csv(client, login_as, member):
    factories.make_member(name='=HYPERLIEN("x")', slug="formule", kind="school")
    login_as("admin")
    response = client.get("/admin/contributions/2026.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="contributions-2026.csv"' in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark
    rows = list(csv.reader(io.StringIO(body[3:].decode("utf-8")), delimiter=";"))
    assert rows[0][0] == "Membre" and rows[0][-1] == "Total 2026 (€)"
    by_slug = {row[1]: row for row in rows[1:-1]}
    sarralbe = by_slug["sarralbe"]
    assert sarralbe[0] == "Commune de Sarralbe" and sarralbe[2] == "215706201"
    assert sarralbe[4] == "15/01/2024"
    assert sarralbe[5:] == ["200", "2", "100,00", "47,92", "147,92"]
    # a name that a spreadsheet would run as a formula is quoted
    assert by_slug["formule"][0] == '\'=HYPERLIEN("x")'
    assert by_slug["formule"][3] == "Établissement scolaire"
    assert rows[-1][0] == "Total"
    # the newly created member began this year (prorated package), summed into the total
    assert rows[-1][-1] == _french(TOTAL_2026 + _cents(by_slug["formule"][-1]))
    assert b"\r\n" in body


def _cents(text: str) -> int:
    euros, cents = text.split(",")
    return int(euros) * 100 + int(cents)


def _french(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def test_the_csv_is_for_syndicate_admins_only(client, login_as, member):
    login_as("support")
    assert client.get("/admin/contributions/2026.csv").status_code == 403


def test_the_pdf_statement(client, login_as, member, tmp_path):
    login_as("member_admin", member=member)
    response = client.get("/membres/sarralbe/contributions/2026.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert 'filename="contribution-sarralbe-2026.pdf"' in response.headers["Content-Disposition"]
    path = tmp_path / "statement.pdf"
    path.write_bytes(response.data)
    text = _pdf_text(path)
    for expected in (
        "Syndicat Moselle Fibre",
        "Relevé de contribution 2026",
        "Commune de Sarralbe",
        "215706201",
        "CSD 2024-314",
        "Forfait minimum 100 sondes",
        "15/03/2026",
        "10 mois sur 12 (pro rata, à partir de mars)",
        "41,67 €",
        "6,25 €",
        "Total dû au titre de 2026 : 147,92 €",
        "Réduction de 1 pool à partir du 01/01/2027",
    ):
        assert expected in text, f"{expected!r} not in the PDF text:\n{text}"


def _pdf_text(path) -> str:
    """The PDF's text, with every kind of space as a plain one."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    assert reader.metadata.title == "Relevé de contribution 2026 – Commune de Sarralbe"
    assert reader.metadata.author == "Moselle Fibre"
    text = "\n".join(page.extract_text() for page in reader.pages)
    poppler = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    # Both readers agree on the amounts (pypdf and poppler decode the fonts differently).
    assert "147,92" in text and "147,92" in poppler
    return re.sub(r"\s+", " ", poppler.replace(NNBSP, " ").replace(NBSP, " "))


def test_pdf_text_of_hostile_names_is_literal(client, login_as, app, tmp_path):
    hostile = factories.make_member(name="<b>Gras</b> & Cie", slug="gras")
    login_as("member_admin", member=hostile)
    response = client.get("/membres/gras/contributions/2026.pdf")
    path = tmp_path / "hostile.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "<b>Gras</b> & Cie" in text
