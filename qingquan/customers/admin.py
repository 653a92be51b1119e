"""Back-office screens for the customer registry and bills; every save goes through a
service. Bills, payments and invoices are never edited: they are issued, reversed or
voided by services, so their screens are read-only apart from the actions shown."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from qingquan.core.admin import CapabilityAdmin, ReadOnlyAdminMixin, ReadOnlyInline
from qingquan.core.services import reference_delete, reference_save
from qingquan.customers import services
from qingquan.customers.critical import customer_critical_set
from qingquan.customers.models import (
    Account,
    Bill,
    BillLine,
    Customer,
    CustomerPhone,
    Disclosure,
    Invoice,
    Meter,
    MeterReading,
    PaperInvoiceRequest,
    Payment,
    Premise,
    Tariff,
    TariffTier,
)
from qingquan.customers.privacy import Kind, PersonalFieldsAdmin


def _adopt(obj: Any, saved: Any) -> None:
    """Point the admin's unsaved object at what the service saved."""
    obj.pk = saved.pk
    obj._state.adding = False


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=200)


class ClearFlagForm(forms.Form):
    note = forms.CharField(label=_("note"), max_length=200)


class ReplaceMeterForm(forms.Form):
    replaced_on = forms.DateField(label=_("replaced on"))
    final_reading = forms.DecimalField(label=_("final reading"), max_digits=12, decimal_places=3)
    new_serial = forms.CharField(label=_("new meter's serial number"), max_length=30)
    new_size_mm = forms.IntegerField(label=_("new meter's size (mm)"), required=False)
    new_initial_reading = forms.DecimalField(
        label=_("new meter's initial reading"), max_digits=12, decimal_places=3, initial=0
    )


def _action_form(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    form_class: type[forms.Form],
    apply: Callable[[Any, dict[str, Any]], Any],
) -> TemplateResponse | None:
    """An admin action that first asks for what the service needs (a reason, a reading),
    then calls it for each selected record; a refusal is shown per record."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            done = 0
            for obj in queryset:
                try:
                    apply(obj, form.cleaned_data)
                    done += 1
                except ValidationError as exc:
                    model_admin.message_user(
                        request, f"{obj}: {' '.join(exc.messages)}", messages.WARNING
                    )
            model_admin.message_user(request, _("%(n)d record(s) done.") % {"n": done})
            return None
    else:
        form = form_class()
    return TemplateResponse(
        request,
        "admin/customers/action_form.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": _("Confirm"),
            "form": form,
            "objects": list(queryset),
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "opts": model_admin.model._meta,
        },
    )


class PhoneInline(PersonalFieldsAdmin, ReadOnlyInline):
    model = CustomerPhone
    personal_fields = {"number": Kind.PHONE}
    fields = ["number", "label", "is_primary"]


class AccountInline(ReadOnlyInline):
    model = Account
    fields = ["number", "premise", "kind", "status"]
    show_change_link = True


class ServiceAdmin(CapabilityAdmin):
    """A model admin whose form also runs its service in a rolled-back savepoint, so a
    rule only the service knows (one meter per account, no overpayment…) comes back as a
    form error instead of a server error."""

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceCheckedForm(form_class):  # type: ignore[misc, valid-type]
            def _post_clean(self) -> None:
                super()._post_clean()
                if self.errors:
                    return
                trial = copy.copy(self.instance)
                trial._state = copy.copy(self.instance._state)
                savepoint = transaction.savepoint()
                try:
                    model_admin.save_model(request, trial, self, change)
                except ValidationError as exc:
                    self.add_error(None, exc.messages)
                finally:
                    transaction.savepoint_rollback(savepoint)

        return ServiceCheckedForm


class RegistryAdmin(ServiceAdmin):
    view_capability = "customers.view"
    change_capability = "customers.manage"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Registry records carry bills and history; they are closed, never deleted.
        return False


@admin.register(Customer)
class CustomerAdmin(PersonalFieldsAdmin, RegistryAdmin):
    personal_fields = {"name": Kind.NAME, "id_number": Kind.ID_NUMBER}
    list_display = ["name", "kind", "uscc", "elderly_or_impaired", "sensitive", "created_at"]
    list_filter = ["kind", "elderly_or_impaired", "sensitive", "critical_kind"]
    search_fields = [
        "name",
        "=uscc",
        "=phones__national_digits",
        "=accounts__number",
        "=legacy_ref",
    ]
    fields = [
        "kind",
        "name",
        "uscc",
        "id_number",
        "elderly_or_impaired",
        "sensitive",
        "critical_kind",
        "note",
        "legacy_ref",
    ]
    inlines = [PhoneInline, AccountInline]
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {k: v for k, v in form.cleaned_data.items() if k in services.CUSTOMER_FIELDS}
        if change:
            saved = services.customer_update(
                actor=request.user, customer=Customer.objects.get(pk=obj.pk), **data
            )
        else:
            saved = services.customer_create(actor=request.user, **data)
        kind = form.cleaned_data.get("critical_kind", "")
        saved = customer_critical_set(actor=request.user, customer=saved, kind=kind)
        _adopt(obj, saved)


@admin.register(CustomerPhone)
class CustomerPhoneAdmin(PersonalFieldsAdmin, RegistryAdmin):
    personal_fields = {"number": Kind.PHONE}
    list_display = ["number", "customer", "label", "is_primary"]
    list_filter = ["label"]
    search_fields = ["=national_digits", "=number", "customer__name"]
    fields = ["customer", "number", "label", "is_primary"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, self.change_capability)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = services.phone_add(
            actor=request.user,
            customer=obj.customer,
            number=obj.number,
            label=obj.label,
            is_primary=obj.is_primary,
        )
        _adopt(obj, saved)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.phone_remove(actor=request.user, phone=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for phone in queryset:
            services.phone_remove(actor=request.user, phone=phone)


@admin.register(Premise)
class PremiseAdmin(RegistryAdmin):
    list_display = ["address", "district", "latitude", "longitude", "network_node"]
    list_filter = ["district"]
    search_fields = ["address", "=network_node"]
    fields = list(services.PREMISE_FIELDS)
    raw_id_fields = ["street", "community"]
    list_select_related = ["district"]
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in services.PREMISE_FIELDS}
        if change:
            saved = services.premise_update(
                actor=request.user, premise=Premise.objects.get(pk=obj.pk), **data
            )
        else:
            saved = services.premise_create(actor=request.user, **data)
        _adopt(obj, saved)


@admin.register(Account)
class AccountAdmin(RegistryAdmin):
    list_display = ["number", "customer", "premise", "kind", "tariff", "status"]
    list_filter = ["kind", "status", "tariff", "premise__district"]
    search_fields = ["=number", "customer__name", "premise__address"]
    fields = [*services.ACCOUNT_FIELDS, "opened_on"]
    raw_id_fields = ["customer", "premise"]
    list_select_related = ["customer", "premise", "tariff"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["number", "opened_on"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = {k: v for k, v in form.cleaned_data.items() if k in services.ACCOUNT_FIELDS}
        if change:
            data.pop("number", None)
            saved = services.account_update(
                actor=request.user, account=Account.objects.get(pk=obj.pk), **data
            )
        else:
            data.pop("status", None)
            saved = services.account_create(
                actor=request.user, opened_on=form.cleaned_data.get("opened_on"), **data
            )
        _adopt(obj, saved)


@admin.register(Meter)
class MeterAdmin(RegistryAdmin):
    list_display = ["serial", "account", "size_mm", "installed_on", "removed_on"]
    list_filter = ["size_mm", "removed_on"]
    search_fields = ["=serial", "=account__number"]
    fields = ["account", "serial", "size_mm", "installed_on", "initial_reading", "removed_on"]
    readonly_fields = ["removed_on"]
    raw_id_fields = ["account"]
    list_select_related = ["account"]

    actions = ["replace"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Replacing a meter needs its final reading: the "replace" action (meter_replace).
        return obj is None and super().has_change_permission(request, obj)

    def has_replace_permission(self, request: HttpRequest) -> bool:
        return self._can(request, self.change_capability)

    @admin.action(description=_("Replace the selected meter"), permissions=["replace"])
    def replace(self, request: HttpRequest, queryset: QuerySet[Meter]) -> TemplateResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one meter to replace."), messages.ERROR)
            return None
        return _action_form(
            self,
            request,
            queryset,
            ReplaceMeterForm,
            lambda meter, data: services.meter_replace(
                actor=request.user,
                meter=meter,
                final_reading=data["final_reading"],
                replaced_on=data["replaced_on"],
                new_serial=data["new_serial"],
                new_size_mm=data["new_size_mm"],
                new_initial_reading=data["new_initial_reading"],
            ),
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = services.meter_create(
            actor=request.user,
            account=obj.account,
            serial=obj.serial,
            installed_on=obj.installed_on,
            size_mm=obj.size_mm,
            initial_reading=obj.initial_reading,
        )
        _adopt(obj, saved)


@admin.register(MeterReading)
class MeterReadingAdmin(ServiceAdmin):
    view_capability = "customers.view"
    change_capability = "billing.manage"
    list_display = ["meter", "read_on", "value", "source", "flagged", "flag_reason"]
    list_filter = ["flagged", "source", "read_on"]
    search_fields = ["=meter__serial", "=meter__account__number"]
    fields = ["meter", "read_on", "value", "source"]
    raw_id_fields = ["meter"]
    list_select_related = ["meter"]
    show_full_result_count = False
    actions = ["clear_flag"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_clear_flag_permission(self, request: HttpRequest) -> bool:
        return self._can(request, self.change_capability)

    @admin.action(
        description=_("Confirm the selected flagged readings"), permissions=["clear_flag"]
    )
    def clear_flag(
        self, request: HttpRequest, queryset: QuerySet[MeterReading]
    ) -> TemplateResponse | None:
        return _action_form(
            self,
            request,
            queryset.filter(flagged=True),
            ClearFlagForm,
            lambda reading, data: services.reading_clear_flag(
                actor=request.user, reading=reading, note=data["note"]
            ),
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            saved = services.reading_record(
                actor=request.user,
                meter=obj.meter,
                read_on=obj.read_on,
                value=obj.value,
                source=obj.source,
            )
        except services.ReadingFlagged as flagged:
            messages.warning(request, flagged.messages[0])
            saved = flagged.reading
        _adopt(obj, saved)


class TariffTierInline(admin.TabularInline):
    model = TariffTier
    extra = 0


@admin.register(Tariff)
class TariffAdmin(CapabilityAdmin):
    view_capability = "customers.view"
    change_capability = "billing.manage"
    list_display = ["code", "name", "kind", "base_household_size"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    inlines = [TariffTierInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Tier prices are reference data: audited one row at a time like the tariff.
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            reference_delete(actor=request.user, obj=obj)
        for obj in instances:
            reference_save(actor=request.user, obj=obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BillLineInline(ReadOnlyInline):
    model = BillLine
    fields = readonly_fields = ("kind", "tier", "start", "end", "volume", "unit_price", "amount")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fk_name = "bill"
    fields = readonly_fields = ("paid_at", "amount", "channel", "reference", "reverses", "reason")


@admin.register(Bill)
class BillAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    """Bills come from readings through `bill_issue`; their screen is read-only."""

    view_capability = "customers.view"
    change_capability = "billing.manage"
    list_display = ["account", "period_start", "period_end", "volume", "total", "status"]
    list_filter = ["status", "tier_reached", "period_end"]
    search_fields = ["=account__number"]
    date_hierarchy = "period_end"
    inlines = [BillLineInline, PaymentInline]
    list_select_related = ["account"]
    readonly_fields = [f.name for f in Bill._meta.fields]
    actions = ["issue_invoices"]
    show_full_result_count = False

    def has_issue_invoices_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "billing.manage")

    @admin.action(description=_("Issue e-invoices for the selected paid bills"),
                  permissions=["issue_invoices"])  # fmt: skip
    def issue_invoices(self, request: HttpRequest, queryset: QuerySet[Bill]) -> None:
        issued = 0
        for bill in queryset:
            try:
                services.invoice_issue(actor=request.user, bill=bill)
                issued += 1
            except ValidationError as exc:
                messages.warning(request, f"{bill}: {' '.join(exc.messages)}")
        messages.success(request, _("%(n)d invoice(s) issued.") % {"n": issued})


@admin.register(Payment)
class PaymentAdmin(ServiceAdmin):
    view_capability = "customers.view"
    change_capability = "billing.manage"
    list_display = ["bill", "amount", "channel", "paid_at", "reference", "reverses"]
    list_filter = ["channel", "paid_at"]
    search_fields = ["=reference", "=bill__account__number"]
    fields = ["bill", "amount", "channel", "reference"]
    raw_id_fields = ["bill"]
    list_select_related = ["bill"]
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    actions = ["reverse_payments"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a payment is reversed by a new row, never deleted

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        return self._can(request, self.change_capability)

    @admin.action(description=_("Reverse the selected payments"), permissions=["reverse"])
    def reverse_payments(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> TemplateResponse | None:
        return _action_form(
            self,
            request,
            queryset,
            ReverseForm,
            lambda payment, data: services.payment_reverse(
                actor=request.user, payment=payment, reason=data["reason"]
            ),
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = services.payment_record(
            actor=request.user,
            bill=obj.bill,
            amount=obj.amount,
            channel=obj.channel,
            reference=obj.reference,
        )
        _adopt(obj, saved)


@admin.register(Invoice)
class InvoiceAdmin(PersonalFieldsAdmin, ReadOnlyAdminMixin, CapabilityAdmin):
    personal_fields = {"payer_name": Kind.NAME}
    view_capability = "customers.view"
    change_capability = "billing.manage"
    list_display = ["number", "payer_name", "amount", "issued_at", "pdf_link"]
    search_fields = ["=number", "payer_name", "=bill__account__number"]
    date_hierarchy = "issued_at"
    readonly_fields = [
        "bill",
        "number",
        "verification_code",
        "payer_name",
        "payer_tax_id",
        "amount",
        "issued_at",
        "pdf_link",
    ]
    show_full_result_count = False

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        url = reverse("customers:invoice_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))


@admin.register(PaperInvoiceRequest)
class PaperInvoiceRequestAdmin(PersonalFieldsAdmin, ServiceAdmin):
    personal_fields = {"recipient": Kind.NAME, "phone": Kind.PHONE}
    view_capability = "customers.view"
    change_capability = "billing.manage"
    list_display = ["invoice", "recipient", "status", "fee", "tracking_no", "requested_at"]
    list_filter = ["status"]
    search_fields = ["=invoice__number", "recipient", "=tracking_no"]
    raw_id_fields = ["invoice"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["invoice", "recipient", "phone", "address"]
        return ["invoice", "recipient", "phone", "address", "fee", "status", "tracking_no"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return []
        return ["invoice", "recipient", "phone", "address", "fee", "status"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            saved = services.paper_invoice_advance(
                actor=request.user,
                request=PaperInvoiceRequest.objects.get(pk=obj.pk),
                tracking_no=obj.tracking_no,
            )
        else:
            saved = services.paper_invoice_request(
                actor=request.user,
                invoice=obj.invoice,
                recipient=obj.recipient,
                phone=obj.phone,
                address=obj.address,
            )
        _adopt(obj, saved)


@admin.register(Disclosure)
class DisclosureAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    """Who was shown a customer's full number, e-mail address or ID number: read-only, for
    administrators (written by `customers.privacy.shown`)."""

    view_capability = "audit.view"
    change_capability = "audit.view"
    list_display = ["at", "user", "kind", "masked", "object_type", "object_id", "where"]
    list_filter = ["kind", "object_type"]
    search_fields = ["=user__username", "user__full_name", "=object_id", "where"]
    date_hierarchy = "at"
    list_select_related = ["user"]
    readonly_fields = ["at", "user", "kind", "masked", "object_type", "object_id", "where"]
    show_full_result_count = False
