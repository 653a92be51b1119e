"""Case kinds and their time-limit policies, cached per process and checked per creation.

Every creation needs the kind, its parent and its policy. They change rarely (an
administrator's edit), so each process keeps them in memory with the token of
`KindsVersion` they were read at. Any save or delete of a kind or policy gives the row a
new random token in the same transaction (`bump`), and `ticket_create` reads the token
in the statement that takes the case number: a cache that is stale, whichever process
made the edit, is reloaded before the case is promised a time limit. A random token (not
a counter) cannot come back after a rollback, so a stale cache never looks current.

The cache holds frozen values (`Kind`, `Row`), never model instances: every lookup
(`catalogue().by_code[...]`, `.by_pk.get(...)`, `kind_by_code`) builds the caller a new
`CaseKind` with its parent and policy attached, so what one request changes on its kind
(or caches on it) cannot leak into another's.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from qingquan.tickets.models import CaseKind, KindsVersion, SlaPolicy


@dataclass(frozen=True)
class Row:
    """One stored row's values, frozen: what the cache keeps (never a model instance a
    caller could change for everybody)."""

    model: type[Model]
    names: tuple[str, ...]  # the model's concrete fields' attnames, in order
    values: tuple[Any, ...]

    @classmethod
    def of(cls, instance: Model) -> Row:
        fields = instance._meta.concrete_fields
        values = tuple(getattr(instance, f.attname) for f in fields)
        if not all(isinstance(v, IMMUTABLE) for v in values):
            raise TypeError(f"{instance._meta.label} has a mutable column: not cacheable")
        return cls(type(instance), tuple(f.attname for f in fields), values)

    def __getitem__(self, name: str) -> Any:
        return self.values[self.names.index(name)]

    def instance(self) -> Any:
        """A new model instance of this row (as read from the database), the caller's own."""
        return self.model.from_db(DEFAULT_DB_ALIAS, list(self.names), self.values)


IMMUTABLE = (str, int, float, bool, type(None), Decimal, dt.date, dt.time, dt.timedelta)


@dataclass(frozen=True)
class Kind:
    """A case kind as cached: its row, its policy's row and its parent, all frozen."""

    row: Row
    policy: Row | None
    parent: Kind | None

    @property
    def pk(self) -> int:
        return int(self.row["id"])

    @property
    def code(self) -> str:
        return str(self.row["code"])

    def instance(self) -> CaseKind:
        """A fresh `CaseKind` with its parent and policy attached (no queries): the
        caller's own object, which it may change without touching the cache."""
        kind: CaseKind = self.row.instance()
        kind.policy = self.policy.instance() if self.policy is not None else None
        kind.parent = self.parent.instance() if self.parent is not None else None
        return kind


class Kinds(Mapping[Any, CaseKind]):
    """Cached kinds by a key (id or code), read-only: each lookup builds the caller its
    own `CaseKind` from the frozen values (`Kind.instance`)."""

    def __init__(self, kinds: dict[Any, Kind]) -> None:
        self._kinds = MappingProxyType(kinds)

    def __getitem__(self, key: Any) -> CaseKind:
        return self._kinds[key].instance()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def value(self, key: Any) -> Kind | None:
        """The frozen cached value itself (no model instance built)."""
        return self._kinds.get(key)


@dataclass(frozen=True)
class Catalogue:
    """Kinds by id and code, each with its parent and policy (no queries), as frozen
    values; a lookup hands out a new `CaseKind` every time."""

    token: str | None
    by_pk: Kinds = field(default_factory=lambda: Kinds({}))
    by_code: Kinds = field(default_factory=lambda: Kinds({}))


_lock = threading.Lock()
_current: list[Catalogue] = []


def _load(token: str | None) -> Catalogue:
    policies = {p.pk: Row.of(p) for p in SlaPolicy.objects.all()}
    rows = {k.pk: k for k in CaseKind.objects.all()}
    kinds: dict[int, Kind] = {}

    def frozen(pk: int) -> Kind:  # parents first (one level deep, any depth works)
        if pk not in kinds:
            row = rows[pk]
            parent = frozen(row.parent_id) if row.parent_id in rows else None
            policy = policies.get(row.policy_id) if row.policy_id else None
            kinds[pk] = Kind(row=Row.of(row), policy=policy, parent=parent)
        return kinds[pk]

    for pk in rows:
        frozen(pk)
    return Catalogue(
        token=token, by_pk=Kinds(kinds), by_code=Kinds({k.code: k for k in kinds.values()})
    )


def current_token() -> str | None:
    return KindsVersion.objects.filter(pk=1).values_list("token", flat=True).first()


def catalogue(token: str | None = None, *, check: bool = False) -> Catalogue:
    """The cached kinds. `token` is the version read from the database (reloaded when it
    differs); without one the cache serves as a hint, or `check` reads the token first."""
    with _lock:
        cached = _current[0] if _current else None
    if cached is not None and not check and (token is None or cached.token == token):
        return cached
    if token is None:
        token = current_token()
    if cached is not None and token is not None and cached.token == token:
        return cached
    fresh = _load(token)
    with _lock:
        _current[:] = [fresh] if token is not None else []
    return fresh


def kind_by_code(code: str) -> CaseKind | None:
    """The kind `code` for a request (possibly cached: `ticket_create` re-checks it)."""
    kind = catalogue().by_code.get(code)  # the caller's own instance
    if kind is None:  # perhaps created in another process since the cache was filled
        kind = catalogue(check=True).by_code.get(code)
    return kind


def bump() -> None:
    """Give the version row a new token (inside the editing transaction)."""
    token = uuid.uuid4().hex
    if not KindsVersion.objects.filter(pk=1).update(token=token):
        KindsVersion.objects.update_or_create(pk=1, defaults={"token": token})
    forget()
    transaction.on_commit(forget)


def forget() -> None:
    with _lock:
        _current.clear()


@receiver(post_save, sender=CaseKind, dispatch_uid="tickets.kinds_changed_save")
@receiver(post_delete, sender=CaseKind, dispatch_uid="tickets.kinds_changed_delete")
@receiver(post_save, sender=SlaPolicy, dispatch_uid="tickets.policies_changed_save")
@receiver(post_delete, sender=SlaPolicy, dispatch_uid="tickets.policies_changed_delete")
def _changed(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    bump()
