"""Critical customers (hospitals, schools, care homes, registered elderly or home-dialysis
customers, large industrial users): the one write that marks or unmarks one. The pipe
network's isolation plans list the critical customers a closure leaves without water."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.customers.models import CriticalKind, Customer
from qingquan.staff.access import check


@transaction.atomic
def customer_critical_set(*, actor: Any, customer: Customer, kind: str) -> Customer:
    """Mark `customer` as critical of `kind` (a `CriticalKind` value), or unmark it with
    "". Audited as a change of the customer; nothing is written when nothing changes."""
    check(actor, "customers.manage")
    kind = kind or ""
    if kind and kind not in CriticalKind.values:
        raise ValidationError(
            {"critical_kind": _("Unknown kind of critical customer: %(kind)s") % {"kind": kind}}
        )
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before = customer.critical_kind
    if before == kind:
        return customer
    customer.critical_kind = kind
    customer.updated_at = clock.now()
    customer.save(update_fields=["critical_kind", "updated_at"])
    audit_record(
        actor=actor,
        action="customers.customer.update",
        obj=customer,
        before={"critical_kind": before},
        after={"critical_kind": kind},
    )
    return customer
