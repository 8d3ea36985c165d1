"""Attachments of support requests: what is accepted, what is kept, who reads it.

Abuse cases each have a test: a file lying about its type, an SVG with a script, a
50 MB body, a decompression bomb, a name that is a path, another member's user, a
member reaching for an internal attachment.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from flask import render_template
from PIL import ExifTags
from PIL import Image
from PIL import ImageFile
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import select
from werkzeug.test import encode_multipart

from tests import factories
from tests.conftest import csrf_from
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.models import SupportAttachment
from webapp.models import SupportEntry
from webapp.models.choices import AuditKind
from webapp.models.choices import SupportEntryKind
from webapp.models.choices import SupportStatus
from webapp.services import attachments
from webapp.services import support
from webapp.services import tokens
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError

MIB = 1024 * 1024
REFUSED_TYPE = "Ce type de fichier n’est pas accepté"


# ---- set-up ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def storage(app, tmp_path) -> Path:
    """The files in the test's own folder."""
    folder = tmp_path / "attachments"
    app.config["SUPPORT_ATTACHMENTS_DIR"] = str(folder)
    return folder


@pytest.fixture
def member(app):
    return factories.make_member()


@pytest.fixture
def viewer(member):
    return factories.make_user("viewer", member)


@pytest.fixture
def req(member, viewer):
    return support.open_request(
        member,
        viewer,
        support.parse_new({"subject": "La borne Wi-Fi de la mairie", "message": "Elle clignote."}),
    )


def bearer(user) -> dict:
    clear, _row = tokens.create(user, "tests")
    return {"Authorization": f"Bearer {clear}"}


def member_url(req, suffix: str = "") -> str:
    return f"/membres/{req.member.slug}/support/{req.id}/pieces-jointes{suffix}"


def staff_url(req, suffix: str = "") -> str:
    return f"/support/{req.id}/pieces-jointes{suffix}"


def api_url(req) -> str:
    return f"/api/v1/support-requests/{req.id}/attachments"


def post_multipart(client, url: str, data: dict, headers: dict | None = None):
    """Send ``data`` as a browser would, encoded in memory (see test_agreement_pages)."""
    boundary, body = encode_multipart(data)
    return client.post(
        url,
        data=body,
        headers=headers or {},
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def upload_page(client, url: str, content: bytes, name: str, **fields):
    from werkzeug.datastructures import FileStorage

    token = csrf_from(client, "/profil/alertes")
    data = {"csrf_token": token, "file": FileStorage(io.BytesIO(content), filename=name), **fields}
    return post_multipart(client, url, data)


def upload_api(client, req, content: bytes, name: str, headers: dict, **fields):
    from werkzeug.datastructures import FileStorage

    data = {"file": FileStorage(io.BytesIO(content), filename=name), **fields}
    return post_multipart(client, api_url(req), data, headers)


def rows(req) -> list[SupportAttachment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(SupportAttachment)
            .where(SupportAttachment.request_id == req.id)
            .order_by(SupportAttachment.id)
        )
    )


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def signed_in(app, user):
    """A browser of its own, signed in as ``user`` through the real form."""
    browser = app.test_client()
    token = csrf_from(browser, "/connexion")
    response = browser.post(
        "/connexion",
        data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    return browser


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


# ---- files ----------------------------------------------------------------------------


def phone_jpeg() -> bytes:
    """A phone photo, 64×32 as stored, to be turned a quarter (Orientation 6), with GPS."""
    image = Image.new("RGB", (64, 32), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, 32, 32))  # the left half blue: shows the rotation
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (49.0, 6.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (6.0, 55.0, 12.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"Rue de la Mairie")
    return out.getvalue()


def png(size=(40, 20), mode="RGBA", text: str | None = None) -> bytes:
    image = Image.new(mode, size, (10, 120, 10, 128) if mode == "RGBA" else (10, 120, 10))
    info = PngInfo()
    if text:
        info.add_text("Comment", text)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(out, "WEBP")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML_AS_JPG = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)


def png_bomb(side: int = 30_000) -> bytes:
    """A one-colour PNG of side×side pixels (900 megapixels), a few hundred kilobytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


# ---- what is accepted, what is kept -----------------------------------------------------


def test_a_phone_photo_comes_back_without_exif_nor_gps_and_the_right_way_up(
    app, req, viewer, storage
):
    original = phone_jpeg()
    source = Image.open(io.BytesIO(original))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test photo carries a GPS position"

    row = attachments.add(req, viewer, original, "IMG_2041.JPG")

    assert row.content_type == "image/jpeg"
    assert row.name == "IMG_2041.JPG"
    _row, path = attachments.open_for(viewer, req, row.id)
    kept = path.read_bytes()
    assert b"PhoneCo" not in kept and b"Rue de la Mairie" not in kept
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in image.info and "comment" not in image.info
    assert image.size == (32, 64)  # Orientation 6 applied: turned a quarter
    red, green, blue = image.convert("RGB").getpixel((16, 5))
    assert blue > red  # the blue half, once at the left, is now at the top
    assert row.size == len(kept) == path.stat().st_size
    assert str(storage) in str(path)


def test_a_png_with_text_is_kept_as_a_png_without_it(app, req, viewer):
    row = attachments.add(req, viewer, png(text="Coordonnées : 49.1, 6.9"), "schema.png")
    _row, path = attachments.open_for(viewer, req, row.id)
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert (row.content_type, image.format, image.size, image.mode) == (
        "image/png",
        "PNG",
        (40, 20),
        "RGBA",
    )
    assert "Comment" not in image.info
    assert b"49.1" not in path.read_bytes()


def test_a_webp_and_a_pdf_are_accepted(app, req, viewer):
    image = attachments.add(req, viewer, webp(), "capture.webp")
    document = attachments.add(req, viewer, PDF, "facture.pdf")
    assert image.content_type == "image/webp"
    assert (document.content_type, document.size) == ("application/pdf", len(PDF))
    _row, path = attachments.open_for(viewer, req, document.id)
    assert path.read_bytes() == PDF  # a PDF is kept as sent


def test_the_type_comes_from_the_content_not_the_name(app, req, viewer):
    row = attachments.add(req, viewer, PDF, "photo.jpg")
    assert row.content_type == "application/pdf"
    assert row.name == "photo.jpg.pdf"  # saved, it opens with a PDF reader


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (HTML_AS_JPG, "photo.jpg"),
        (b"just some text, no image at all", "photo.jpg"),
        (SVG, "plan.svg"),
        (SVG, "plan.png"),
        (b"GIF89a" + b"\x00" * 40, "anim.gif"),
        (b"PK\x03\x04" + b"\x00" * 40, "archive.pdf"),
    ],
    ids=["html-as-jpg", "text-as-jpg", "svg-script", "svg-as-png", "gif", "zip-as-pdf"],
)
def test_a_file_that_lies_about_its_type_is_refused(app, req, viewer, storage, content, name):
    with pytest.raises(ValidationError) as refused:
        attachments.add(req, viewer, content, name)
    assert REFUSED_TYPE in refused.value.errors["file"]
    assert rows(req) == [] and stored_files(storage) == []


def test_a_jpeg_header_on_html_is_refused_as_damaged(app, req, viewer):
    with pytest.raises(ValidationError) as refused:
        attachments.add(req, viewer, b"\xff\xd8\xff\xe0" + HTML_AS_JPG, "photo.jpg")
    assert "illisible" in refused.value.errors["file"]


def test_a_truncated_png_and_an_unfinished_pdf_are_refused(app, req, viewer):
    with pytest.raises(ValidationError, match="illisible"):
        attachments.add(req, viewer, png(size=(300, 300), mode="RGB")[:120], "coupe.png")
    with pytest.raises(ValidationError, match="incomplet"):
        attachments.add(req, viewer, b"%PDF-1.7\n" + b"x" * 5000, "coupe.pdf")


def test_a_heic_photo_is_refused_with_how_to_send_a_jpeg(app, req, viewer):
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(ValidationError, match="JPEG"):
        attachments.add(req, viewer, heic, "IMG_0001.HEIC")


def test_an_empty_file_and_one_over_the_limit_are_refused(app, req, viewer):
    with pytest.raises(ValidationError, match="vide"):
        attachments.add(req, viewer, b"", "vide.pdf")
    app.config["SUPPORT_ATTACHMENT_MAX_BYTES"] = 2048
    with pytest.raises(ValidationError, match="Fichier trop gros : 2 ko au plus."):
        attachments.add(req, viewer, PDF + b"%" * 3000 + b"\n%%EOF\n", "gros.pdf")
    assert rows(req) == []


def test_a_decompression_bomb_is_refused_before_any_pixel_is_decoded(
    app, req, viewer, storage, monkeypatch
):
    bomb = png_bomb()
    assert len(bomb) < 1 * MIB  # 900 megapixels in a small file
    decoded = []
    original_load = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or original_load(self)
    )
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ValidationError, match="Image trop grande"):
            attachments.add(req, viewer, bomb, "bombe.png")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoded == []
    assert peak < 20 * MIB
    assert time.monotonic() - started < 5
    assert rows(req) == [] and stored_files(storage) == []


def test_an_image_over_the_pixel_limit_is_refused(app, req, viewer):
    app.config["SUPPORT_ATTACHMENT_MAX_PIXELS"] = 1000
    with pytest.raises(ValidationError, match="Image trop grande"):
        attachments.add(req, viewer, png(size=(40, 30)), "grande.png")


def test_a_big_photo_is_bounded_to_4096_pixels(app, req, viewer):
    out = io.BytesIO()
    Image.new("RGB", (8200, 100), (9, 9, 9)).save(out, "JPEG")
    row = attachments.add(req, viewer, out.getvalue(), "panorama.jpg")
    _row, path = attachments.open_for(viewer, req, row.id)
    assert max(Image.open(io.BytesIO(path.read_bytes())).size) <= attachments.MAX_SIDE


# ---- names and storage ------------------------------------------------------------------


def test_a_name_that_is_a_path_is_stored_under_a_random_key(app, req, viewer, storage):
    row = attachments.add(req, viewer, PDF, "../../etc/passwd.pdf")
    assert row.name == "passwd.pdf"
    assert "passwd" not in row.storage_key and "/" not in row.storage_key
    assert len(row.storage_key) == 40
    files = stored_files(storage)
    assert [p.name for p in files] == [row.storage_key]
    assert storage in files[0].parents
    assert Path(app.static_folder).resolve() not in files[0].resolve().parents


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("C:\\Users\\élu\\Scan 1.pdf", "Scan 1.pdf"),
        (".htaccess", "htaccess.pdf"),
        ("", "piece-jointe.pdf"),
        (None, "piece-jointe.pdf"),
        ("rapport\x00\n.pdf", "rapport.pdf"),
        ("x" * 400 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_names_are_cleaned(app, name, kept):
    assert attachments.clean_name(name, "application/pdf") == kept


def test_a_failed_commit_leaves_no_file_behind(app, req, viewer, storage, monkeypatch):
    def fail(_request, **_options):
        raise RuntimeError("database gone")

    monkeypatch.setattr(support, "_commit", fail)
    with pytest.raises(RuntimeError):
        attachments.add(req, viewer, PDF, "facture.pdf")
    assert stored_files(storage) == []
    monkeypatch.undo()
    assert rows(req) == []


# ---- the thread and the audit log -------------------------------------------------------


def test_an_attachment_is_a_line_of_the_thread_and_of_the_audit_log(app, req, viewer):
    version = req.version
    row = attachments.add(req, viewer, PDF, "facture.pdf")
    db.session.expire_all()
    entry = db.session.get(SupportEntry, row.entry_id)
    assert entry.kind == SupportEntryKind.ATTACHMENT and entry.internal is False
    assert entry.author_id == viewer.id and entry.request_id == req.id
    assert entry.detail["attachment"] == row.id and entry.detail["name"] == "facture.pdf"
    assert [a.id for a in entry.attachments] == [row.id]
    assert req.version > version
    line = db.session.scalar(
        select(AuditEvent).where(AuditEvent.kind == AuditKind.SUPPORT_ATTACHMENT)
    )
    assert line.actor_id == viewer.id and line.member_id == req.member_id
    assert line.target == f"support {req.id}"
    assert line.detail["attachment"] == row.id
    assert line.detail["sha256"] == row.sha256 and line.detail["internal"] is False


def test_a_closed_request_takes_no_attachment(app, req, viewer):
    staff = factories.make_user("support")
    support.change_status(req, staff, SupportStatus.CLOSED)
    with pytest.raises(Conflict):
        attachments.add(req, viewer, PDF, "facture.pdf")


# ---- who may see what -------------------------------------------------------------------


def test_internal_attachments_are_for_staff_only(app, req, viewer):
    staff = factories.make_user("support")
    with pytest.raises(PermissionDenied):
        attachments.add(req, viewer, PDF, "note.pdf", internal=True)
    public = attachments.add(req, staff, PDF, "reponse.pdf")
    hidden = attachments.add(req, staff, PDF, "interne.pdf", internal=True)
    assert db.session.get(SupportEntry, hidden.entry_id).internal is True
    assert [a.id for a in attachments.visible(viewer, req)] == [public.id]
    assert [a.id for a in attachments.visible(staff, req)] == [public.id, hidden.id]
    with pytest.raises(NotFound):
        attachments.open_for(viewer, req, hidden.id)
    assert attachments.open_for(staff, req, hidden.id)[0].id == hidden.id


def test_another_members_user_gets_404_on_upload_and_download(app, client, login, req, viewer):
    row = attachments.add(req, viewer, PDF, "facture.pdf")
    stranger = factories.make_user("member_admin", factories.make_member())
    login(stranger)
    assert upload_page(client, member_url(req), PDF, "x.pdf").status_code == 404
    own_slug = stranger.memberships[0].member.slug
    sneaky = f"/membres/{own_slug}/support/{req.id}/pieces-jointes"
    assert upload_page(client, sneaky, PDF, "x.pdf").status_code == 404
    assert client.get(member_url(req, f"/{row.id}")).status_code == 404
    assert client.get(f"{sneaky}/{row.id}").status_code == 404
    assert upload_api(app.test_client(), req, PDF, "x.pdf", bearer(stranger)).status_code == 404
    assert client.get(staff_url(req, f"/{row.id}")).status_code == 403
    assert len(rows(req)) == 1
    with pytest.raises(NotFound):
        attachments.add(req, stranger, PDF, "x.pdf")


def test_another_requests_attachment_is_not_found(app, client, login, member, req, viewer):
    other = support.open_request(
        member, viewer, support.parse_new({"subject": "b", "message": "c"})
    )
    row = attachments.add(other, viewer, PDF, "facture.pdf")
    login(viewer)
    assert client.get(member_url(req, f"/{row.id}")).status_code == 404
    assert client.get(member_url(req, f"/{2**40}")).status_code == 404
    assert client.get(f"/membres/{member.slug}/support/{2**40}/pieces-jointes/1").status_code == 404


def test_a_member_never_downloads_nor_sees_an_internal_attachment(app, client, login, req, viewer):
    staff = factories.make_user("support")
    hidden = attachments.add(req, staff, PDF, "diagnostic-interne.pdf", internal=True)
    public = attachments.add(req, staff, PDF, "reponse.pdf")
    login(viewer)
    assert client.get(member_url(req, f"/{hidden.id}")).status_code == 404
    assert client.get(member_url(req, f"/{public.id}")).status_code == 200
    assert client.get(staff_url(req, f"/{hidden.id}")).status_code == 403
    with app.test_request_context():
        html = render_template(
            "support/_attachments.html",
            req=req,
            staff_view=False,
            attachments=attachments.visible(viewer, req),
        )
    assert "reponse.pdf" in html and "diagnostic-interne" not in html
    thread = client.get(f"/membres/{req.member.slug}/support/{req.id}")
    assert "diagnostic-interne" not in thread.get_data(as_text=True)


# ---- the pages --------------------------------------------------------------------------


def test_a_member_uploads_from_the_page_and_is_sent_back_to_the_thread(
    app, client, login, req, viewer
):
    login(viewer)
    response = upload_page(client, member_url(req), phone_jpeg(), "IMG_2041.jpg")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/membres/{req.member.slug}/support/{req.id}#pieces-jointes"
    )
    assert flashes(client) == ["« IMG_2041.jpg » est joint à la demande."]
    [row] = rows(req)
    assert row.uploaded_by_id == viewer.id and row.internal is False


def test_a_refused_file_is_told_on_the_thread(app, client, login, req, viewer):
    login(viewer)
    response = upload_page(client, member_url(req), HTML_AS_JPG, "photo.jpg")
    assert response.status_code == 303
    assert any(REFUSED_TYPE in message for message in flashes(client))
    missing = post_multipart(
        client, member_url(req), {"csrf_token": csrf_from(client, "/profil/alertes")}
    )
    assert missing.status_code == 303
    assert flashes(client) == ["Choisissez un fichier à joindre."]
    assert rows(req) == []


def test_the_member_route_ignores_internal_and_the_staff_route_marks_it(
    app, client, login, req, viewer
):
    login(viewer)
    upload_page(client, member_url(req), PDF, "a.pdf", internal="y")
    client = signed_in(app, factories.make_user("support"))
    response = upload_page(client, staff_url(req), PDF, "b.pdf", internal="y")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/support/{req.id}#pieces-jointes")
    assert [(a.name, a.internal) for a in rows(req)] == [("a.pdf", False), ("b.pdf", True)]
    assert upload_page(client, staff_url(req), PDF, "c.pdf").status_code == 303
    assert rows(req)[-1].internal is False


def test_a_member_may_not_use_the_staff_route(app, client, login, req, viewer):
    login(viewer)
    assert upload_page(client, staff_url(req), PDF, "a.pdf").status_code == 403
    assert rows(req) == []


def test_a_download_is_an_attachment_never_sniffed_nor_cached(app, client, login, req, viewer):
    row = attachments.add(req, viewer, PDF, "Compte rendu été.pdf")
    login(viewer)
    response = client.get(member_url(req, f"/{row.id}"))
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Compte%20rendu%20%C3%A9t%C3%A9.pdf" in disposition
    assert 'filename="Compte rendu _t_.pdf"' in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    as_staff = signed_in(app, factories.make_user("support")).get(staff_url(req, f"/{row.id}"))
    assert as_staff.status_code == 200 and as_staff.data == PDF
    assert as_staff.headers["Content-Disposition"].startswith("attachment;")


def test_fifty_megabytes_are_a_clear_413_page(app, client, login, req, viewer, storage):
    login(viewer)
    response = upload_page(client, member_url(req), b"\xff\xd8\xff" + b"\0" * (50 * MIB), "x.jpg")
    html = response.get_data(as_text=True)
    assert response.status_code == 413, html[:500]
    assert "Le fichier envoyé dépasse 10 Mo" in html
    assert rows(req) == [] and stored_files(storage) == []


def test_the_upload_routes_take_ten_megabytes_other_forms_keep_one(app, client, login, req, viewer):
    assert app.config["MAX_CONTENT_LENGTH"] == MIB
    login(viewer)
    big = PDF[:-6] + b"%" * (3 * MIB) + b"\n%%EOF\n"
    assert upload_page(client, member_url(req), big, "gros.pdf").status_code == 303
    [row] = rows(req)
    assert row.size == len(big)
    # the file over the setting but the body within its margin: a message, not a 413
    app.config["SUPPORT_ATTACHMENT_MAX_BYTES"] = int(2.5 * MIB)
    assert upload_page(client, member_url(req), big, "gros.pdf").status_code == 303
    assert any("Fichier trop gros : 2,5 Mo au plus." in m for m in flashes(client))
    other = upload_page(client, f"/membres/{req.member.slug}/support/{req.id}/repondre", big, "x")
    assert other.status_code == 413


def test_the_partials_render_the_list_and_an_accessible_form(app, req, viewer):
    attachments.add(req, viewer, PDF + b"%" * 1300 + b"\n%%EOF\n", "facture.pdf")
    attachments.add(req, viewer, webp(), "capture.webp")
    staff = factories.make_user("support")
    with app.test_request_context():
        listing = render_template(
            "support/_attachments.html",
            req=req,
            staff_view=False,
            attachments=attachments.visible(viewer, req),
        )
        form = render_template("support/_attachment_form.html", req=req, staff_view=False)
        staff_form = render_template("support/_attachment_form.html", request_=req, staff_view=True)
        staff_listing = render_template(
            "support/_attachments.html",
            request_=req,
            staff_view=True,
            attachments=attachments.visible(staff, req),
        )
    assert 'id="pieces-jointes"' in listing
    assert "facture.pdf" in listing and "Document PDF" in listing and "1,4 ko" in listing
    assert "Image WebP" in listing
    assert f"/membres/{req.member.slug}/support/{req.id}/pieces-jointes/" in listing
    assert f'href="/support/{req.id}/pieces-jointes/' in staff_listing
    assert 'accept="image/jpeg,image/png,image/webp,application/pdf"' in form
    assert "Photo (JPEG, PNG, WebP) ou PDF, 10 Mo au plus." in form
    assert f'for="attachment-file-{req.id}"' in form and "capture" not in form
    assert 'enctype="multipart/form-data"' in form and 'name="csrf_token"' in form
    assert f'action="/membres/{req.member.slug}/support/{req.id}/pieces-jointes"' in form
    assert "Interne (visible du support seulement)" not in form
    assert "Interne (visible du support seulement)" in staff_form
    assert f'action="/support/{req.id}/pieces-jointes"' in staff_form


# ---- the JSON API -----------------------------------------------------------------------


def test_the_api_answers_201_with_the_attachment(app, client, req, viewer):
    response = upload_api(client, req, phone_jpeg(), "IMG_2041.jpg", bearer(viewer))
    assert response.status_code == 201, response.json
    body = response.json
    [row] = rows(req)
    assert set(body) == {"id", "name", "content_type", "size", "sha256", "internal", "created_at"}
    assert body["id"] == row.id and body["name"] == "IMG_2041.jpg"
    assert body["content_type"] == "image/jpeg" and body["internal"] is False
    assert body["size"] == row.size and body["sha256"] == row.sha256
    assert body["created_at"].endswith("+00:00")


def test_the_api_refuses_bad_files_as_json(app, client, req, viewer):
    headers = bearer(viewer)
    lying = upload_api(client, req, SVG, "plan.svg", headers)
    assert lying.status_code == 400
    assert lying.json["error"]["code"] == "invalid" and lying.json["error"]["field"] == "file"
    assert REFUSED_TYPE in lying.json["error"]["message"]
    none = post_multipart(client, api_url(req), {"note": "x"}, headers)
    assert none.status_code == 400 and none.json["error"]["field"] == "file"
    odd = upload_api(client, req, PDF, "a.pdf", headers, internal="peut-être")
    assert odd.status_code == 400 and odd.json["error"]["field"] == "internal"
    assert (
        client.post(f"/api/v1/support-requests/{2**40}/attachments", headers=headers).status_code
        == 404
    )
    assert rows(req) == []


def test_the_api_internal_flag_is_staff_only(app, client, req, viewer):
    refused = upload_api(client, req, PDF, "a.pdf", bearer(viewer), internal="true")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    staff = factories.make_user("support")
    accepted = upload_api(client, req, PDF, "a.pdf", bearer(staff), internal="true")
    assert accepted.status_code == 201 and accepted.json["internal"] is True
    assert [a.internal for a in rows(req)] == [True]


def test_the_api_413_is_json(app, client, req, viewer):
    response = upload_api(client, req, b"%PDF-" + b"\0" * (50 * MIB), "x.pdf", bearer(viewer))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert "10 Mo" in response.json["error"]["message"]
    assert rows(req) == []


def test_the_api_with_a_session_needs_the_csrf_token(app, client, login, req, viewer):
    login(viewer)
    refused = upload_api(client, req, PDF, "a.pdf", {})
    assert refused.status_code == 400 and rows(req) == []
    token = csrf_from(client, "/profil/alertes")
    accepted = upload_api(client, req, PDF, "a.pdf", {"X-CSRFToken": token})
    assert accepted.status_code == 201


def test_the_api_refuses_a_closed_request_with_409(app, client, req, viewer):
    support.change_status(req, factories.make_user("support"), SupportStatus.CLOSED)
    response = upload_api(client, req, PDF, "a.pdf", bearer(viewer))
    assert response.status_code == 409 and response.json["error"]["code"] == "closed"


def test_the_thread_pages_offer_the_upload_form(app, client, login, req, viewer):
    login(viewer)
    page = client.get(f"/membres/{req.member.slug}/support/{req.id}").get_data(as_text=True)
    assert f'action="{member_url(req)}"' in page
    assert "Interne (visible du support seulement)" not in page
    staff_page = signed_in(app, factories.make_user("support")).get(f"/support/{req.id}")
    html = staff_page.get_data(as_text=True)
    assert f'action="{staff_url(req)}"' in html
    assert "Interne (visible du support seulement)" in html
