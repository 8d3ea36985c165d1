"""Build the map's SVG sprite from the pinned Tabler icons (``make vendor``).

    python3 scripts/build_icons.py [--source DIR] [--out DIR]

Reads ``<source>/<name>.svg`` (default ``node_modules/@tabler/icons/icons/outline``) for
each icon of ``webapp/icons.py``, and writes ``<out>/map.svg`` (default
``static/vendor/icons``): one ``<symbol id="icon-<key>" viewBox="0 0 24 24">`` per entry,
only those, with the stroke settings on the symbol (so ``color`` sets the stroke) and
neither the files' size, class nor invisible bounding-box path. Tabler's licence is copied
next to it as ``LICENSE``. A missing icon stops the build: one line, exit status 1.

Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG_NS = "http://www.w3.org/2000/svg"
# Presentation attributes of a Tabler outline icon, kept on each symbol (a <use> inherits
# the symbol's, not the sprite root's).
KEPT = ("fill", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin")
BOUNDING_BOX = "M0 0h24v24H0z"  # Tabler's invisible 24×24 square


class BuildError(Exception):
    """An icon cannot be read: the one line the build prints before it stops."""


def load_icons(path: Path = ROOT / "webapp" / "icons.py") -> dict[str, str]:
    """The key -> Tabler name mapping of ``webapp/icons.py``, loaded by its path (the
    ``webapp`` package needs Flask; this module needs nothing)."""
    spec = importlib.util.spec_from_file_location("vigie_icons", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.ICONS)


def _tag(element: ET.Element) -> str:
    return element.tag.removeprefix(f"{{{SVG_NS}}}")


def _attributes(attributes: dict[str, str]) -> str:
    return "".join(f' {key}="{_escape(value)}"' for key, value in attributes.items())


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _path_data(d: str) -> str:
    """``d`` without the blanks a number's minus sign already separates (``2 -2`` -> ``2-2``)."""
    return re.sub(r"\s+", " ", d.strip()).replace(" -", "-")


def symbol(key: str, name: str, source: Path) -> str:
    """The ``<symbol>`` of Tabler's ``name`` icon, with id ``icon-<key>``."""
    path = source / f"{name}.svg"
    try:
        root = ET.fromstring(path.read_bytes())
    except FileNotFoundError:
        raise BuildError(
            f"build_icons: no icon {name!r} (for {key!r}) at {path}: "
            "fix webapp/icons.py, or run `npm ci`"
        ) from None
    except ET.ParseError as error:
        raise BuildError(f"build_icons: {path} is not SVG ({error})") from None
    if _tag(root) != "svg" or root.get("viewBox") is None:
        raise BuildError(f"build_icons: {path} is not an SVG icon with a viewBox")
    head = {"id": f"icon-{key}", "viewBox": root.get("viewBox")}
    head |= {attribute: root.get(attribute) for attribute in KEPT if root.get(attribute)}
    body: list[str] = []
    paths: list[str] = []  # consecutive plain paths, drawn alike: one path of subpaths
    for child in root:
        attributes = dict(child.attrib)
        if _tag(child) == "path" and _path_data(attributes.get("d", "")) == BOUNDING_BOX:
            continue
        if _tag(child) not in {"path", "circle", "ellipse", "line", "polyline", "polygon", "rect"}:
            raise BuildError(f"build_icons: {path}: unexpected <{_tag(child)}>")
        if _tag(child) == "path" and set(attributes) == {"d"}:
            paths.append(_path_data(attributes["d"]))
            continue
        if paths:
            body.append(f'<path d="{_escape("".join(paths))}"/>')
            paths = []
        if "d" in attributes:
            attributes["d"] = _path_data(attributes["d"])
        body.append(f"<{_tag(child)}{_attributes(attributes)}/>")
    if paths:
        body.append(f'<path d="{_escape("".join(paths))}"/>')
    if not body:
        raise BuildError(f"build_icons: {path} draws nothing")
    return f"<symbol{_attributes(head)}>{''.join(body)}</symbol>"


def sprite(icons: dict[str, str], source: Path) -> str:
    """The whole sprite: the symbols of ``icons``, in the mapping's order."""
    symbols = "".join(symbol(key, name, source) for key, name in icons.items())
    return f'<svg xmlns="{SVG_NS}">{symbols}</svg>\n'


def build(source: Path, out: Path, icons: dict[str, str] | None = None) -> Path:
    """Write ``out/map.svg`` and ``out/LICENSE``; the sprite's path."""
    text = sprite(load_icons() if icons is None else icons, source)
    licence = source.parents[1] / "LICENSE"  # node_modules/@tabler/icons/LICENSE
    if not licence.is_file():
        raise BuildError(f"build_icons: no licence at {licence}: run `npm ci`")
    out.mkdir(parents=True, exist_ok=True)
    target = out / "map.svg"
    target.write_text(text, encoding="utf-8")
    shutil.copyfile(licence, out / "LICENSE")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--source", type=Path, default=ROOT / "node_modules" / "@tabler/icons/icons/outline"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "static" / "vendor" / "icons")
    arguments = parser.parse_args(argv)
    try:
        target = build(arguments.source, arguments.out)
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{target}: {target.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
