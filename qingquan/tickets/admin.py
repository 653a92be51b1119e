"""Back-office screens for cases: kinds and policies are edited here; cases are only
moved through their services (admin actions), never saved directly."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from qingquan.core.admin import CapabilityAdmin, ReadOnlyAdminMixin, ReadOnlyInline
from qingquan.customers.privacy import Kind, PersonalFieldsAdmin
from qingquan.tickets import services
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import (
    CaseKind,
    Contact,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketExtension,
    TicketPause,
)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(CapabilityAdmin):
    """Time-limit policies (服务承诺); edits apply to cases received afterwards."""

    change_capability = "tickets.configure"
    list_display = [
        "code",
        "name",
        "clock_kind",
        "schedule",
        "resolution_seconds",
        "arrival_seconds",
        "restoration_seconds",
        "warn_fraction",
    ]
    list_filter = ["clock_kind"]
    search_fields = ["code", "name"]


@admin.register(CaseKind)
class CaseKindAdmin(CapabilityAdmin):
    change_capability = "tickets.configure"
    list_display = [
        "code",
        "name",
        "parent",
        "default_priority",
        "department_kind",
        "department",
        "policy",
        "position",
        "is_active",
    ]
    list_filter = ["parent", "is_active", "department_kind"]
    search_fields = ["code", "name"]
    list_select_related = ["parent", "department", "policy"]


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["at", "actor", "action", "from_state", "to_state", "note", "visibility"]
    readonly_fields = ["at", "actor", "action", "from_state", "to_state", "note", "visibility"]


class PauseInline(ReadOnlyInline):
    model = TicketPause
    fields = ["reason", "note", "started_at", "ended_at", "started_by", "ended_by"]
    readonly_fields = ["reason", "note", "started_at", "ended_at", "started_by", "ended_by"]


class ExtensionInline(ReadOnlyInline):
    model = TicketExtension
    fields = ["seconds", "reason", "status", "requested_by", "requested_at", "decided_by"]
    readonly_fields = ["seconds", "reason", "status", "requested_by", "requested_at", "decided_by"]


def _run(request: HttpRequest, queryset: QuerySet[Ticket], call: Any, done: Any) -> None:
    ok = 0
    for ticket in queryset:
        try:
            call(ticket)
        except TicketError as error:
            messages.error(request, f"{ticket.number}: {error.message}")
        else:
            ok += 1
    if ok:
        messages.success(request, done % {"n": ok})


@admin.register(Ticket)
class TicketAdmin(PersonalFieldsAdmin, CapabilityAdmin):
    """Cases, read-only; the actions call the workflow services."""

    personal_fields = {"caller_name": Kind.NAME, "caller_phone": Kind.PHONE}

    view_capability = "tickets.view_all"
    change_capability = "tickets.supervise"
    list_display = [
        "number",
        "subject",
        "kind",
        "channel",
        "state",
        "owner",
        "department",
        "resolution_deadline",
        "sla_state",
        "calendar_gap",
    ]
    list_filter = ["state", "sla_state", "channel", "calendar_gap", "kind__parent"]
    search_fields = ["number", "subject", "caller_phone", "address"]
    date_hierarchy = "created_at"
    list_select_related = ["kind", "kind__parent", "owner", "department"]
    inlines = [EventInline, PauseInline, ExtensionInline]
    actions = ["escalate", "refresh_clock"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Ticket._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Every field is read-only; a case changes only through its services.
        return None

    @admin.action(description=_("Escalate (督办) the selected cases"))
    def escalate(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        _run(
            request,
            queryset,
            lambda t: services.ticket_escalate(
                actor=request.user,
                ticket=t,
                version=t.version,
                note=str(_("Escalated from the back office")),
            ),
            _("%(n)d case(s) escalated."),
        )

    @admin.action(description=_("Recompute the time limit of the selected cases"))
    def refresh_clock(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        _run(
            request,
            queryset,
            lambda t: services.ticket_refresh_clock(ticket=t),
            _("%(n)d case(s) recomputed."),
        )


@admin.register(Contact)
class ContactAdmin(PersonalFieldsAdmin, ReadOnlyAdminMixin, CapabilityAdmin):
    personal_fields = {"from_address": Kind.PHONE}
    view_capability = "tickets.view_all"
    change_capability = "tickets.configure"
    list_display = ["started_at", "channel", "from_address", "agent", "duration_seconds"]
    list_filter = ["channel"]
    search_fields = ["from_address", "recording_ref"]
    date_hierarchy = "started_at"
    raw_id_fields = ["agent", "customer", "tickets"]
