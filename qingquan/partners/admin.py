"""Back-office screens for partner systems (capability `partners.manage`).

Creating a client issues its first API key; the plaintext key is shown once, on the page
after saving, and never again (only its hash is stored). Keys are revoked and new ones
issued with actions. Deliveries are a read-only log, with a "retry now" action.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from qingquan.core.admin import CapabilityAdmin, ReadOnlyAdminMixin, ReadOnlyInline
from qingquan.partners import services, webhooks
from qingquan.partners.errors import PartnerError
from qingquan.partners.models import (
    ApiKey,
    Delivery,
    DeliveryAttempt,
    PartnerClient,
    Scope,
    Subscription,
    WebhookEvent,
)
from qingquan.staff.access import can
from qingquan.tickets.errors import TicketError


class PartnersAdmin(CapabilityAdmin):
    view_capability = "partners.manage"
    change_capability = "partners.manage"


class PartnerClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = PartnerClient
        fields = [
            "code",
            "name",
            "channel",
            "scopes",
            "intake_owner",
            "rate_limit_per_minute",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "channel" in data and "intake_owner" in data:
            try:
                services.check_client_fields(
                    channel=data["channel"],
                    scopes=list(data.get("scopes", [])),
                    intake_owner=data["intake_owner"],
                )
            except TicketError as exc:
                raise forms.ValidationError(exc.message) from exc
        return data


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    shown = ("prefix", "label", "created_at", "last_used_at", "revoked_at")
    fields = shown
    readonly_fields = shown

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(request.user, "partners.manage")


@admin.register(PartnerClient)
class PartnerClientAdmin(PartnersAdmin):
    form = PartnerClientForm
    list_display = ["code", "name", "channel", "intake_owner", "rate_limit_per_minute", "is_active"]
    list_filter = ["channel", "is_active"]
    search_fields = ["code", "name"]
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["code"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                saved = services.partner_client_update(
                    actor=request.user,
                    client=obj,
                    name=data["name"],
                    channel=data["channel"],
                    scopes=list(data["scopes"]),
                    intake_owner=data["intake_owner"],
                    rate_limit_per_minute=data["rate_limit_per_minute"],
                    is_active=data["is_active"],
                )
                plaintext = ""
            else:
                saved, plaintext = services.partner_client_create(
                    actor=request.user,
                    code=data["code"],
                    name=data["name"],
                    channel=data["channel"],
                    scopes=list(data["scopes"]),
                    intake_owner=data["intake_owner"],
                    rate_limit_per_minute=data["rate_limit_per_minute"],
                    is_active=data["is_active"],
                )
        except (TicketError, PartnerError) as exc:
            # The form checked the same rules; a race (e.g. a code taken meanwhile) lands here.
            messages.error(request, exc.message)
            return
        obj.pk = saved.pk
        obj._state.adding = False
        if plaintext:
            self._show_key(request, plaintext)

    def _show_key(self, request: HttpRequest, plaintext: str) -> None:
        messages.warning(
            request,
            gettext("API key (copy it now, it is shown only once): %(key)s") % {"key": plaintext},
        )

    @admin.action(description=_("Issue a new API key"))
    def issue_key(self, request: HttpRequest, queryset: QuerySet[PartnerClient]) -> None:
        for client in queryset:
            _key, plaintext = services.api_key_issue(
                actor=request.user, client=client, label=gettext("issued in the back office")
            )
            messages.warning(
                request,
                gettext("New key for %(client)s (shown only once): %(key)s")
                % {"client": client.name, "key": plaintext},
            )


@admin.register(ApiKey)
class ApiKeyAdmin(PartnersAdmin):
    list_display = ["__str__", "client", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["client"]
    shown = ("client", "prefix", "label", "created_at", "last_used_at", "revoked_at")
    fields = shown
    readonly_fields = shown
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            services.api_key_revoke(actor=request.user, key=key)
        messages.success(request, gettext("Keys revoked."))


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Subscription
        fields = ["client", "url", "events", "secret", "is_active"]


@admin.register(Subscription)
class SubscriptionAdmin(PartnersAdmin):
    form = SubscriptionForm
    list_display = ["client", "url", "is_active", "created_at"]
    list_filter = ["client", "is_active"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = services.subscription_save(
            actor=request.user,
            client=data["client"],
            url=data["url"],
            events=list(data["events"]),
            secret=data.get("secret", ""),
            is_active=data["is_active"],
            subscription=Subscription.objects.get(pk=obj.pk) if change else None,
        )
        obj.pk = saved.pk
        obj._state.adding = False


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    shown = ("at", "status_code", "error", "duration_ms")
    fields = shown
    readonly_fields = shown

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(request.user, "partners.manage")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, PartnersAdmin):
    """The delivery log: what was sent to whom, each attempt, and what is still waiting."""

    list_display = [
        "created_at",
        "event",
        "subscription",
        "ticket",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "event", "subscription__client"]
    search_fields = ["delivery_id", "ticket__number"]
    date_hierarchy = "created_at"
    shown = (
        "delivery_id",
        "subscription",
        "event",
        "ticket",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "payload",
    )
    fields = shown
    readonly_fields = shown
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now"]

    @admin.action(description=_("Retry the selected deliveries now"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset:
            webhooks.delivery_retry(actor=request.user, delivery=delivery)
        messages.success(request, gettext("Deliveries queued."))
