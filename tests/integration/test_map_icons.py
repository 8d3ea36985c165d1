"""``icon_href(role)``: the sprite `make vendor` built, under its content-hashed name (cached
for a year), and the role's symbol as the fragment; an unknown role draws ``other``."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from flask import render_template_string

from topology.model import Role
from webapp import icons
from webapp.assets import IMMUTABLE

ROOT = Path(__file__).resolve().parents[2]
HREF = re.compile(r"(?P<url>/static/vendor/icons/map\.[0-9a-f]{12}\.svg)#(?P<id>icon-[a-z-]+)")


def _href(app, role) -> str:
    with app.test_request_context():
        return render_template_string("{{ icon_href(role) }}", role=role)


@pytest.mark.parametrize("key", list(icons.ICONS))
def test_each_role_points_at_its_symbol_in_the_hashed_sprite(app, key):
    match = HREF.fullmatch(_href(app, key))
    assert match, _href(app, key)
    assert match["id"] == f"icon-{key}"


def test_an_unknown_role_draws_the_other_symbol(app):
    assert _href(app, "toaster").endswith("#icon-other")
    assert _href(app, None).endswith("#icon-other")
    assert _href(app, Role.CAMERA).endswith("#icon-camera")
    assert HREF.fullmatch(_href(app, "toaster"))


def test_the_sprite_is_served_immutable_and_up_to_date(app, client):
    url = HREF.fullmatch(_href(app, "router"))["url"]
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.mimetype == "image/svg+xml"
    assert answer.headers["Cache-Control"] == IMMUTABLE
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    spec = importlib.util.spec_from_file_location("build_icons", ROOT / "scripts/build_icons.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    fresh = script.sprite(icons.ICONS, ROOT / "node_modules/@tabler/icons/icons/outline")
    assert answer.get_data(as_text=True) == fresh, "static/vendor is stale: run `make vendor`"
