"""django-ninja names an OpenAPI component after its schema class and keeps only one class
per name: two apps that each define `ErrorOut` for the staff API silently publish one of
them for both. Every schema class reachable from the staff API has a name of its own."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ninja import Schema


def _models_of(api: Any) -> set[type]:
    found: set[type] = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in (operation.response_models or {}).values():
                    found.add(model)
                for model in getattr(operation, "models", []) or []:
                    found.add(model)
    return found


def _schemas_below(model: Any, seen: set[type]) -> None:
    if not isinstance(model, type) or model in seen:
        return
    seen.add(model)
    for field in getattr(model, "model_fields", {}).values():
        for arg in _types_in(field.annotation):
            _schemas_below(arg, seen)


def _types_in(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", None)
    if not args:
        return [annotation]
    found: list[Any] = []
    for arg in args:
        found.extend(_types_in(arg))
    return found


def test_staff_api_schema_names_are_unique() -> None:
    from qingquan.api import api

    seen: set[type] = set()
    for model in _models_of(api):
        _schemas_below(model, seen)
    by_name: dict[str, set[str]] = defaultdict(set)
    for model in seen:
        if issubclass(model, Schema) and model.__module__.startswith("qingquan."):
            by_name[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
    assert len(by_name) > 50  # the walk reached the apps' schemas
    clashes = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert clashes == {}
