"""The staff API's OpenAPI schema is built once per process and language (it changes only
with the code; building it took seconds, which the docs page and every client that reads
the schema waited for)."""

from __future__ import annotations

from typing import Any

import ninja.main
import pytest
from django.test import Client

from qingquan.api import api


@pytest.mark.django_db
def test_the_schema_is_built_once_per_language(supervisor: Any, monkeypatch: Any) -> None:
    built: list[str] = []
    real = ninja.main.get_schema

    def counting(**kwargs: Any) -> Any:
        built.append(kwargs["path_prefix"])
        return real(**kwargs)

    monkeypatch.setattr(ninja.main, "get_schema", counting)
    api.__dict__.pop("_schemas", None)
    client = Client()
    client.force_login(supervisor)

    client.cookies["django_language"] = "en"
    english = [client.get("/api/v1/openapi.json") for _ in "ab"]
    client.cookies["django_language"] = "zh-hans"
    chinese = [client.get("/api/v1/openapi.json") for _ in "ab"]

    assert [r.status_code for r in english + chinese] == [200] * 4
    assert len(built) == 2
    assert english[0].content == english[1].content
    assert chinese[0].content == chinese[1].content
    text = chinese[1].json()["components"]["schemas"]["ClockOut"]["properties"]
    assert "剩余" in text["remaining_text"]["description"]
