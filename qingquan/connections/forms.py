"""Forms of new connections: the application (counter, phone, online hall) and the
staff's step forms. The document comes from `request.FILES.getlist("document")` so that
a second file is refused by the service with its message."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from qingquan.connections.models import ApplicantKind, DocumentKind, PauseReason, Use

# The fields of a real-estate project, shown apart on the application forms.
PROJECT_FIELDS = ("project_name", "households", "ready_on", "ready_evidence")


class ApplicationForm(forms.Form):
    applicant_kind = forms.ChoiceField(label=_("Applicant"), choices=ApplicantKind.choices)
    applicant_name = forms.CharField(label=_("Name (enterprise or resident)"), max_length=120)
    phone = forms.CharField(label=_("Phone"), max_length=30)
    document_kind = forms.ChoiceField(label=_("Document"), choices=DocumentKind.choices)
    document_number = forms.CharField(label=_("USCC or ID number"), max_length=30)
    address = forms.CharField(label=_("Address of the premises"), max_length=255)
    use = forms.ChoiceField(label=_("Use"), choices=Use.choices)
    m3_per_day = forms.DecimalField(
        label=_("Expected consumption (m³ a day)"),
        min_value=0,
        max_digits=10,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    pipe_mm = forms.IntegerField(
        label=_("Pipe size (DN, mm)"),
        min_value=15,
        max_value=1200,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    external_works = forms.BooleanField(
        label=_("Needs external-line approval or construction"), required=False
    )
    # A real-estate supporting project (use "Real-estate project") only.
    project_name = forms.CharField(label=_("Project"), max_length=120, required=False)
    households = forms.IntegerField(
        label=_("Households"),
        min_value=0,
        max_value=100_000,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    ready_on = forms.DateField(
        label=_("Site ready on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty while the site is not ready: the clock waits for it."),
    )
    ready_evidence = forms.CharField(
        label=_("Evidence of readiness"), max_length=300, required=False
    )


class StaffApplicationForm(ApplicationForm):
    channel = forms.ChoiceField(
        label=_("Taken"),
        choices=[("counter", _("Counter")), ("phone", _("Phone (agent)"))],
    )


class PauseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Waiting on the applicant for"), choices=PauseReason.choices)
    evidence = forms.CharField(label=_("Evidence"), max_length=300)


class SignForm(forms.Form):
    signer = forms.CharField(label=_("Signed by"), max_length=60)
    provider = forms.ChoiceField(
        label=_("Pay by"), choices=[("wechat", _("WeChat Pay")), ("alipay", _("Alipay"))]
    )


class ReadyForm(forms.Form):
    ready_on = forms.DateField(
        label=_("Site ready on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    evidence = forms.CharField(label=_("Evidence of readiness"), max_length=300)
