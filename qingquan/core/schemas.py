"""Schemas every ninja API shares (the staff API, the partner API): paging in and out,
and schemas made from a selector's view.

A list endpoint takes `PageIn` (in its query filters), answers a `PageOut` subclass that
adds `items: list[...]`, and fills it with `paged`. An endpoint answering a selector's
dataclass view declares its schema with `schema_of(View, "NameOut")`, so the fields are
written once."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import create_model

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


def schema_of(view: type, name: str, **nested: Any) -> type[Schema]:
    """The schema `name` (its name in the OpenAPI document) answering the dataclass `view`
    field for field, every field required (a selector fills them all); `nested` gives the
    schema of fields that hold other views, or lists of them (`bills=BillSummaryOut`)."""
    hints = typing.get_type_hints(view)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(view):
        hint = hints[f.name]
        if f.name in nested:
            schema = nested[f.name]
            hint = list[schema] if typing.get_origin(hint) is list else schema  # type: ignore[valid-type]
        fields[f.name] = (hint, ...)
    return create_model(name, __base__=Schema, __module__=view.__module__, **fields)
