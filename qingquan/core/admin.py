"""Admin building blocks: capability-gated model admins, the read-only mixin and inline,
and the read-only audit log."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from qingquan.core import audit, services
from qingquan.core.models import AuditEvent, CalendarDay


class CapabilityAdmin(admin.ModelAdmin):
    """A model admin whose rights come from two capabilities instead of model permissions.

    Saves and deletes go through the audited reference services; model admins for records
    with their own services override `save_model` / `delete_model`.
    """

    view_capability = "admin.site"
    change_capability = "staff.manage"

    def _can(self, request: HttpRequest, capability: str) -> bool:
        from qingquan.staff.access import can

        return can(request.user, capability)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._can(request, self.view_capability)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, self.view_capability) or self._can(
            request, self.change_capability
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._can(request, self.change_capability)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, self.change_capability)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, self.change_capability)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.reference_save(actor=request.user, obj=obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.reference_delete(actor=request.user, obj=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            services.reference_delete(actor=request.user, obj=obj)


class ReadOnlyAdminMixin:
    """Put before the admin base class of a screen that only shows records written by
    services (bills, deliveries, the audit log…): nobody adds, changes or deletes them
    here, whatever their capabilities; views stay under the admin's own rules. Actions
    that call services (revoke, retry…) still work, with permissions of their own."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A tabular inline that lists a record's rows (events, lines, keys…) read-only."""

    extra = 0
    can_delete = False


# Third-party model admins (registered by their own apps) put under capabilities: the
# capability to view and to change each app's records. Their own refusals stay (an admin
# saying "no adding here" keeps saying it); Django's model permissions are not used.
THIRD_PARTY_CAPABILITIES: dict[str, tuple[str, str]] = {
    "axes": ("staff.manage", "staff.manage"),  # login lockouts: administrators unlock
    "django_tasks_database": ("tasks.view", "tasks.view"),  # background task results
}
# Third-party screens the platform does not use at all (roles are not Django groups).
UNUSED_THIRD_PARTY = ("auth.group",)


class ThirdPartyCapabilityAdmin:
    """Mixin over a third-party ModelAdmin: its rights come from capabilities, and the
    permission methods it overrides itself (e.g. read-only screens) still say no."""

    view_capability = "admin.site"
    change_capability = "staff.manage"

    def _can(self, request: HttpRequest, capability: str) -> bool:
        from qingquan.staff.access import can

        return can(request.user, capability)

    def _theirs(self, name: str, request: HttpRequest, *args: Any) -> bool:
        own = getattr(type(self).__mro__[2], name)  # the third-party class's method
        if own is getattr(admin.ModelAdmin, name):  # Django's model-permission default
            return True
        return bool(own(self, request, *args))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._can(request, self.view_capability)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, self.view_capability)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._can(request, self.change_capability) and self._theirs(
            "has_add_permission", request, *args
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, self.change_capability) and self._theirs(
            "has_change_permission", request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, self.change_capability) and self._theirs(
            "has_delete_permission", request, obj
        )


def guard_registry(site: admin.AdminSite) -> None:
    """Put every model admin of `site` that is not a `CapabilityAdmin` under capabilities
    (called once the admin modules are loaded): the capability model has no bypass."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, CapabilityAdmin | ThirdPartyCapabilityAdmin):
            continue
        label = model._meta.label_lower
        site.unregister(model)
        if label in UNUSED_THIRD_PARTY:
            continue
        if model._meta.app_label not in THIRD_PARTY_CAPABILITIES:
            raise ImproperlyConfigured(
                f"{label}: its admin is not a CapabilityAdmin and its app has no entry in "
                "core.admin.THIRD_PARTY_CAPABILITIES"
            )
        view, change = THIRD_PARTY_CAPABILITIES[model._meta.app_label]
        guarded = type(
            type(model_admin).__name__,
            (ThirdPartyCapabilityAdmin, type(model_admin)),
            {"view_capability": view, "change_capability": change, "__module__": __name__},
        )
        site.register(model, guarded)


_reader: ContextVar[Any] = ContextVar("qingquan_audit_reader", default=None)


def _snapshot_text(event: AuditEvent, values: Any) -> str:
    if values is None:
        return ""
    shown = audit.shown_snapshot(event, values, _reader.get())
    return json.dumps(shown, ensure_ascii=False, indent=1)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    """The audit log: administrators search it; nobody edits or deletes it."""

    view_capability = "audit.view"
    list_display = ["at", "what"]
    list_filter = ["actor_kind", "action", "object_type"]
    search_fields = ["action", "object_repr", "actor_label", "actor_ref", "object_id", "note"]
    date_hierarchy = "at"
    readonly_fields = [
        "at",
        "actor",
        "actor_label",
        "actor_kind",
        "actor_ref",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "before_shown",
        "after_shown",
        "note",
    ]
    fields = list(readonly_fields)

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # The snapshots' personal values are shown as this reader may see them.
        token = _reader.set(request.user)
        try:
            response = super().changeform_view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()  # while the reader is known
            return response
        finally:
            _reader.reset(token)

    @admin.display(description=AuditEvent._meta.get_field("before").verbose_name)
    def before_shown(self, obj: AuditEvent) -> str:
        return _snapshot_text(obj, obj.before)

    @admin.display(description=AuditEvent._meta.get_field("after").verbose_name)
    def after_shown(self, obj: AuditEvent) -> str:
        return _snapshot_text(obj, obj.after)

    @admin.display(description=_("What happened"))
    def what(self, obj: AuditEvent) -> str:
        from qingquan.core.audit_text import describe

        return describe(obj)


@admin.register(CalendarDay)
class CalendarDayAdmin(CapabilityAdmin):
    """The working-day calendar; edits go through `calendar_set_day`."""

    view_capability = "admin.site"
    change_capability = "calendar.manage"
    list_display = ["date", "is_working_day", "source", "note", "updated_at"]
    list_filter = ["is_working_day", "source"]
    date_hierarchy = "date"
    search_fields = ["note"]
    fields = ["date", "is_working_day", "note"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from qingquan.core.calendar import calendar_set_day

        saved = calendar_set_day(
            actor=request.user, day=obj.date, is_working_day=obj.is_working_day, note=obj.note
        )
        obj.pk = saved.pk
        obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a day would make the SLA engine treat its year as a gap; edit it instead.
        return False
