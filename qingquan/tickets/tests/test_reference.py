"""The kinds cache (`tickets.reference`) keeps frozen values: no caller can change what
another caller gets."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from qingquan.tickets import reference
from qingquan.tickets.models import CaseKind

pytestmark = pytest.mark.django_db


def test_the_cached_values_cannot_be_changed() -> None:
    value = reference.catalogue(check=True).by_code.value("consultation")
    assert value is not None and value.code == "consultation"
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.parent = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.row.values = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        value.row.values[0] = 0  # type: ignore[index]
    kinds: Any = reference.catalogue().by_code
    with pytest.raises(TypeError):
        kinds["consultation"] = None
    with pytest.raises(TypeError):
        kinds._kinds["consultation"] = None  # a read-only view, not the dict


def test_each_lookup_gets_its_own_instance(django_assert_num_queries: Any) -> None:
    reference.catalogue(check=True)
    with django_assert_num_queries(0):  # still a cache: no query for the kind
        first = reference.kind_by_code("consultation")
        second = reference.kind_by_code("consultation")
    assert isinstance(first, CaseKind) and isinstance(second, CaseKind)
    assert first is not second
    assert first.effective_policy() is not second.effective_policy()
    # A caller that changes its kind, its policy or its parent changes nobody else's.
    first.name = "改掉的名字"
    first.effective_policy().resolution_seconds = 1
    if first.parent is not None:
        first.parent.name = "改掉的上级"
    again = reference.kind_by_code("consultation")
    assert again is not None
    assert again.name == second.name != "改掉的名字"
    assert again.effective_policy().resolution_seconds == (
        second.effective_policy().resolution_seconds
    )
    assert str(again) == str(second)
    assert reference.catalogue().by_pk[again.pk].code == "consultation"


def test_an_instance_from_the_cache_is_the_stored_row() -> None:
    reference.catalogue(check=True)
    for code in reference.catalogue().by_code:
        cached = reference.catalogue().by_code[code]
        stored = CaseKind.objects.select_related("parent", "policy").get(code=code)
        assert cached._state.adding is False and cached.pk == stored.pk
        fields = [f.attname for f in CaseKind._meta.concrete_fields]
        assert [getattr(cached, f) for f in fields] == [getattr(stored, f) for f in fields]
        assert cached.effective_policy().pk == stored.effective_policy().pk
        assert cached.effective_priority() == stored.effective_priority()
