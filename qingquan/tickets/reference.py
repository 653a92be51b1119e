"""Case kinds and their time-limit policies, cached per process and checked per creation.

Every creation needs the kind, its parent and its policy. They change rarely (an
administrator's edit), so each process keeps them in memory with the token of
`KindsVersion` they were read at. Any save or delete of a kind or policy gives the row a
new random token in the same transaction (`bump`), and `ticket_create` reads the token
in the statement that takes the case number: a cache that is stale, whichever process
made the edit, is reloaded before the case is promised a time limit. A random token (not
a counter) cannot come back after a rollback, so a stale cache never looks current.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from qingquan.tickets.models import CaseKind, KindsVersion, SlaPolicy


@dataclass(frozen=True)
class Catalogue:
    """Kinds by id and code, each with its parent and policy attached (no queries)."""

    token: str | None
    by_pk: dict[int, CaseKind] = field(default_factory=dict)
    by_code: dict[str, CaseKind] = field(default_factory=dict)


_lock = threading.Lock()
_current: list[Catalogue] = []


def _load(token: str | None) -> Catalogue:
    policies = {p.pk: p for p in SlaPolicy.objects.all()}
    kinds = list(CaseKind.objects.all())
    by_pk = {k.pk: k for k in kinds}
    for kind in kinds:
        kind.policy = policies.get(kind.policy_id) if kind.policy_id else None
        kind.parent = by_pk.get(kind.parent_id) if kind.parent_id else None
    return Catalogue(token=token, by_pk=by_pk, by_code={k.code: k for k in kinds})


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
    kind = catalogue().by_code.get(code)  # read-only: never save these shared instances
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
