"""One page of a query's rows, newest first: the delivery log, the audit journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select

from webapp.extensions import db


@dataclass(frozen=True)
class Page:
    """One page of rows and where it stands among all of them."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_of(query: Select, order: Sequence, page: int, per_page: int, maximum: int) -> Page:
    """Rows ``page`` (from 1) of ``query`` in ``order``, ``per_page`` (1 to ``maximum``) each."""
    if page < 1 or not 1 <= per_page <= maximum:
        raise ValueError(f"page >= 1 and 1 <= per_page <= {maximum}")
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(
        query.order_by(None).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(list(rows), int(total or 0), page, per_page)
