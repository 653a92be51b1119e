"""Every write of new connections (callers import from here)."""

from qingquan.connections.services.base import NotOwner, Refused, Stale, refresh_clock
from qingquan.connections.services.fees import (
    contract_acknowledge,
    contract_pdf,
    fee_item_save,
    fee_payment_notified,
    fee_refusal,
    quote_issue,
)
from qingquan.connections.services.intake import (
    ApplicationInput,
    application_create,
    document_check,
    document_number_check,
    eligibility,
)
from qingquan.connections.services.managers import (
    manager_call_record,
    manager_calls_schedule,
    manager_change,
)
from qingquan.connections.services.realestate import ProjectInput, ready_record
from qingquan.connections.services.steps import (
    application_cancel,
    current_step,
    pause_end,
    pause_start,
    step_complete,
)
from qingquan.connections.services.sweep import clock_sweep

__all__ = [
    "ApplicationInput",
    "NotOwner",
    "ProjectInput",
    "Refused",
    "Stale",
    "application_cancel",
    "application_create",
    "clock_sweep",
    "contract_acknowledge",
    "contract_pdf",
    "current_step",
    "document_check",
    "document_number_check",
    "eligibility",
    "fee_item_save",
    "fee_payment_notified",
    "fee_refusal",
    "manager_call_record",
    "manager_calls_schedule",
    "manager_change",
    "pause_end",
    "pause_start",
    "quote_issue",
    "ready_record",
    "refresh_clock",
    "step_complete",
]
