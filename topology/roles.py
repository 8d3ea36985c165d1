"""The role vocabulary: what a ``role`` tag may say, and what a name suggests.

A host's role (router, switch, camera…) comes from its ``role`` tag, read through
French and English aliases, or is inferred from keywords in its inventory type and
its names. :mod:`topology.build` uses it to choose parents.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from topology.model import HostInfo
from topology.model import Role

__all__ = ["GATEWAYS", "infer_role", "normalise_role"]

GATEWAYS = frozenset({Role.ROUTER, Role.FIREWALL})

# Tag values accepted for each canonical role (after accent folding, lower case,
# spaces and underscores turned into "-").
_ROLE_ALIASES: Mapping[str, Role] = MappingProxyType(
    {
        **{role.value: role for role in Role if role is not Role.INTERNET},
        "box": Role.ACCESS,
        "fibre": Role.ACCESS,
        "fiber": Role.ACCESS,
        "link-access": Role.ACCESS,
        "internet-access": Role.ACCESS,
        "acces": Role.ACCESS,
        "acces-internet": Role.ACCESS,
        "internet": Role.ACCESS,
        "routeur": Role.ROUTER,
        "gateway": Role.ROUTER,
        "passerelle": Role.ROUTER,
        "pare-feu": Role.FIREWALL,
        "parefeu": Role.FIREWALL,
        "fw": Role.FIREWALL,
        "lien": Role.LINK,
        "liaison": Role.LINK,
        "inter-site": Role.LINK,
        "intersite": Role.LINK,
        "vpn": Role.LINK,
        "commutateur": Role.SWITCH,
        "sw": Role.SWITCH,
        "serveur": Role.SERVER,
        "srv": Role.SERVER,
        "cam": Role.CAMERA,
        "borne": Role.AP,
        "borne-wifi": Role.AP,
        "wifi": Role.AP,
        "access-point": Role.AP,
        "imprimante": Role.PRINTER,
        "telephone": Role.PHONE,
        "voip": Role.PHONE,
        "autre": Role.OTHER,
    }
)

# Keyword patterns tried, in this order, on the folded inventory type, then on
# the visible and technical names. Explicit device words come before media words
# ("Routeur fibre" is a router, "Box fibre" an access box).
_ROLE_PATTERNS: tuple[tuple[Role, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        (Role.FIREWALL, r"\b(?:firewall|pare ?feu|fw\d*|fortigate|pfsense|opnsense|stormshield)\b"),
        (Role.ROUTER, r"\b(?:routeurs?|routers?|rtr\d*|gateway|passerelle)\b"),
        (Role.SWITCH, r"\b(?:switch(?:es|s)?|commutateurs?|sw\d*)\b"),
        (Role.NAS, r"\b(?:nas\d*|synology|qnap)\b"),
        (Role.CAMERA, r"\b(?:cameras?|cam\d*|ipcam|videosurveillance|video ?protection)\b"),
        (Role.PRINTER, r"\b(?:imprimantes?|printers?|copieurs?|photocopieurs?|mfp|prt\d*)\b"),
        (Role.PHONE, r"\b(?:telephones?|phones?|voip|toip|ipbx)\b"),
        (Role.SERVER, r"\b(?:serveurs?|servers?|srv\d*|hyperviseur|esxi|proxmox)\b"),
        (Role.LINK, r"\b(?:liaisons?|liens?|inter ?sites?|vpn|mpls)\b"),
        (Role.ACCESS, r"\b(?:\w*box|fibre|fiber|ftth|adsl|vdsl|sdsl|[45]g|acces internet)\b"),
        (Role.AP, r"\b(?:bornes?(?: wi ?fi)?|wi ?fi|wlan|ap\d*|access points?|point d ?acces)\b"),
    )
)


def _fold(text: str) -> str:
    """Lower-case ``text``, strip accents, keep only ``[a-z0-9]`` words separated by spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[a-z0-9]+", ascii_text))


def _match_role(text: str | None) -> Role | None:
    if not text:
        return None
    folded = _fold(text)
    for role, pattern in _ROLE_PATTERNS:
        if pattern.search(folded):
            return role
    return None


def normalise_role(value: str | None) -> str | None:
    """Return the canonical role for a ``role`` tag value.

    Known aliases (French or English, any case, with or without accents) map
    to a :class:`~topology.model.Role` value; other words are matched with the
    inference keywords; anything else is ``"other"``. ``None`` or a blank
    value gives ``None``.

    Examples
    --------
    >>> normalise_role("Routeur"), normalise_role("box"), normalise_role("Pare-feu")
    ('router', 'access', 'firewall')
    >>> normalise_role("frigo"), normalise_role("  ")
    ('other', None)
    """
    if value is None or not value.strip():
        return None
    key = _fold(value).replace(" ", "-")
    role = _ROLE_ALIASES.get(key) or _match_role(value) or Role.OTHER
    return role.value


def infer_role(host: HostInfo) -> str:
    """Return the canonical role of ``host``.

    The ``role`` tag wins; otherwise keywords are looked for in the
    inventory type, then in the visible and technical names; the default is
    ``"other"``.

    Examples
    --------
    >>> infer_role(HostInfo("1", "sw-01", "Commutateur étage"))
    'switch'
    >>> infer_role(HostInfo("2", "h2", "Caméra parvis", role="nas"))
    'nas'
    >>> infer_role(HostInfo("3", "h3", "Mystère"))
    'other'
    """
    tagged = normalise_role(host.role)
    if tagged is not None:
        return tagged
    role = (
        _match_role(host.inventory_type)
        or _match_role(host.name)
        or _match_role(host.host)
        or Role.OTHER
    )
    return role.value
