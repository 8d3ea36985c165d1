"""Text made to fit one SMS: the GSM 03.38 7-bit alphabet, 160 septets.

One character outside the GSM-7 alphabet (a French « ê », « œ », a typographic
apostrophe) makes the whole SMS UCS-2, 70 characters long, and a French alert then
costs two or three SMS. :func:`to_gsm7` transliterates such characters instead
(``ê`` → ``e``, ``œ`` → ``oe``, ``«`` → ``"``); the accents GSM-7 has (é è à ù ì ò É Ç)
stay. The extension table (``€ [ ] { } \\ ^ ~ |`` and form feed) costs two septets a
character (escape + code). :func:`fit` does both and cuts cleanly with ``...``.

Examples
--------
>>> to_gsm7("Coupure réseau à l’école « Jean-Moulin » — fenêtre")
'Coupure réseau à l\\'école "Jean-Moulin" - fenetre'
>>> septets("10 €")
5
>>> fit("a" * 200)[-3:], septets(fit("a" * 200))
('...', 160)
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "BASIC",
    "EXTENSION",
    "SMS_SEPTETS",
    "fit",
    "is_gsm7",
    "septets",
    "to_gsm7",
]

SMS_SEPTETS = 160  # one single-part SMS
ELLIPSIS = "..."

# GSM 03.38 default alphabet (3GPP TS 23.038 § 6.2.1), in code order; ESC (0x1B) left out.
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ"
    "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Its extension table: each of these is sent as ESC + one code, two septets.
EXTENSION = frozenset("\f^{}\\[~]|€")

# What we write instead of characters GSM-7 lacks. Letters with an accent GSM-7 does
# not have lose it through Unicode decomposition (ê → e, Ô → O) in _fallback(); this
# table is for what decomposition does not give, or gives wrong.
_REPLACE = {
    # letters
    "œ": "oe",
    "Œ": "OE",
    "ç": "c",  # GSM-7 has Ç but no ç: a lower-case c reads better than a capital
    "ß": "ss",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "TH",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    # quotes and apostrophes
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "‹": "'",
    "›": "'",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "″": '"',
    "`": "'",
    "´": "'",
    # dashes, dots, spaces
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "−": "-",
    "―": "-",
    "…": "...",
    "·": ".",
    "•": "-",
    "\u00a0": " ",  # no-break space (French typography before : ; ! ?)
    "\u202f": " ",  # narrow no-break space
    "\u2009": " ",
    "\u2007": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\t": " ",
    "\u200b": "",  # zero-width space
    "\u00ad": "",  # soft hyphen
    "\ufeff": "",
    # symbols
    "°": "o",
    "×": "x",
    "÷": "/",
    "±": "+/-",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "→": "->",
    "←": "<-",
    "⇒": "=>",
    "©": "(c)",
    "®": "(R)",
    "™": "TM",
    "²": "2",
    "³": "3",
    "¹": "1",
    "½": "1/2",
    "¼": "1/4",
    "¾": "3/4",
    "‰": "o/oo",
    "¢": "c",
}
_UNKNOWN = "?"
# French guillemets hold their words between (no-break) spaces: « école » -> "école".
_GUILLEMETS = re.compile(r"«\s*|\s*»")


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM-7 alphabet or its extension."""
    return all(char in BASIC or char in EXTENSION for char in text)


def septets(text: str) -> int:
    """Length of ``text`` in GSM-7 septets (extension characters count two).

    Raises :class:`ValueError` if ``text`` has a character GSM-7 cannot carry.
    """
    total = 0
    for char in text:
        if char in BASIC:
            total += 1
        elif char in EXTENSION:
            total += 2
        else:
            raise ValueError(f"not a GSM-7 character: {char!r}")
    return total


def _fallback(char: str) -> str:
    if char in _REPLACE:
        return _REPLACE[char]
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and base != char and is_gsm7(base):
        return base
    if base and base != char:  # e.g. a compatibility form that is itself not GSM-7
        return "".join(c if is_gsm7(c) else _REPLACE.get(c, _UNKNOWN) for c in base)
    if unicodedata.category(char).startswith(("C", "Z")):  # controls, odd spaces
        return " " if unicodedata.category(char).startswith("Z") else ""
    return _UNKNOWN


def to_gsm7(text: str) -> str:
    """``text`` with every character GSM-7 lacks replaced by its closest GSM-7 form."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    text = _GUILLEMETS.sub('"', text)
    return "".join(char if char in BASIC or char in EXTENSION else _fallback(char) for char in text)


def fit(text: str, limit: int = SMS_SEPTETS) -> str:
    """``text`` in GSM-7, cut to ``limit`` septets (one SMS) with ``...`` if it is longer.

    Runs of spaces are squeezed first; the cut falls on a word boundary when one is
    near, and never splits an extension character's two septets.
    """
    gsm = to_gsm7(text)
    lines = [" ".join(line.split()) for line in gsm.split("\n")]
    gsm = "\n".join(line for line in lines if line).strip()
    if septets(gsm) <= limit:
        return gsm
    budget = limit - len(ELLIPSIS)
    cut, used = 0, 0
    for index, char in enumerate(gsm):
        cost = 2 if char in EXTENSION else 1
        if used + cost > budget:
            break
        used += cost
        cut = index + 1
    head = gsm[:cut]
    boundary = max(head.rfind(" "), head.rfind("\n"))
    if boundary >= max(1, cut - 20):  # a word boundary within the last 20 characters
        head = head[:boundary]
    head = head.rstrip(" \n,;:-.")
    return head + ELLIPSIS
