"""The map's equipment icons: which Tabler icon draws which role, in one place.

``scripts/build_icons.py`` (``make vendor``) reads this module and writes one SVG sprite,
``static/vendor/icons/map.svg``, with a ``<symbol id="icon-<key>">`` per entry of
:data:`ICONS` and nothing else, taken from the pinned npm package ``@tabler/icons``
(outline style, MIT). Templates point at a symbol with ``icon_href(role)``
(:mod:`webapp.templating`).

Standard library only: the build script loads this file by its path, with whatever
Python runs ``make vendor``, before any virtual environment exists.
"""

from __future__ import annotations

__all__ = ["FALLBACK", "ICONS", "ROLE_ICONS", "SPRITE", "symbol_id"]

#: Equipment role (the values of ``topology.model.Role``) -> Tabler outline icon name.
#: Every role has its own picture; the role's label is always written next to it.
ROLE_ICONS: dict[str, str] = {
    "internet": "world",
    "access": "router",  # the operator's box: a box with antennas
    "router": "directions",  # a signpost: where the traffic goes
    "firewall": "wall",
    "switch": "switch-horizontal",
    "link": "link",
    "server": "server",
    "nas": "database",
    "camera": "device-cctv",
    "ap": "wifi",
    "printer": "printer",
    "phone": "phone",
    "other": "cpu",
}

#: Every symbol of the sprite: the roles, and a folded group of equipment.
ICONS: dict[str, str] = {**ROLE_ICONS, "group": "stack-2"}

#: The symbol drawn for a key the sprite does not have.
FALLBACK = "other"

#: The sprite, under ``static/``.
SPRITE = "vendor/icons/map.svg"


def symbol_id(key: str) -> str:
    """The sprite's id for ``key`` (a role, or ``group``); :data:`FALLBACK`'s when unknown.

    >>> symbol_id("camera"), symbol_id("toaster")
    ('icon-camera', 'icon-other')
    """
    return f"icon-{key if key in ICONS else FALLBACK}"
