"""Photos and PDF attached to a support request's thread.

What is accepted is decided from the content, never from the name a browser sends:
JPEG, PNG and WebP images, and PDF documents, of ``SUPPORT_ATTACHMENT_MAX_BYTES`` at
most. Anything else (an SVG, HTML named ``.jpg``, a HEIC photo, a GIF) is refused.

Images are decoded and re-encoded in their own format, so nothing but their pixels is
kept: the EXIF block of a phone photo (its GPS position, the phone's model), XMP, ICC
and comments are gone. The EXIF orientation is applied first, so the photo still reads
the right way up; dimensions are bounded (:data:`MAX_SIDE`). An image whose header
announces more pixels than :func:`max_pixels` (a "decompression bomb": a few kilobytes
that would decode to gigabytes) is refused before any pixel is decoded.

Files live under ``SUPPORT_ATTACHMENTS_DIR`` (default ``instance/attachments``, never
the static folder), named by a random key: the user's file name is only shown, never
part of a path. A file is written atomically (temporary file, then rename) before the
transaction commits, and removed if the commit fails.

Anyone who may see a request may attach a file, as they may comment; staff may mark
one internal: an internal attachment never reaches a member, by any route.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import SupportAttachment
from webapp.models import SupportRequest
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.models.choices import SupportEntryKind
from webapp.models.choices import SupportStatus
from webapp.models.member import utcnow
from webapp.services import audit
from webapp.services import support
from webapp.services.agreements import size_label
from webapp.services.errors import Conflict
from webapp.services.errors import NotFound
from webapp.services.errors import PermissionDenied
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
PDF = "application/pdf"
CONTENT_TYPES = (JPEG, PNG, WEBP, PDF)
# content type -> (Pillow format, the extensions a name may keep; the first is given otherwise)
FORMATS = {
    JPEG: ("JPEG", (".jpg", ".jpeg")),
    PNG: ("PNG", (".png",)),
    WEBP: ("WEBP", (".webp",)),
    PDF: (None, (".pdf",)),
}
ACCEPT = ",".join(CONTENT_TYPES)  # the file input's ``accept``

MAX_SIDE = 4096  # the longest side kept of an image, in pixels
DEFAULT_MAX_PIXELS = 50_000_000  # decoded pixels at most (``SUPPORT_ATTACHMENT_MAX_PIXELS``)
JPEG_QUALITY = 85
WEBP_QUALITY = 85
PDF_EOF_WINDOW = 1024  # "%%EOF" must be this close to the end
NAME_MAX = 255
DEFAULT_STEM = "piece-jointe"
KEY_RE = re.compile(r"^[0-9a-f]{40}$")
MAX_ID = 2**31 - 1  # ids beyond an integer column are no attachment


# -- settings -------------------------------------------------------------------------


def max_bytes() -> int:
    """The largest file accepted (``VIGIE_SUPPORT_ATTACHMENT_MAX_BYTES``)."""
    return int(current_app.config["SUPPORT_ATTACHMENT_MAX_BYTES"])


def max_pixels() -> int:
    """The most pixels an image may decode to (``VIGIE_SUPPORT_ATTACHMENT_MAX_PIXELS``)."""
    return int(current_app.config.get("SUPPORT_ATTACHMENT_MAX_PIXELS") or DEFAULT_MAX_PIXELS)


def upload_limit() -> int:
    """The largest body of an upload request: the file plus what any other form carries."""
    return max_bytes() + int(current_app.config["MAX_CONTENT_LENGTH"] or 0)


def storage_dir() -> Path:
    """Where the files are (``SUPPORT_ATTACHMENTS_DIR``, default ``instance/attachments``)."""
    configured = current_app.config.get("SUPPORT_ATTACHMENTS_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "attachments"
    folder = folder.resolve()
    static = current_app.static_folder
    if static and (folder == Path(static).resolve() or Path(static).resolve() in folder.parents):
        raise RuntimeError("SUPPORT_ATTACHMENTS_DIR must not be under the static folder")
    return folder


def _path_of(key: str) -> Path:
    if not KEY_RE.match(key or ""):
        raise NotFound(key)
    return storage_dir() / key[:2] / key


# -- what the content is --------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """An accepted file, ready to store: what is kept is ``content`` (re-encoded images)."""

    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _refused() -> ValidationError:
    return ValidationError(
        {
            "file": _(
                "Ce type de fichier n’est pas accepté : envoyez une photo "
                "(JPEG, PNG, WebP) ou un PDF."
            )
        }
    )


def sniff(head: bytes) -> str | None:
    """The content type ``head`` (the file's first bytes) starts as, among those accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def _is_heic(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"hevc",
        b"heim",
        b"heis",
        b"mif1",
        b"msf1",
        b"avif",
    )


def check(content: bytes) -> Checked:
    """Accept ``content`` as a JPEG, PNG, WebP or PDF (images re-encoded), else refuse it."""
    if not content:
        raise ValidationError({"file": _("Le fichier est vide.")})
    if len(content) > max_bytes():
        raise ValidationError(
            {"file": _("Fichier trop gros : %(max)s au plus.", max=size_label(max_bytes()))}
        )
    content_type = sniff(content[:16])
    if content_type is None:
        if _is_heic(content[:16]):
            raise ValidationError(
                {
                    "file": _(
                        "Les photos HEIC ne sont pas acceptées : envoyez cette photo en "
                        "JPEG (sur iPhone : Réglages › Appareil photo › Formats › « Le plus "
                        "compatible »)."
                    )
                }
            )
        raise _refused()
    if content_type == PDF:
        return Checked(PDF, _check_pdf(content))
    return Checked(content_type, _reencode(content, content_type))


def _check_pdf(content: bytes) -> bytes:
    if b"%%EOF" not in content[-PDF_EOF_WINDOW:]:
        raise ValidationError(
            {"file": _("Ce PDF est incomplet ou abîmé : enregistrez-le à nouveau, puis réessayez.")}
        )
    return content


def _too_large_image() -> ValidationError:
    return ValidationError(
        {
            "file": _(
                "Image trop grande : %(n)d mégapixels au plus. Réduisez-la, puis réessayez.",
                n=max_pixels() // 1_000_000,
            )
        }
    )


def _damaged_image() -> ValidationError:
    return ValidationError(
        {
            "file": _(
                "Cette image est illisible ou abîmée : enregistrez-la à nouveau, puis réessayez."
            )
        }
    )


def _open(content: bytes, pillow_format: str) -> Image.Image:
    """Open the header only: the pixel count is known, nothing is decoded yet."""
    with warnings.catch_warnings():
        # Our own limit (max_pixels) decides; Pillow's DecompressionBombError still refuses.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(content), formats=[pillow_format])
    if image.format != pillow_format:
        raise _refused()
    return image


def _reencode(content: bytes, content_type: str) -> bytes:
    """Decode and re-encode an image in its own format, without any metadata."""
    pillow_format = FORMATS[content_type][0]
    try:
        _open(content, pillow_format).verify()
        image = _open(content, pillow_format)
        width, height = image.size
        if width < 1 or height < 1:
            raise _damaged_image()
        if pillow_format == "JPEG":
            # Decode a big photo at 1/2, 1/4 or 1/8 of its size when that still covers MAX_SIDE.
            scale = min(1.0, MAX_SIDE / max(width, height))
            image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
        if image.size[0] * image.size[1] > max_pixels():
            raise _too_large_image()
        image.load()
        image = ImageOps.exif_transpose(image)
        image = _plain_mode(image, pillow_format)
        if max(image.size) > MAX_SIDE:
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        image.info = {}  # no comment, ICC, XMP or EXIF carried into the new file
        out = io.BytesIO()
        if pillow_format == "JPEG":
            image.save(out, "JPEG", quality=JPEG_QUALITY)
        elif pillow_format == "WEBP":
            image.save(out, "WEBP", quality=WEBP_QUALITY)
        else:
            image.save(out, "PNG")
        return out.getvalue()
    except Image.DecompressionBombError:
        raise _too_large_image() from None
    except ValidationError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        KeyError,
        IndexError,
        TypeError,
        Image.DecompressionBombWarning,
    ) as exc:
        # Pillow reports a bad file as any of these; Warning in case filters turn it into one.
        logger.info("Image refused (%s): %s", content_type, exc)
        if isinstance(exc, Image.DecompressionBombWarning):
            raise _too_large_image() from None
        raise _damaged_image() from None


def _plain_mode(image: Image.Image, pillow_format: str) -> Image.Image:
    """RGB, or RGBA when there is transparency (greyscale and palettes stay), as stored."""
    transparent = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if pillow_format == "JPEG":
        target = "L" if image.mode in ("L", "1", "I;16", "I") else "RGB"
    elif transparent:
        target = "RGBA"
    elif pillow_format == "PNG" and image.mode in ("L", "1", "P"):
        target = "P" if image.mode == "P" else "L"  # a screenshot's palette stays small
    else:
        target = "RGB"
    if image.mode in ("I;16", "I", "F") and target != "L":
        image = image.convert("L")  # 16-bit greyscale: brought to 8 bits before RGB
    return image if image.mode == target else image.convert(target)


# -- names ----------------------------------------------------------------------------


def clean_name(name: str | None, content_type: str) -> str:
    """The file's own name, shown and given back on download (never a path).

    Folders a browser may send, control characters and leading dots are dropped; a name
    that does not end as its content does gets the content's extension (``photo.pdf``
    that is really a JPEG is given back as ``photo.pdf.jpg``).
    """
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(c for c in base if not unicodedata.category(c).startswith("C"))
    base = base.strip().lstrip(".").strip()
    extensions = FORMATS[content_type][1]
    suffix = next((ext for ext in extensions if base.lower().endswith(ext)), None)
    if suffix is None:
        stem, extension = base, extensions[0]
    else:
        stem, extension = base[: -len(suffix)], base[-len(suffix) :]
    stem = stem.strip() or DEFAULT_STEM
    return stem[: NAME_MAX - len(extension)] + extension


# -- storing --------------------------------------------------------------------------


def _read(upload: bytes | BinaryIO | object) -> bytes:
    """The upload's bytes, reading at most one byte more than allowed."""
    if isinstance(upload, bytes | bytearray | memoryview):
        return bytes(upload)
    stream = getattr(upload, "stream", upload)  # a werkzeug FileStorage, or a file
    data = stream.read(max_bytes() + 1)
    return data if isinstance(data, bytes) else bytes(data or b"")


def _write(content: bytes) -> str:
    """Write ``content`` under a new random key, atomically; return the key."""
    key = secrets.token_hex(20)
    folder = storage_dir() / key[:2]
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / key)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return key


def _remove(key: str) -> None:
    try:
        _path_of(key).unlink(missing_ok=True)
    except OSError as exc:  # pragma: no cover - a file left over is only disk space
        logger.warning("Attachment file %s not removed: %s", key, exc)


def add(
    request: SupportRequest,
    user: User,
    upload: bytes | BinaryIO | object,
    filename: str | None = None,
    *,
    internal: bool = False,
    now: datetime | None = None,
) -> SupportAttachment:
    """Attach a photo or a PDF to ``request``'s thread (anyone who may see it). Commits.

    ``upload`` is the content (bytes), a werkzeug ``FileStorage`` or a binary file;
    ``filename`` defaults to the ``FileStorage``'s. :class:`ValidationError` (``file``)
    tells why a file is refused; ``internal`` is for staff (:class:`PermissionDenied`).
    """
    support.get_for(user, request.id)  # NotFound for someone who may not see it
    if internal and not user.is_staff:
        raise PermissionDenied("internal attachments are for the syndicate's staff")
    if request.status == SupportStatus.CLOSED:
        raise Conflict("closed", _("Cette demande est fermée : ouvrez-en une nouvelle."))
    if filename is None:
        filename = getattr(upload, "filename", None)
    checked = check(_read(upload))
    name = clean_name(filename, checked.content_type)
    now = now or utcnow()
    key = _write(checked.content)
    try:
        attachment = SupportAttachment(
            request=request,
            name=name,
            content_type=checked.content_type,
            size=len(checked.content),
            sha256=checked.sha256,
            storage_key=key,
            internal=bool(internal),
            uploaded_by=user,
            created_at=now,
        )
        db.session.add(attachment)
        db.session.flush()
        detail = {
            "attachment": attachment.id,
            "name": name,
            "content_type": checked.content_type,
            "size": attachment.size,
        }
        attachment.entry = support._entry(
            request,
            user,
            SupportEntryKind.ATTACHMENT,
            body=None,
            now=now,
            internal=bool(internal),
            detail=detail,
        )
        db.session.flush()
        support.message_sent(
            request, user, attachment.entry, _("Fichier joint : %(name)s", name=name), now=now
        )
        audit.record(
            AuditKind.SUPPORT_ATTACHMENT,
            actor=user,
            member=request.member,
            target=f"support {request.id}",
            detail={
                **detail,
                "sha256": attachment.sha256,
                "internal": bool(internal),
                "entry": attachment.entry.id,
            },
        )
        support._commit(request)
    except BaseException:
        db.session.rollback()
        _remove(key)
        raise
    logger.info(
        "Attachment %s (%s, %d bytes) added to support request %s by %s",
        attachment.id,
        attachment.content_type,
        attachment.size,
        request.id,
        user.email,
    )
    support._publish(request)
    return attachment


# -- reading --------------------------------------------------------------------------


def visible(user: User, request: SupportRequest) -> list[SupportAttachment]:
    """``request``'s attachments as ``user`` may see them (a member: never an internal one)."""
    query = select(SupportAttachment).where(SupportAttachment.request_id == request.id)
    if not user.is_staff:
        query = query.where(SupportAttachment.internal.is_(False))
    return list(db.session.scalars(query.order_by(SupportAttachment.id)))


def open_for(
    user: User, request: SupportRequest, attachment_id: int
) -> tuple[SupportAttachment, Path]:
    """Attachment ``attachment_id`` of ``request`` and its file, if ``user`` may read it.

    :class:`NotFound` for someone who may not see the request, for another request's
    attachment, for a member asking for an internal one, and for a missing file.
    """
    support.get_for(user, request.id)
    if not 0 < attachment_id <= MAX_ID:
        raise NotFound(attachment_id)
    attachment = db.session.get(SupportAttachment, attachment_id)
    if attachment is None or attachment.request_id != request.id:
        raise NotFound(attachment_id)
    if attachment.internal and not user.is_staff:
        raise NotFound(attachment_id)
    path = _path_of(attachment.storage_key)
    if not path.is_file():
        logger.error("Attachment %s: file %s is missing", attachment.id, attachment.storage_key)
        raise NotFound(attachment_id)
    return attachment, path


__all__ = [
    "ACCEPT",
    "CONTENT_TYPES",
    "Checked",
    "add",
    "check",
    "clean_name",
    "max_bytes",
    "max_pixels",
    "open_for",
    "size_label",
    "sniff",
    "storage_dir",
    "upload_limit",
    "visible",
]
