"""Back-office screens for staff, organisation and roster; writes go through services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from qingquan.core.admin import CapabilityAdmin
from qingquan.staff import services
from qingquan.staff.models import Department, Shift, ShiftAssignment, Team, User
from qingquan.staff.roles import Role


class StaffCreateForm(forms.ModelForm):
    password = forms.CharField(
        label=_("initial password"), widget=forms.PasswordInput, required=True
    )

    class Meta:
        model = User
        fields = ["username", "full_name", "role", "employee_no", "extension", "department", "team"]


@admin.register(User)
class UserAdmin(CapabilityAdmin):
    view_capability = "staff.view"
    change_capability = "staff.manage"
    list_display = ["username", "full_name", "role", "department", "team", "extension", "is_active"]
    list_filter = ["role", "department", "team", "is_active"]
    search_fields = ["username", "full_name", "employee_no", "extension"]
    fields = [
        "username",
        "full_name",
        "role",
        "employee_no",
        "extension",
        "department",
        "team",
        "is_active",
        "last_login",
    ]
    readonly_fields = ["last_login"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = StaffCreateForm
            kwargs["fields"] = [*StaffCreateForm.Meta.fields, "password"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [*StaffCreateForm.Meta.fields, "password"]
        return super().get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changes = {
                name: data[name] for name in form.changed_data if name in services.PROFILE_FIELDS
            }
            fresh = services.staff_update(
                actor=request.user, user=User.objects.get(pk=obj.pk), **changes
            )
            obj.pk = fresh.pk
        else:
            created = services.staff_create(
                actor=request.user,
                username=data["username"],
                full_name=data["full_name"],
                role=Role(data["role"]),
                password=data["password"],
                department=data.get("department"),
                team=data.get("team"),
                employee_no=data.get("employee_no", ""),
                extension=data.get("extension", ""),
            )
            obj.pk = created.pk
            obj._state.adding = False


@admin.register(Department)
class DepartmentAdmin(CapabilityAdmin):
    view_capability = "staff.view"
    change_capability = "staff.manage"
    list_display = ["code", "name", "kind"]
    search_fields = ["code", "name"]


@admin.register(Team)
class TeamAdmin(CapabilityAdmin):
    view_capability = "staff.view"
    change_capability = "staff.manage"
    list_display = ["code", "name", "department", "is_crew"]
    list_filter = ["department", "is_crew"]
    search_fields = ["code", "name"]


@admin.register(Shift)
class ShiftAdmin(CapabilityAdmin):
    view_capability = "roster.view"
    change_capability = "staff.manage"
    list_display = ["shown_name", "starts", "ends"]

    @admin.display(description=_("shift"), ordering="starts")
    def shown_name(self, obj: Shift) -> str:
        return obj.label


@admin.register(ShiftAssignment)
class ShiftAssignmentAdmin(CapabilityAdmin):
    view_capability = "roster.view"
    change_capability = "roster.manage"
    list_display = ["date", "shift", "user"]
    list_filter = ["shift", "date", "user__role"]
    search_fields = ["user__full_name", "user__username"]
    date_hierarchy = "date"
    autocomplete_fields = ["user"]
    list_select_related = ["shift", "user"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            old = ShiftAssignment.objects.get(pk=obj.pk)
            services.shift_unassign(actor=request.user, assignment=old)
        created = services.shift_assign(
            actor=request.user, user=obj.user, shift=obj.shift, date=obj.date
        )
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.shift_unassign(actor=request.user, assignment=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for assignment in queryset.select_related("shift"):
            services.shift_unassign(actor=request.user, assignment=assignment)
