"""Static files under content-hashed names, cached for a year; the others revalidated.

At start-up :func:`build_manifest` reads every file under ``static/`` once and gives it a
name with the hash of its content (``css/vigie.css`` -> ``css/vigie.3f2a9c1b7d4e.css``).
``url_for('static', filename='css/vigie.css')`` returns the hashed URL (a URL default, so
templates keep their ``url_for``), answered with ``Cache-Control: public, max-age=31536000,
immutable``: a new content is a new URL, so the browser never asks again. The plain name
keeps working, with ``no-cache`` and an ETag (revalidated each time): the web app manifest
and the icons it lists (browsers identify an installed app by them), and any old link.

Our ES modules import each other by relative path (``import … from "./clock.js"``): in
the hashed copy of a module, those paths name the hashed files (as Django's
``ManifestStaticFilesStorage`` rewrites them), and a module's hash is taken after that
rewriting, so changing ``clock.js`` changes the name of every module that imports it.

Bodies are kept in memory (the folder is about 1.5 MB) and answered whole, not streamed,
so that Flask-Compress compresses them like any page (brotli or gzip, as the client asks).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from pathlib import PurePosixPath

from flask import Flask
from flask import current_app
from flask import request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import NotFound

__all__ = [
    "IMMUTABLE",
    "REVALIDATE",
    "STABLE_NAMES",
    "Asset",
    "Manifest",
    "StaticFilesWithoutCookies",
    "build_manifest",
]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # kept, but asked again each time (a 304 when unchanged)
#: Served under their own name only: browsers key an installed app on its manifest's URL.
STABLE_NAMES = frozenset({"manifest.webmanifest"})
HASH_LENGTH = 12

# `import x from "./a.js"`, `export … from "./a.js"`, `import "./a.js"`, `import("./a.js")`
_IMPORT = re.compile(
    r"""(?P<head>\bfrom\s*|\bimport\s*\(?\s*)(?P<quote>["'])(?P<path>\.{1,2}/[^"'\s]+\.m?js)(?P=quote)"""
)
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the static folder, as served under its hashed name."""

    name: str  # its path under static/, with "/"
    hashed: str  # the same with the hash before the suffix (== name when stable)
    digest: str
    body: bytes  # the hashed copy's body (module imports rewritten)
    source: bytes  # the file as it is, served under its own name
    mimetype: str


@dataclass(slots=True)
class Manifest:
    """Name -> asset, and hashed name -> asset, of one reading of the static folder."""

    folder: Path
    by_name: dict[str, Asset] = field(default_factory=dict)
    by_hashed: dict[str, Asset] = field(default_factory=dict)
    stamp: tuple = ()

    def url_name(self, name: str) -> str:
        """The name to put in a URL: the hashed one when the file is known."""
        asset = self.by_name.get(name)
        return asset.hashed if asset is not None else name


def _hashed_name(name: str, digest: str) -> str:
    path = PurePosixPath(name)
    if name in STABLE_NAMES or not path.suffix:
        return name
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def _stamp(folder: Path) -> tuple:
    """What changes when a file of ``folder`` is added, removed or written."""
    return tuple(sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in _files(folder)))


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]


def build_manifest(folder: Path) -> Manifest:
    """Read every file of ``folder`` and name it by the hash of its content."""
    folder = Path(folder)
    raw = {p.relative_to(folder).as_posix(): p.read_bytes() for p in _files(folder)}
    manifest = Manifest(folder=folder, stamp=_stamp(folder))

    def visit(name: str, seen: tuple[str, ...] = ()) -> Asset:
        if name in manifest.by_name:
            return manifest.by_name[name]
        body = source = raw[name]
        if name.endswith((".js", ".mjs")) and name not in seen:
            body = _rewrite_imports(name, body, lambda dep: visit(dep, (*seen, name)), raw)
        digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        asset = Asset(name, _hashed_name(name, digest), digest, body, source, mimetype)
        manifest.by_name[name] = asset
        manifest.by_hashed[asset.hashed] = asset
        return asset

    for name in sorted(raw):
        visit(name)
    return manifest


def _rewrite_imports(name: str, body: bytes, visit, raw: dict[str, bytes]) -> bytes:
    """``body`` with each relative import naming the imported module's hashed file."""
    text = body.decode("utf-8")
    base = PurePosixPath(name).parent

    def replace(match: re.Match) -> str:
        target = _normalise(base / match["path"])
        if target not in raw:
            return match[0]
        hashed = PurePosixPath(visit(target).hashed).name
        relative = match["path"].rsplit("/", 1)[0] + "/" + hashed
        return f"{match['head']}{match['quote']}{relative}{match['quote']}"

    return _IMPORT.sub(replace, text).encode("utf-8")


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


# -- in the app --------------------------------------------------------------------------


class StaticFilesWithoutCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie session, left alone by static files.

    Flask-Login reads the session after every request, so Flask would answer every static
    file with ``Vary: Cookie`` (and a refreshed cookie): a browser then revalidates its
    cached copy whenever the cookie changed, and a year of cache is worth nothing. A static
    file is the same for everyone; its answer neither varies with the cookie nor sets it.
    """

    def save_session(self, app, session, response) -> None:
        if request.endpoint == "static" and not session.modified:
            return
        super().save_session(app, session, response)


# The readings of this process, by folder: every app of a process (the tests make
# thousands) shares one while the folder is unchanged.
_READINGS: dict[Path, Manifest] = {}


def _reading(folder: Path) -> Manifest:
    """The manifest of ``folder``: the last one read, unless a file changed since."""
    known = _READINGS.get(folder)
    if known is None or known.stamp != _stamp(folder):
        known = _READINGS[folder] = build_manifest(folder)
    return known


def init_app(app: Flask) -> None:
    """Read the static folder, hash its names in ``url_for``, serve both names."""
    app.extensions["vigie_assets"] = _reading(Path(app.static_folder))
    app.url_defaults(_hashed_url)
    app.view_functions["static"] = _serve
    app.session_interface = StaticFilesWithoutCookies()


def manifest() -> Manifest:
    """The current reading; read again in debug mode when a file changed (no restart)."""
    app = current_app
    if app.debug:
        app.extensions["vigie_assets"] = _reading(app.extensions["vigie_assets"].folder)
    return app.extensions["vigie_assets"]


def _hashed_url(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values:
        values["filename"] = manifest().url_name(values["filename"])


def _serve(filename: str):
    """A static file: immutable under its hashed name, revalidated under its own."""
    current = manifest()
    asset = current.by_hashed.get(filename)
    if asset is not None and asset.hashed != asset.name:
        response = current_app.response_class(asset.body, mimetype=asset.mimetype)
        response.set_etag(asset.digest)
        response.headers["Cache-Control"] = IMMUTABLE
        return response.make_conditional(request)
    asset = current.by_name.get(filename)
    if asset is None:
        raise NotFound()
    response = current_app.response_class(asset.source, mimetype=asset.mimetype)
    response.set_etag(hashlib.sha256(asset.source).hexdigest()[:HASH_LENGTH])
    response.headers["Cache-Control"] = REVALIDATE
    return response.make_conditional(request)
