"""The map's icon sprite (webapp/icons.py, scripts/build_icons.py, `make vendor`): one
distinct Tabler icon per role, only those in the sprite, small and inert."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from topology.model import Role
from webapp import icons

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_icons.py"
TABLER = ROOT / "node_modules" / "@tabler" / "icons"
OUTLINE = TABLER / "icons" / "outline"
SVG = "{http://www.w3.org/2000/svg}"
DRAWING = {f"{SVG}{tag}" for tag in ("path", "circle", "ellipse", "line", "polyline", "rect")}
# Measured: 3,997 bytes (937 gzipped) for the 14 symbols of Tabler 3.52.
MAX_BYTES = 6_000

_spec = importlib.util.spec_from_file_location("build_icons", SCRIPT)
build_icons = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_icons)


@pytest.fixture(scope="module")
def tabler() -> Path:
    if not OUTLINE.is_dir():
        pytest.fail("@tabler/icons is not installed: run `make vendor` (npm ci)")
    return OUTLINE


@pytest.fixture(scope="module")
def sprite(tabler, tmp_path_factory) -> Path:
    return build_icons.build(tabler, tmp_path_factory.mktemp("icons"))


def test_every_role_has_its_own_icon():
    assert set(icons.ROLE_ICONS) == {role.value for role in Role}
    assert set(icons.ICONS) == set(icons.ROLE_ICONS) | {"group"}
    assert len(set(icons.ICONS.values())) == len(icons.ICONS), "two keys share a picture"
    assert icons.FALLBACK in icons.ICONS


def test_symbol_ids_fall_back_to_other():
    assert icons.symbol_id(Role.CAMERA) == "icon-camera"
    assert icons.symbol_id("group") == "icon-group"
    assert icons.symbol_id("toaster") == icons.symbol_id(None) == "icon-other"


def test_the_script_reads_the_mapping_of_webapp_icons():
    assert build_icons.load_icons() == icons.ICONS


def test_the_sprite_has_exactly_the_mapping_s_symbols_drawn_in_currentcolor(sprite):
    root = ET.parse(sprite).getroot()
    assert root.tag == f"{SVG}svg"
    assert not root.attrib, "the sprite itself has no size, class or style"
    symbols = list(root)
    assert [s.get("id") for s in symbols] == [f"icon-{key}" for key in icons.ICONS]
    for symbol in symbols:
        assert symbol.tag == f"{SVG}symbol"
        assert symbol.get("viewBox") == "0 0 24 24"
        assert symbol.get("fill") == "none" and symbol.get("stroke") == "currentColor"
        assert symbol.get("stroke-width") == "2"
        assert symbol.get("stroke-linecap") == symbol.get("stroke-linejoin") == "round"
        assert not {"width", "height", "class", "style"} & set(symbol.attrib)
        shapes = list(symbol)
        assert shapes and all(shape.tag in DRAWING for shape in shapes), symbol.get("id")
        assert all(shape.get("d", "x").strip() for shape in shapes), symbol.get("id")
        # Tabler's invisible 24×24 bounding box is dropped.
        assert not any(shape.get("stroke") == "none" for shape in shapes)


def test_the_sprite_is_inert_and_small(sprite):
    text = sprite.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert tags <= {"svg", "symbol", "path", "circle", "ellipse", "line", "polyline", "rect"}
    attributes = {name for element in root.iter() for name in element.attrib}
    assert not {name for name in attributes if name.lower().startswith("on")}
    assert "href" not in text and "M0 0h24v24H0z" not in text
    assert len(sprite.read_bytes()) < MAX_BYTES


def test_the_paths_draw_what_tabler_draws(sprite, tabler):
    """Blanks before minus signs dropped, paths joined: the same commands and numbers."""

    def tokens(shapes) -> list[str]:
        return re.findall(r"[A-Za-z]|-?[0-9]*\.?[0-9]+", " ".join(s.get("d") for s in shapes))

    for key, name in icons.ICONS.items():
        ours = ET.parse(sprite).getroot().find(f"{SVG}symbol[@id='icon-{key}']")
        theirs = [
            shape
            for shape in ET.parse(tabler / f"{name}.svg").getroot()
            if shape.get("stroke") != "none"
        ]
        assert tokens(ours) == tokens(theirs), key


def test_tabler_s_licence_is_copied_next_to_the_sprite(sprite):
    licence = (sprite.parent / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "Paweł Kuna" in licence


def test_the_script_needs_only_the_standard_library(tabler, tmp_path):
    """``-S``: no site-packages, as with a bare ``python3`` before ``make venv``."""
    done = subprocess.run(
        [sys.executable, "-S", str(SCRIPT), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "map.svg").stat().st_size < MAX_BYTES
    assert (tmp_path / "out" / "LICENSE").is_file()


def test_a_missing_icon_stops_the_build_with_one_line(tabler, tmp_path):
    source = tmp_path / "@tabler" / "icons" / "icons" / "outline"
    source.mkdir(parents=True)
    shutil.copyfile(TABLER / "LICENSE", tmp_path / "@tabler" / "icons" / "LICENSE")
    for name in icons.ICONS.values():
        if name != icons.ICONS["camera"]:
            shutil.copyfile(tabler / f"{name}.svg", source / f"{name}.svg")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "'device-cctv'" in lines[0] and "'camera'" in lines[0]
    assert not out.exists(), "nothing is written when an icon is missing"
    with pytest.raises(build_icons.BuildError, match="no icon 'no-such-icon'"):
        build_icons.sprite({"other": "no-such-icon"}, tabler)


def test_make_vendor_builds_the_sprite(tabler, tmp_path):
    """On a scratch copy, with this checkout's node_modules (never reinstalled: ``-o``)."""
    for name in (
        "Makefile",
        "package.json",
        "package-lock.json",
        "webapp/icons.py",
        "scripts/build_icons.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    # Neither the development Zabbix's settings nor an enclosing make's flags (make test).
    unset = {"VIGIE_SOURCE", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            "node_modules/.package-lock.json",
            "vendor",
            f"PYTHON={sys.executable}",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    built = tmp_path / "static" / "vendor" / "icons" / "map.svg"
    ids = [s.get("id") for s in ET.parse(built).getroot()]
    assert ids == [f"icon-{key}" for key in icons.ICONS]
    assert (built.parent / "LICENSE").is_file()
