"""Fixtures of the connection tests: the people, a document, an application."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum.cn import uscc

from qingquan.core.sla import SHANGHAI
from qingquan.staff.roles import Role

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
_serial = itertools.count(1)


def sh(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc,arg-type]


def a_uscc() -> str:
    """A valid unified social credit code, different each call."""
    body = f"91330203MA{next(_serial):07d}"
    return body + uscc.calc_check_digit(body)


def document(name: str = "licence.pdf", data: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Service messages in English (the pages choose their language per request)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def at() -> Iterator[Callable[[dt.datetime], dt.datetime]]:
    """Travel to an instant (time stands still until the next call)."""
    travellers: list[Any] = []

    def go(moment: dt.datetime) -> dt.datetime:
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)
        return moment

    yield go
    for traveller in travellers:
        traveller.stop()


@pytest.fixture
def people(make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "manager": make_user(Role.CUSTOMER_MANAGER),
        "manager2": make_user(Role.CUSTOMER_MANAGER),
        "engineer": make_user(Role.BACK_OFFICE),
        "supervisor": make_user(Role.SUPERVISOR),
        "agent": make_user(Role.AGENT),
        "admin": make_user(Role.ADMINISTRATOR),
    }


@pytest.fixture
def apply(people: dict[str, Any]) -> Callable[..., Any]:
    """An enterprise's application at the counter (221 unless told otherwise)."""
    from qingquan.connections import services

    def make(**overrides: Any) -> Any:
        actor = overrides.pop("actor", people["agent"])
        manager = overrides.pop("manager", people["manager"])
        fields: dict[str, Any] = {
            "applicant_kind": "enterprise",
            "applicant_name": "宁波清泉餐饮有限公司",
            "phone": "13900001111",
            "document_kind": "licence",
            "document_number": a_uscc(),
            "documents": [document()],
            "use": "business",
            "m3_per_day": "5",
            "pipe_mm": 25,
            "address": f"宁波市海曙区药行街{next(_serial)}号",
            "channel": "counter",
        }
        fields.update(overrides)
        return services.application_create(
            actor=actor, data=services.ApplicationInput(**fields), manager=manager
        )

    return make
