"""The notice form (draft and update): the area from a pipe's isolation plan, streets,
or account numbers (typed or uploaded as a text/CSV file, first column)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from qingquan.areas.models import Street
from qingquan.notices.models import AreaSource, NoticeKind

LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
MAX_UPLOAD = 5_000_000


class When(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value: Any) -> Any:
        if hasattr(value, "strftime"):
            from qingquan.core import clock

            return value.astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
        return value


class NoticeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=NoticeKind.choices)
    title = forms.CharField(label=_("Title"), max_length=120)
    area_source = forms.ChoiceField(
        label=_("Area from"), choices=AreaSource.choices, widget=forms.RadioSelect
    )
    pipe = forms.CharField(label=_("Pipe (network id)"), max_length=40, required=False)
    include_low_pressure = forms.BooleanField(
        label=_("Include the low-pressure area of the hydraulic simulation"),
        required=False,
        initial=True,
    )
    streets = forms.ModelMultipleChoiceField(
        label=_("Streets"),
        queryset=Street.objects.select_related("district").order_by("district__name", "name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    accounts = forms.CharField(
        label=_("Account numbers (one a line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    accounts_file = forms.FileField(
        label=_("…or a file of account numbers (text or CSV, first column)"), required=False
    )
    polygon = forms.CharField(
        label=_("Polygon: [[longitude, latitude], …] in degrees"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    area_text = forms.CharField(
        label=_("Area as published (blank: the streets reached)"), max_length=500, required=False
    )
    starts_at = forms.DateTimeField(label=_("Starts"), input_formats=LOCAL, widget=When)
    expected_end_at = forms.DateTimeField(label=_("Expected end"), input_formats=LOCAL, widget=When)
    reason = forms.CharField(label=_("Reason"), max_length=300)
    alternative_supply = forms.CharField(
        label=_("Alternative supply (water-tanker points)"), max_length=300, required=False
    )
    contact = forms.CharField(label=_("Contact"), max_length=120, required=False)
    late_reason = forms.CharField(
        label=_("Reason for a late notice"), max_length=300, required=False
    )

    def clean_accounts_file(self) -> list[str]:
        upload = self.cleaned_data.get("accounts_file")
        if not upload:
            return []
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc
        numbers = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0]]
        return [n for n in numbers if n.isdigit()]

    def clean_polygon(self) -> list[Any]:
        text = (self.cleaned_data.get("polygon") or "").strip()
        if not text:
            return []
        try:
            points = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("Not a list of [longitude, latitude] pairs.")) from exc
        if not isinstance(points, list):
            raise forms.ValidationError(_("Not a list of [longitude, latitude] pairs."))
        return points

    def service_fields(self) -> dict[str, Any]:
        """The cleaned form as the services' keyword arguments."""
        d = self.cleaned_data
        typed = [n.strip() for n in (d.get("accounts") or "").split() if n.strip()]
        source = d["area_source"]
        area: dict[str, Any] = {}
        if source == AreaSource.STREETS:
            area = {"streets": [s.pk for s in d.get("streets") or []]}
        elif source == AreaSource.ACCOUNTS:
            area = {"accounts": sorted(set(typed + list(d.get("accounts_file") or [])))}
        elif source == AreaSource.POLYGON:
            area = {"polygon": d.get("polygon") or []}
        return {
            "kind": d["kind"],
            "title": d["title"],
            "area_source": source,
            "pipe": d.get("pipe") or "",
            "include_low_pressure": bool(d.get("include_low_pressure")),
            "area": area,
            "area_text": d.get("area_text") or "",
            "starts_at": d["starts_at"],
            "expected_end_at": d["expected_end_at"],
            "reason": d["reason"],
            "alternative_supply": d.get("alternative_supply") or "",
            "contact": d.get("contact") or "",
            "late_reason": d.get("late_reason") or "",
        }

    @classmethod
    def initial_of(cls, notice: Any) -> dict[str, Any]:
        area = notice.area or {}
        return {
            "kind": notice.kind,
            "title": notice.title,
            "area_source": notice.area_source,
            "pipe": notice.pipe,
            "include_low_pressure": notice.include_low_pressure,
            "streets": area.get("streets", []),
            "accounts": "\n".join(area.get("accounts", [])),
            "polygon": json.dumps(area["polygon"]) if area.get("polygon") else "",
            "area_text": notice.area_text,
            "starts_at": notice.starts_at,
            "expected_end_at": notice.expected_end_at,
            "reason": notice.reason,
            "alternative_supply": notice.alternative_supply,
            "contact": notice.contact,
            "late_reason": notice.late_reason,
        }

    def add_service_errors(self, exc: Any) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                field = name if name in self.fields else None
                if name == "area":
                    field = {"streets": "streets", "polygon": "polygon"}.get(
                        str(self.data.get("area_source")), "accounts"
                    )
                for e in errors:
                    self.add_error(field, e)
        else:
            for e in exc.messages:
                self.add_error(None, e)
