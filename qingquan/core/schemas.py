"""Schemas every ninja API shares (the staff API, the partner API): paging in and out.

A list endpoint takes `PageIn` (in its query filters), answers a `PageOut` subclass that
adds `items: list[...]`, and fills it with `paged`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema

from qingquan.core import validation as vd


class PageIn(Schema):
    """Which page of a list to answer: pages of 1 to 100 items, numbered from 1."""

    page: vd.Page = 1
    page_size: int = Field(20, ge=1, le=100)


class PageOut(Schema):
    """One page of a list (a subclass adds `items`)."""

    count: int
    page: int
    page_size: int


def paged(qs: QuerySet[Any], paging: PageIn, out: Callable[[Any], Any]) -> dict[str, Any]:
    """The `PageOut` answer for the page `paging` asks of `qs`, each row turned by `out`."""
    start = (paging.page - 1) * paging.page_size
    return {
        "count": qs.count(),
        "page": paging.page,
        "page_size": paging.page_size,
        "items": [out(row) for row in qs[start : start + paging.page_size]],
    }
