"""A django-ninja API whose OpenAPI schema is built once per process, path prefix and
language: the schema changes only with the code, and building it took 5–8 s at a
process's first request on a slow machine (2 s at every request after), which the docs
pages and every client reading the schema waited for."""

from __future__ import annotations

import threading
from typing import Any

from django.utils.translation import get_language
from ninja import NinjaAPI


class SchemaCachedApi(NinjaAPI):
    """NinjaAPI with its OpenAPI schema kept per (prefix, path parameters, language)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[Any, Any] = {}
        self._schemas_lock = threading.Lock()

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        key = (path_prefix, tuple(sorted((path_params or {}).items())), get_language())
        schema = self._schemas.get(key)
        if schema is None:
            # Built outside the lock: two first requests may both build it, which is
            # harmless; holding a lock across a 5-s build would queue every reader.
            schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
            with self._schemas_lock:
                self._schemas[key] = schema
        return schema

    def forget_schemas(self) -> None:
        """Drop the kept schemas (tests that count builds)."""
        with self._schemas_lock:
            self._schemas.clear()
