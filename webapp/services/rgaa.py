"""The RGAA 4.1 self-audit: read the grid in ``docs/rgaa/`` and compute the statement's figures.

The grid (``grille.csv``, written by ``scripts/rgaa_audit.py``) has one row per criterion and
audited page: ``C`` (conforme), ``NC`` (non conforme), ``NA`` (non applicable) or ``NT`` (non
vérifié). A criterion is met when it is ``C`` on at least one page and ``C`` or ``NA`` on all
of them; a criterion not verified on a page counts as not met. The rate is met criteria over
applicable ones (RGAA 4.1 method), and the status follows from it: 100 % totally compliant,
at least 50 % partially, below 50 % not compliant.
"""

from __future__ import annotations

import csv
import json
import tomllib
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from pathlib import Path

__all__ = [
    "RESULTS",
    "Audit",
    "CriterionResult",
    "compliance_status",
    "criterion_result",
    "load",
]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT / "docs" / "rgaa"

RESULTS = ("C", "NC", "NA", "NT")
TOTAL, PARTIAL, NONE = "total", "partial", "none"


@dataclass(frozen=True)
class CriterionResult:
    """One criterion over every audited page."""

    number: str
    theme: str
    title: str
    result: str  # C, NC, NA or NT
    pages: dict[str, str]  # page id -> result
    details: dict[str, str]  # page id -> what was found (NC and NT pages)


@dataclass(frozen=True)
class Audit:
    """The figures of the accessibility statement."""

    criteria: list[CriterionResult]
    pages: list[dict]  # {"id", "titre", "chemin", ...} from audit.toml
    meta: dict  # audit.toml without its pages
    environment: dict  # automatique.json's "environnement" (browser, tools, date)
    met: int = 0
    not_met: int = 0
    not_verified: int = 0
    not_applicable: int = 0
    rate: float = 0.0  # percent of applicable criteria met
    status: str = NONE
    by_theme: dict[str, list[CriterionResult]] = field(default_factory=dict)

    @property
    def applicable(self) -> int:
        return self.met + self.not_met + self.not_verified

    def with_result(self, result: str) -> list[CriterionResult]:
        return [c for c in self.criteria if c.result == result]


def criterion_result(results: list[str]) -> str:
    """A criterion's result from its results on each page."""
    if "NC" in results:
        return "NC"
    if "NT" in results:
        return "NT"
    if results and all(r == "NA" for r in results):
        return "NA"
    return "C" if results else "NT"


def compliance_status(rate: float) -> str:
    """``total`` at 100 %, ``partial`` from 50 %, ``none`` below (RGAA 4.1)."""
    if rate >= 100:
        return TOTAL
    if rate >= 50:
        return PARTIAL
    return NONE


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _sort_key(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


@lru_cache(maxsize=4)
def _load(directory: Path, _stamp: tuple) -> Audit:
    titles = {row["critere"]: row for row in _read_csv(directory / "criteres.csv")}
    meta = tomllib.loads((directory / "audit.toml").read_text(encoding="utf-8"))
    pages = meta.pop("pages", [])
    automatic = directory / "automatique.json"
    environment = {}
    if automatic.exists():
        environment = json.loads(automatic.read_text(encoding="utf-8")).get("environnement", {})
    cells: dict[str, dict[str, tuple[str, str]]] = {}
    grid = directory / "grille.csv"
    for row in _read_csv(grid) if grid.exists() else []:  # no grid yet: nothing verified
        result = row["resultat"].strip()
        if result not in RESULTS:
            raise ValueError(f"grille.csv: résultat inconnu {result!r} ({row['critere']})")
        cells.setdefault(row["critere"], {})[row["page"]] = (result, row.get("detail", ""))
    criteria = []
    for number in sorted(titles, key=_sort_key):
        per_page = cells.get(number, {})
        results = {page: result for page, (result, _detail) in per_page.items()}
        criteria.append(
            CriterionResult(
                number=number,
                theme=titles[number]["thematique"],
                title=titles[number]["titre"],
                result=criterion_result(list(results.values())),
                pages=results,
                details={
                    page: detail
                    for page, (result, detail) in per_page.items()
                    if result in ("NC", "NT")
                },
            )
        )
    counts = {r: sum(1 for c in criteria if c.result == r) for r in RESULTS}
    applicable = counts["C"] + counts["NC"] + counts["NT"]
    rate = round(100 * counts["C"] / applicable, 1) if applicable else 0.0
    by_theme: dict[str, list[CriterionResult]] = {}
    for criterion in criteria:
        by_theme.setdefault(criterion.theme, []).append(criterion)
    return Audit(
        criteria=criteria,
        pages=pages,
        meta=meta,
        environment=environment,
        met=counts["C"],
        not_met=counts["NC"],
        not_verified=counts["NT"],
        not_applicable=counts["NA"],
        rate=rate,
        status=compliance_status(rate) if applicable else NONE,
        by_theme=by_theme,
    )


def load(directory: str | Path | None = None) -> Audit:
    """The audit in ``directory`` (default ``docs/rgaa``), read again when a file changes."""
    path = Path(directory) if directory else DEFAULT_DIR
    stamp = tuple(
        (name, (path / name).stat().st_mtime_ns if (path / name).exists() else 0)
        for name in ("criteres.csv", "audit.toml", "grille.csv", "automatique.json")
    )
    return _load(path, stamp)
