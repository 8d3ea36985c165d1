"""Supervision agreements through the pages: recorded and edited by the syndicate with
their PDF (size and type checked, every change audited), shown to the member's admins."""

from __future__ import annotations

import io
from datetime import date
from datetime import timedelta
from functools import cache

import pytest
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests import factories
from tests.conftest import csrf_from
from webapp.extensions import db
from webapp.models import Agreement
from webapp.models import AuditEvent
from webapp.models.choices import AuditKind
from webapp.presenters import agreements as view
from webapp.services import agreements
from webapp.services import orders

MIB = 1024 * 1024
AGREEMENT_KINDS = (AuditKind.AGREEMENT_RECORDED, AuditKind.AGREEMENT_CHANGED)


@cache
def real_pdf() -> bytes:
    """A small, real PDF (WeasyPrint, as the statements are made)."""
    from weasyprint import HTML

    return HTML(string="<h1>Convention de supervision</h1><p>Signée.</p>").write_pdf()


def padded_pdf(size: int) -> bytes:
    """A PDF-looking file of ``size`` bytes (the checks read the start and the length)."""
    head = b"%PDF-1.7\n"
    return head + b"%" * (size - len(head))


@pytest.fixture
def member(app):
    return factories.make_member(name="Commune de Rémelfing")


def admin_url(member, suffix: str = "") -> str:
    return f"/admin/membres/{member.slug}/conventions{suffix}"


def member_url(member, suffix: str = "") -> str:
    return f"/membres/{member.slug}/convention{suffix}"


def form_data(client, url: str, **overrides) -> dict:
    data = {
        "csrf_token": csrf_from(client, url),
        "reference": "CONV-2025-007",
        "signed_on": "2025-01-15",
        "renewal_on": "2030-12-31",
        "package_probes": "100",
        "document": (real_pdf(), "convention.pdf"),
    }
    data.update(overrides)
    if isinstance(data.get("document"), tuple):  # (content, name): a fresh file each time
        content, name = data["document"]
        data["document"] = upload(content, name)
    return {k: v for k, v in data.items() if v is not None}


def upload(content: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name, content_type="application/pdf")


def post_multipart(client, url: str, data: dict, method: str = "POST"):
    """Send ``data`` as a browser would, encoded in memory (the test client would spool a
    large body to a temporary file that stays open when the app refuses to read it)."""
    boundary, body = encode_multipart(data)
    return client.open(
        url, method=method, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def post_form(client, url: str, **overrides):
    return post_multipart(client, url, form_data(client, url, **overrides))


def agreement_count(member) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Agreement).where(Agreement.member_id == member.id)
    )


def audit_lines(member, kind=None) -> list[AuditEvent]:
    query = select(AuditEvent).where(
        AuditEvent.member_id == member.id, AuditEvent.kind.in_([str(k) for k in AGREEMENT_KINDS])
    )
    if kind is not None:
        query = query.where(AuditEvent.kind == str(kind))
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def recorded(member, **overrides) -> Agreement:
    """An agreement written through the service (as the demo or another page would)."""
    today = orders.today_local()
    values = {
        "signed_on": today - timedelta(days=400),
        "renewal_on": today + timedelta(days=400),
        "package_probes": 120,
        "reference": "CONV-TEST",
        "document_name": "convention signée.pdf",
        "document": real_pdf(),
    }
    values.update(overrides)
    return agreements.record(member, factories.make_user("admin"), **values)


def assert_download(response, content: bytes) -> None:
    assert response.status_code == 200
    assert response.data == content
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# ---- recording and editing -------------------------------------------------------------


def test_an_admin_records_an_agreement_with_its_pdf(client, login_as, member):
    admin = login_as("admin")
    page = client.get(admin_url(member))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    assert 'type="date"' in html
    assert "Aucune convention enregistrée pour ce membre." in html

    response = post_form(client, admin_url(member))
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    row = db.session.scalar(select(Agreement).where(Agreement.member_id == member.id))
    assert response.headers["Location"].endswith(f"/conventions#convention-{row.id}")
    assert (row.reference, row.signed_on, row.renewal_on) == (
        "CONV-2025-007",
        date(2025, 1, 15),
        date(2030, 12, 31),
    )
    assert row.package_probes == 100
    assert row.document_name == "convention.pdf"
    assert row.document_size == len(real_pdf())
    assert row.recorded_by_id == admin.id
    (line,) = audit_lines(member, AuditKind.AGREEMENT_RECORDED)
    assert line.actor_id == admin.id
    assert line.target == f"agreement {row.id}"
    assert line.detail["package_probes"] == 100
    assert line.detail["document"] == "convention.pdf"

    html = client.get(admin_url(member)).get_data(as_text=True)
    assert "La convention de Commune de Rémelfing est enregistrée." in html
    assert "15 janvier 2025" in html and "31 décembre 2030" in html
    assert "100 sondes" in html
    assert f"convention.pdf ({agreements.size_label(len(real_pdf()))})" in html
    assert "En vigueur" in html
    assert_download(client.get(admin_url(member, f"/{row.id}.pdf")), real_pdf())


def test_an_admin_edits_an_agreement_and_the_change_is_audited(client, login_as, member):
    admin = login_as("admin")
    row = recorded(member, reference="CONV-1", package_probes=100)
    old_sha = row.document_sha256
    edit = admin_url(member, f"/{row.id}")
    page = client.get(edit)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'value="{row.signed_on.isoformat()}"' in html
    assert 'value="CONV-1"' in html
    assert "Sans nouveau fichier, le document actuel est gardé." in html

    # No file: the terms change, the document stays.
    response = post_form(
        client,
        edit,
        reference="CONV-1 bis",
        signed_on=row.signed_on.isoformat(),
        renewal_on=row.renewal_on.isoformat(),
        package_probes="150",
        document=None,
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    db.session.expire_all()
    row = db.session.get(Agreement, row.id)
    assert (row.reference, row.package_probes, row.document_sha256) == ("CONV-1 bis", 150, old_sha)
    (line,) = audit_lines(member, AuditKind.AGREEMENT_CHANGED)
    assert line.actor_id == admin.id
    assert line.target == f"agreement {row.id}"
    assert line.detail == {
        "reference": {"before": "CONV-1", "after": "CONV-1 bis"},
        "package_probes": {"before": 100, "after": 150},
    }

    # A new file replaces the old one.
    new_pdf = padded_pdf(5000)
    response = post_form(
        client,
        edit,
        reference="CONV-1 bis",
        signed_on=row.signed_on.isoformat(),
        renewal_on=row.renewal_on.isoformat(),
        package_probes="150",
        document=(new_pdf, "avenant.pdf"),
    )
    assert response.status_code == 303
    db.session.expire_all()
    row = db.session.get(Agreement, row.id)
    assert (row.document_name, row.document_size) == ("avenant.pdf", 5000)
    assert row.document == new_pdf
    second = audit_lines(member, AuditKind.AGREEMENT_CHANGED)[-1]
    assert second.detail["document"] == {"before": "convention signée.pdf", "after": "avenant.pdf"}
    assert second.detail["document_sha256"]["before"] == old_sha
    assert set(second.detail) == {"document", "document_sha256"}
    assert_download(client.get(admin_url(member, f"/{row.id}.pdf")), new_pdf)


def test_an_edit_that_changes_nothing_writes_no_audit_line(client, login_as, member):
    login_as("admin")
    row = recorded(member)
    edit = admin_url(member, f"/{row.id}")
    response = post_form(
        client,
        edit,
        reference=row.reference,
        signed_on=row.signed_on.isoformat(),
        renewal_on=row.renewal_on.isoformat(),
        package_probes=str(row.package_probes),
        document=None,
    )
    assert response.status_code == 303
    assert audit_lines(member, AuditKind.AGREEMENT_CHANGED) == []


# ---- bad input: a French message on the form, status 400, nothing stored --------------

BAD_INPUT = {
    "renewal_before_signing": (
        {"signed_on": "2025-06-01", "renewal_on": "2025-05-31"},
        "La date de renouvellement doit suivre la date de signature.",
    ),
    "renewal_on_signing_day": (
        {"signed_on": "2025-06-01", "renewal_on": "2025-06-01"},
        "La date de renouvellement doit suivre la date de signature.",
    ),
    "package_below_minimum": (
        {"package_probes": "99"},
        "Le forfait compte au moins 100 sondes.",
    ),
    "package_zero": ({"package_probes": "0"}, "Le forfait compte au moins 100 sondes."),
    "package_huge": ({"package_probes": "10" * 15}, "Le forfait compte au plus"),
    "package_not_a_number": (
        {"package_probes": "cent"},
        "Indiquez un nombre entier de sondes, par exemple 100.",
    ),
    "package_missing": ({"package_probes": ""}, "Ce champ est obligatoire."),
    "date_missing": ({"signed_on": ""}, "Ce champ est obligatoire."),
    "date_invalid": (
        {"renewal_on": "2025-02-30"},
        "Date invalide : indiquez le jour, le mois et l’année.",
    ),
    "date_year_typo": (
        {"signed_on": "0202-01-15"},
        "Date de signature invalide : vérifiez l’année.",
    ),
    "not_a_pdf": (
        {"document": (b"PK\x03\x04 a word document", "convention.docx")},
        "Le document doit être un fichier PDF.",
    ),
    "pdf_name_not_pdf_content": (
        {"document": (b"<html><script>alert(1)</script>", "convention.pdf")},
        "Le document doit être un fichier PDF.",
    ),
    "pdf_content_other_name": (
        {"document": (b"%PDF-1.7\n%x", "convention.exe")},
        "Le document doit être un fichier PDF.",
    ),
    "empty_file": (
        {"document": (b"", "convention.pdf")},
        "Le fichier est vide.",
    ),
    "no_file": ({"document": None}, "Joignez la convention signée, en PDF."),
    "reference_of_100000_characters": (
        {"reference": "R" * 100_000},
        "Référence trop longue : 80 caractères au plus.",
    ),
    "reference_with_markup": (
        {"reference": "<script>alert('x')</script>"},
        "Caractère non autorisé",
    ),
}


@pytest.mark.parametrize("overrides,message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_refused_in_french_and_nothing_is_stored(
    client, login_as, member, overrides, message
):
    login_as("admin")
    response = post_form(client, admin_url(member), **overrides)
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:800]
    assert message in html
    assert "Le formulaire contient des erreurs" in html
    assert 'aria-invalid="true"' in html
    assert "<script>" not in html
    assert agreement_count(member) == 0
    assert audit_lines(member) == []


# On edit, no file keeps the document: every other refusal holds.
BAD_EDIT = {name: case for name, case in BAD_INPUT.items() if name != "no_file"}


@pytest.mark.parametrize("overrides,message", BAD_EDIT.values(), ids=BAD_EDIT.keys())
def test_bad_input_on_edit_changes_nothing(client, login_as, member, overrides, message):
    login_as("admin")
    row = recorded(member)
    before = (row.reference, row.signed_on, row.renewal_on, row.package_probes, row.document_sha256)
    response = post_form(client, admin_url(member, f"/{row.id}"), **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(Agreement, row.id)
    after = (row.reference, row.signed_on, row.renewal_on, row.package_probes, row.document_sha256)
    assert after == before
    assert audit_lines(member, AuditKind.AGREEMENT_CHANGED) == []


@pytest.mark.parametrize("role", ["admin", "member_admin"])
def test_markup_in_a_reference_is_shown_escaped(client, login_as, member, role):
    # The form refuses markup; a reference stored another way is still only text.
    row = recorded(member, reference='<img src=x onerror="alert(1)">')
    login_as(role, member if role == "member_admin" else None)
    if role == "admin":
        urls = [admin_url(member), admin_url(member, f"/{row.id}")]
    else:
        urls = [member_url(member)]
    for url in urls:
        html = client.get(url).get_data(as_text=True)
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=" in html


def test_a_refused_reference_comes_back_escaped_in_the_form(client, login_as, member):
    login_as("admin")
    response = post_form(client, admin_url(member), reference='"><script>alert(1)</script>')
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_missing_csrf_token_stores_nothing(client, login_as, member):
    login_as("admin")
    data = form_data(client, admin_url(member))
    data.pop("csrf_token")
    assert client.post(admin_url(member), data=data).status_code == 400
    assert agreement_count(member) == 0


# ---- the size limit: AGREEMENT_MAX_BYTES on the upload routes only ---------------------


def test_a_file_over_the_limit_gets_a_form_error(app, client, login_as, member):
    app.config["AGREEMENT_MAX_BYTES"] = 2048
    login_as("admin")
    page = client.get(admin_url(member)).get_data(as_text=True)
    assert "Un fichier PDF de 2 ko au plus." in page
    response = post_form(client, admin_url(member), document=(padded_pdf(4096), "convention.pdf"))
    assert response.status_code == 400
    assert "Fichier trop gros : 2 ko au plus." in response.get_data(as_text=True)
    assert agreement_count(member) == 0
    ok = post_form(client, admin_url(member), document=(padded_pdf(2048), "convention.pdf"))
    assert ok.status_code == 303
    assert agreement_count(member) == 1


def test_a_body_far_over_the_limit_gets_a_clear_413_page(app, client, login_as, member):
    app.config["AGREEMENT_MAX_BYTES"] = 2048
    login_as("admin")
    response = post_form(
        client,
        admin_url(member),
        document=(padded_pdf(int(1.5 * MIB)), "convention.pdf"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 413, html[:500]
    assert "Le document envoyé dépasse 2 ko" in html
    assert agreement_count(member) == 0
    row = recorded(member, document=padded_pdf(1000))
    edit = post_form(
        client,
        admin_url(member, f"/{row.id}"),
        document=(padded_pdf(int(1.5 * MIB)), "convention.pdf"),
    )
    assert edit.status_code == 413
    assert audit_lines(member, AuditKind.AGREEMENT_CHANGED) == []


def test_two_megabytes_are_accepted_here_and_refused_elsewhere(app, client, login_as, member):
    assert app.config["AGREEMENT_MAX_BYTES"] == 10 * MIB
    assert app.config["MAX_CONTENT_LENGTH"] == MIB
    login_as("admin")
    big = padded_pdf(2 * MIB)
    response = post_form(client, admin_url(member), document=(big, "convention.pdf"))
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    row = db.session.scalar(select(Agreement).where(Agreement.member_id == member.id))
    assert row.document_size == 2 * MIB
    assert_download(client.get(admin_url(member, f"/{row.id}.pdf")), big)
    # Every other form keeps the application's 1 Mo: another admin page, and the API.
    token = csrf_from(client, "/admin/membres/nouveau")
    other = post_multipart(
        client,
        "/admin/membres/nouveau",
        {"csrf_token": token, "name": "x", "file": upload(big, "convention.pdf")},
    )
    assert other.status_code == 413
    assert "Les données envoyées dépassent la taille permise." in other.get_data(as_text=True)
    api = client.post(
        f"/api/v1/members/{member.slug}/pool-orders",
        data=b"{" + b" " * (2 * MIB) + b"}",
        content_type="application/json",
    )
    assert api.status_code == 413
    assert api.json["error"]["code"] == "payload_too_large"


# ---- who may see what -------------------------------------------------------------------


def admin_routes(member, agreement_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", admin_url(member)),
        ("POST", admin_url(member)),
        ("GET", admin_url(member, f"/{agreement_id}")),
        ("POST", admin_url(member, f"/{agreement_id}")),
        ("GET", admin_url(member, f"/{agreement_id}.pdf")),
    ]


def test_support_staff_get_403_on_the_admin_pages(client, login_as, member):
    row = recorded(member)
    login_as("support")
    for method, url in admin_routes(member, row.id):
        if method == "GET":
            response = client.get(url)
        else:  # a complete, valid submission: refused all the same
            response = post_multipart(client, url, form_data(client, "/profil/"))
        assert response.status_code == 403, (method, url)
    assert agreement_count(member) == 1
    assert audit_lines(member, AuditKind.AGREEMENT_CHANGED) == []
    # Syndicate staff still see the member's page.
    assert client.get(member_url(member)).status_code == 200
    assert_download(client.get(member_url(member, f"/{row.id}.pdf")), real_pdf())


def test_a_member_viewer_gets_403(client, login_as, member):
    row = recorded(member)
    login_as("viewer", member)
    assert client.get(member_url(member)).status_code == 403
    assert client.get(member_url(member, f"/{row.id}.pdf")).status_code == 403
    for method, url in admin_routes(member, row.id):
        assert client.open(url, method=method).status_code in (400, 403), (method, url)
        if method == "GET":
            assert client.get(url).status_code == 403


def test_another_members_admin_gets_404(client, login_as, member):
    row = recorded(member)
    other = factories.make_member()
    login_as("member_admin", other)
    response = client.get(member_url(member))
    assert response.status_code == 404
    assert member.name not in response.get_data(as_text=True)
    assert client.get(member_url(member, f"/{row.id}.pdf")).status_code == 404
    # Its own slug with the other member's agreement: not found either.
    assert client.get(member_url(other, f"/{row.id}.pdf")).status_code == 404
    for method, url in admin_routes(member, row.id):
        if method == "GET":
            assert client.get(url).status_code == 404, url


def test_an_admin_cannot_reach_an_agreement_under_another_slug(client, login_as, member):
    row = recorded(member)
    other = factories.make_member()
    login_as("admin")
    assert client.get(admin_url(other, f"/{row.id}")).status_code == 404
    assert client.get(admin_url(other, f"/{row.id}.pdf")).status_code == 404
    assert client.get(admin_url(member, "/999999")).status_code == 404


def test_a_member_admin_sees_and_downloads_the_agreement(client, login_as, member):
    today = orders.today_local()
    old = recorded(
        member,
        reference="CONV-ANCIENNE",
        signed_on=today - timedelta(days=2000),
        renewal_on=today - timedelta(days=401),
        document_name="ancienne.pdf",
        document=padded_pdf(3000),
    )
    row = recorded(member)
    login_as("member_admin", member)
    response = client.get(member_url(member))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert view.day(row.signed_on) in html
    assert view.day(row.renewal_on) in html
    assert "120 sondes" in html
    assert "CONV-TEST" in html
    assert "En vigueur" in html
    assert "CONV-ANCIENNE" in html and "Expirée" in html
    assert f"/convention/{row.id}.pdf" in html and f"/convention/{old.id}.pdf" in html
    download = client.get(member_url(member, f"/{row.id}.pdf"))
    assert_download(download, real_pdf())
    disposition = download.headers["Content-Disposition"]
    assert "filename*=UTF-8''convention%20sign%C3%A9e.pdf" in disposition
    assert_download(client.get(member_url(member, f"/{old.id}.pdf")), padded_pdf(3000))
    assert client.get(member_url(member, "/999999.pdf")).status_code == 404


def test_without_a_current_agreement_the_member_is_told_why(client, login_as, member):
    login_as("member_admin", member)
    html = client.get(member_url(member)).get_data(as_text=True)
    assert "Pas de convention en vigueur : aucune commande de pools n’est possible." in html
    assert "Contactez le syndicat" in html
    today = orders.today_local()
    recorded(member, signed_on=today - timedelta(days=800), renewal_on=today - timedelta(days=1))
    html = client.get(member_url(member)).get_data(as_text=True)
    assert "la dernière a expiré le" in html
    assert "Expirée" in html


# ---- the presenter the order pages reuse --------------------------------------------------


def test_agreement_status_tells_each_case(app, member):
    today = date(2026, 3, 10)
    with app.test_request_context():
        none = view.agreement_status(member, today)
        assert (none.agreement, none.state, none.in_force) == (None, "none", False)
        assert none.css_class == "agreement-status--missing"
        assert "aucune commande de pools n’est possible" in none.sentence

        row = recorded(member, signed_on=date(2025, 1, 15), renewal_on=date(2027, 1, 14))
        current = view.agreement_status(member, today)
        assert current.agreement.id == row.id and current.in_force
        assert current.css_class == "agreement-status--ok"
        assert current.sentence == (
            "Convention CONV-TEST signée le 15 janvier 2025, en vigueur jusqu’au "
            "14 janvier 2027 (forfait de 120 sondes)."
        )
        expired = view.agreement_status(member, date(2027, 1, 15))
        assert expired.state == "expired"
        assert "la dernière a expiré le 14 janvier 2027" in expired.sentence
        early = view.agreement_status(member, date(2024, 12, 1))
        assert early.state == "not_yet_signed"
        assert "prend effet le 15 janvier 2025" in early.sentence


def test_sizes_are_french(app):
    with app.test_request_context():
        assert agreements.size_label(820) == "820 octets"
        assert agreements.size_label(12 * 1024) == "12 ko"
        assert agreements.size_label(int(1.5 * MIB)) == "1,5 Mo"
        assert agreements.size_label(10 * MIB) == "10 Mo"
