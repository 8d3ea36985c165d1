"""Ecoindex score of a page from its DOM size, request count and size in kB.

Uses the ``ecoindex-compute`` package (PyPI, module ``ecoindex.compute``) when it
is installed, otherwise the same published formula with the same quantiles,
below. Reference: http://www.ecoindex.fr/comment-ca-marche/ and
github.com/cnumr/ecoindex_python_fullstack (``ecoindex/compute/ecoindex.py``,
``ecoindex/data/quantiles.py``): each value is placed between two of its 20
quantiles of the HTTP Archive (a linear position 0..20), then
``score = 100 - 5 * (3*q_dom + 2*q_req + q_size) / 6``, rounded.
The reference scraper counts elements outside SVG (``*`` minus ``svg *``) and
the transferred size in kB of 1000 bytes.
"""

from __future__ import annotations

import asyncio
import warnings

# Quantiles and grade thresholds of ecoindex-compute 5.x (ecoindex/data/*.py).
QUANTILES_DOM = (
    0,
    47,
    75,
    159,
    233,
    298,
    358,
    417,
    476,
    537,
    603,
    674,
    753,
    843,
    949,
    1076,
    1237,
    1459,
    1801,
    2479,
    594601,
)
QUANTILES_REQ = (
    0,
    2,
    15,
    25,
    34,
    42,
    49,
    56,
    63,
    70,
    78,
    86,
    95,
    105,
    117,
    130,
    147,
    170,
    205,
    281,
    3920,
)
QUANTILES_SIZE = (
    0,
    1.37,
    144.7,
    319.53,
    479.46,
    631.97,
    783.38,
    937.91,
    1098.62,
    1265.47,
    1448.32,
    1648.27,
    1876.08,
    2142.06,
    2465.37,
    2866.31,
    3401.59,
    4155.73,
    5400.08,
    8037.54,
    223212.26,
)
GRADES = (("A", 80), ("B", 70), ("C", 55), ("D", 40), ("E", 25), ("F", 10))


def _quantile(quantiles, value: float) -> float:
    for i in range(1, len(quantiles)):
        if value < quantiles[i]:
            return i - 1 + (value - quantiles[i - 1]) / (quantiles[i] - quantiles[i - 1])
    return len(quantiles) - 1


def _formula(dom: int, requests: int, size_kb: float) -> tuple[float, str]:
    q_dom = _quantile(QUANTILES_DOM, dom)
    q_req = _quantile(QUANTILES_REQ, requests)
    q_size = _quantile(QUANTILES_SIZE, size_kb)
    score = round(100 - 5 * (3 * q_dom + 2 * q_req + q_size) / 6)
    grade = next((g for g, floor in GRADES if score > floor), "G")
    return score, grade


def implementation() -> str:
    try:
        from importlib.metadata import version

        from ecoindex.compute import compute_ecoindex  # noqa: F401
    except ImportError:
        return "formula in bench/ecoindex_score.py (ecoindex-compute not installed)"
    return f"ecoindex-compute {version('ecoindex-compute')}"


def score(dom: int, requests: int, size_kb: float) -> dict:
    """``{"score", "grade", "dom", "requests", "size_kb"}``."""
    try:
        from ecoindex.compute import compute_ecoindex
    except ImportError:
        value, grade = _formula(dom, requests, size_kb)
    else:
        with warnings.catch_warnings():  # it calls its own deprecated get_ecoindex
            warnings.simplefilter("ignore")
            result = asyncio.run(compute_ecoindex(nodes=dom, size=size_kb, requests=requests))
        value, grade = result.score, str(getattr(result.grade, "value", result.grade))
    return {
        "score": value,
        "grade": grade,
        "dom": dom,
        "requests": requests,
        "size_kb": round(size_kb, 1),
    }
