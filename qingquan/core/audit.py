"""Recording state changes in the audit log.

Services call `audit_record` inside their transaction, so a change and its audit row are
written together or not at all.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from qingquan.core import actors, clock
from qingquan.core.db import fastinsert
from qingquan.core.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [_jsonable(v) for v in value]
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of `obj` as JSON-safe values (foreign keys by id)."""
    result: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        result[name] = _jsonable(getattr(obj, attname))
    return result


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
) -> AuditEvent:
    """Append one event to the audit log. `actor` is a staff user, a partner client
    (`core.actors.PartnerActor`) or the system (`SYSTEM` / `system(job)`); None is a
    TypeError. Its kind and reference are recorded with it."""
    kind, ref = actors.actor_of(actor)
    user = actors.user_of(actor)
    label = ""
    if user is not None and getattr(user, "is_authenticated", False):
        label = user.get_full_name() or user.get_username()
    else:
        user = None
    event = AuditEvent(
        at=clock.now(),
        actor=user,
        actor_label=label or ("system" if kind == actors.SYSTEM_KIND else ref),
        actor_kind=kind,
        actor_ref=ref[:150],
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=_jsonable(dict(before)) if before is not None else None,
        after=_jsonable(dict(after)) if after is not None else None,
        note=note,
    )
    # Append-only and listened to by nobody: one precompiled INSERT (core.db.fastinsert).
    return fastinsert.create(event)  # type: ignore[return-value]


# How snapshot values are shown to a reader of the log. The customers app installs its
# masking (customers.privacy.audit_snapshot_shown) when it is ready: core knows no
# personal data itself.
SnapshotShown = Any
snapshot_shown: list[SnapshotShown] = []


def shown_snapshot(event: AuditEvent, values: Any, user: Any) -> Any:
    """`values` (an event's before or after) as `user` may read them."""
    for hook in snapshot_shown:
        values = hook(event, values, user)
    return values
