from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class BindForm(forms.Form):
    number = forms.CharField(label=_("Account number"), max_length=20)
    name = forms.CharField(label=_("Holder's name"), max_length=120, required=False)
    id_digits = forms.CharField(
        label=_("or the last 4 characters of the ID number / USCC"), max_length=4, required=False
    )


class RepairForm(forms.Form):
    kind = forms.ChoiceField(label=_("What is wrong"))
    account = forms.TypedChoiceField(label=_("Account"), coerce=int, required=False)
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    latitude = forms.FloatField(
        required=False,
        widget=forms.HiddenInput(attrs={"data-pin-lat": "", "data-testid": "pin-lat"}),
    )
    longitude = forms.FloatField(
        required=False,
        widget=forms.HiddenInput(attrs={"data-pin-lon": "", "data-testid": "pin-lon"}),
    )
    description = forms.CharField(
        label=_("Describe it"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("About"))
    account = forms.TypedChoiceField(label=_("Account"), coerce=int, required=False)
    question = forms.CharField(
        label=_("Your question"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
