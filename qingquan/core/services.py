"""Audited writes for reference data edited in the back office (departments, districts…).

Domain records with rules of their own (cases, bills, notices) have their own services;
these two cover plain records whose only rule is "say who changed what".
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.forms.models import model_to_dict

from qingquan.core.audit import audit_record


def _state(obj: models.Model) -> dict[str, Any]:
    return model_to_dict(obj)


@transaction.atomic
def reference_save(*, actor: Any, obj: models.Model) -> models.Model:
    """Validate and save a reference record, auditing before and after."""
    before = None
    if obj.pk is not None:
        previous = type(obj)._default_manager.filter(pk=obj.pk).first()
        before = _state(previous) if previous is not None else None
    obj.full_clean()
    obj.save()
    after = _state(obj)
    if after != before:
        action = f"{obj._meta.label_lower}.{'update' if before is not None else 'create'}"
        audit_record(actor=actor, action=action, obj=obj, before=before, after=after)
    return obj


@transaction.atomic
def reference_delete(*, actor: Any, obj: models.Model) -> None:
    """Delete a reference record, keeping its last state in the audit log."""
    audit_record(actor=actor, action=f"{obj._meta.label_lower}.delete", obj=obj, before=_state(obj))
    obj.delete()
