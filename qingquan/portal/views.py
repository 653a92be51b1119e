"""Pages of the online service hall (网上营业厅). Every page but the login needs a
portal session; every object is found through the resident's own bindings and cases."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.core import clock
from qingquan.portal import auth, rules, selectors, services, wechat
from qingquan.portal.forms import BindForm, QuestionForm, RepairForm
from qingquan.portal.models import Appointment, Binding
from qingquan.portal.services import PortalError, Report

REPAIR_KINDS = [
    "repair-burst",
    "repair-leak",
    "repair-no-water",
    "repair-low-pressure",
    "repair-quality",
    "repair-meter",
]
QUESTION_KINDS = [
    "bill-amount",
    "bill-invoice",
    "consult-policy",
    "consult-knowledge",
    "suggestion",
]


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _errors(request: HttpRequest, exc: PortalError) -> None:
    for text in exc.messages:
        messages.error(request, text)


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/portal/") and url_has_allowed_host_and_scheme(target, None):
        return target
    return "/portal/"


def login(request: HttpRequest) -> HttpResponse:
    """Phone number, then the code sent to it (two steps on one page)."""
    phone = request.POST.get("phone", "").strip()[:20]
    sent = False
    if request.method == "POST":
        try:
            if request.POST.get("action") == "send":
                services.code_request(phone=phone, ip=_ip(request))
                sent = True
                messages.success(request, _("A code was sent by SMS. It is valid for 5 minutes."))
            else:
                resident = services.code_verify(phone=phone, code=request.POST.get("code", ""))
                key = services.session_start(resident=resident)
                response = redirect(_next(request))
                auth.set_cookie(response, key, secure=request.is_secure())
                return response
        except PortalError as exc:
            _errors(request, exc)
            sent = services.code_pending(phone)
    return render(
        request,
        "portal/login.html",
        {
            "phone": phone,
            "sent": sent,
            "next": _next(request),
            "demo": settings.QINGQUAN_ENV != "production",
        },
    )


def demo_sms(request: HttpRequest) -> HttpResponse:
    """The fake SMS gateway's inbox for the demo: the codes sent to a number (never in
    production)."""
    if settings.QINGQUAN_ENV == "production":
        raise Http404
    from qingquan.customers import phones
    from qingquan.messaging.models import Message

    rows: list[Any] = []
    phone = request.GET.get("phone", "")[:20]
    if phone:
        try:
            e164 = phones.normalise(phone)[0]
        except ValidationError:  # a wrong number shows nothing
            e164 = ""
        rows = list(
            Message.objects.filter(source="portal.login", to=e164).order_by("-created_at")[:5]
        )
    return render(request, "portal/demo_sms.html", {"rows": rows, "phone": phone})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    services.session_end(request.COOKIES.get(rules.COOKIE, ""))
    response = redirect("portal:login")
    response.delete_cookie(rules.COOKIE, path=rules.COOKIE_PATH)
    return response


@require_POST
def elder(request: HttpRequest) -> HttpResponse:
    """Switch the elder-friendly mode (remembered on the resident, or in a cookie before
    login)."""
    on = request.POST.get("on") == "1"
    resident = auth.resident_of(request)
    if resident is not None:
        services.elder_mode_set(resident=resident, on=on)
    response = redirect(_next(request))
    response.set_cookie(
        "qq_elder", "1" if on else "0", max_age=365 * 86400, path="/", samesite="Lax"
    )
    return response


@auth.resident_required
def home(request: HttpRequest) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    return render(
        request,
        "portal/home.html",
        {
            "cards": selectors.home_cards(resident),
            "cases": list(selectors.cases_of(resident)[:5]),
            "notices": selectors.interruptions_of(resident),
        },
    )


@auth.resident_required
def bind(request: HttpRequest) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    form = BindForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            binding = services.account_bind(resident=resident, **form.cleaned_data)
        except PortalError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Account %(n)s added.") % {"n": binding.account.number})
            return redirect("portal:account", pk=binding.account_id)
    return render(request, "portal/bind.html", {"form": form})


@auth.resident_required
@require_POST
def unbind(request: HttpRequest, pk: int) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    binding = Binding.objects.filter(resident=resident, account_id=pk).first()
    if binding is None:
        raise Http404
    services.account_unbind(resident=resident, binding=binding)
    messages.success(request, _("Account removed from your list."))
    return redirect("portal:home")


def _chart(bills: list[Any]) -> dict[str, Any]:
    """The usage chart's data (rendered with json_script; ECharts draws it)."""
    rows = [b for b in reversed(bills) if b.status != "cancelled"]
    return dict(
        {
            "months": [f"{b.period_start:%Y-%m}" for b in rows],
            "volume": [float(b.volume) for b in rows],
            "amount": [float(b.total) for b in rows],
            "labels": {"volume": _("Volume (m³)"), "amount": _("Amount (yuan)")},
        }
    )


@auth.resident_required
def account(request: HttpRequest, pk: int) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    acc = selectors.account_of(resident, pk)
    bills = selectors.bills_of(acc)
    open_bills = [b for b in bills if b.status in ("unpaid", "partially_paid")]
    return render(
        request,
        "portal/account.html",
        {
            "account": acc,
            "bills": bills,
            "open_bills": open_bills,
            "owed": sum((b.outstanding for b in open_bills), 0),
            "chart": _chart(bills),
            "subscribed": acc.premise_id in selectors.subscribed_premises(resident),
        },
    )


@auth.resident_required
@require_POST
def pay(request: HttpRequest) -> HttpResponse:
    """Pay the chosen open bills (one, or all of an account) through a provider."""
    from qingquan.payments.services import PaymentError, order_create

    resident = request.resident  # type: ignore[attr-defined]
    ids = {int(v) for v in request.POST.getlist("bill") if v.isdigit()}
    bills = [selectors.bill_of(resident, pk) for pk in sorted(ids)]
    if request.POST.get("provider") == "wechat" and wechat.in_wechat(request):
        # Inside WeChat: its own cashier (JSAPI), not a QR code to scan.
        query = urlencode({"bill": [b.pk for b in bills]}, doseq=True)
        return redirect(f"{reverse('portal:wxpay')}?{query}")
    try:
        order = order_create(
            resident=resident, bills=bills, provider_name=request.POST.get("provider", "")
        )
    except PaymentError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect(_next(request))
    target = order.code_url
    if target.startswith("/payments/sandbox/"):
        return redirect(target + f"?next={_next(request)}")
    # A real provider's Native / precreate link: shown as a QR code to scan.
    from qingquan.customers.invoices import qr_data_uri

    return render(
        request,
        "portal/pay_qr.html",
        {"order": order, "qr": qr_data_uri(target), "next": _next(request)},
    )


@auth.resident_required
def invoice(request: HttpRequest, bill: int) -> HttpResponse:
    from qingquan.customers.invoices import invoice_pdf
    from qingquan.customers.models import Invoice

    resident = request.resident  # type: ignore[attr-defined]
    found = selectors.bill_of(resident, bill)
    inv = Invoice.objects.filter(bill=found).first()
    if inv is None:
        raise Http404
    response = HttpResponse(invoice_pdf(inv), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="invoice-{inv.number}.pdf"'
    return response


@auth.resident_required
@require_POST
def subscribe(request: HttpRequest, pk: int) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    acc = selectors.account_of(resident, pk)
    if request.POST.get("on") == "1":
        services.subscribe(resident=resident, premise=acc.premise)
        messages.success(request, _("You will get an SMS about interruptions at this address."))
    else:
        services.unsubscribe(resident=resident, premise=acc.premise)
        messages.success(request, _("No more interruption SMS for this address."))
    return redirect("portal:account", pk=pk)


@auth.resident_required
def cases(request: HttpRequest) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    return render(request, "portal/cases.html", {"cases": list(selectors.cases_of(resident)[:50])})


@auth.resident_required
def case(request: HttpRequest, number: str) -> HttpResponse:
    from qingquan.portal.models import RepairPhoto
    from qingquan.tickets.selectors import case_clock

    resident = request.resident  # type: ignore[attr-defined]
    ticket = selectors.case_of(resident, number)
    # The crew's progress: each change of state (not the internal notes).
    events = list(ticket.events.exclude(to_state="").order_by("at", "pk"))
    return render(
        request,
        "portal/case.html",
        {
            "ticket": ticket,
            "clock": case_clock(ticket),
            "events": events,
            "photos": list(RepairPhoto.objects.filter(ticket=ticket, resident=resident)),
            "survey": selectors.survey_link(ticket),
            "appointment": Appointment.objects.filter(ticket=ticket).first(),
            "notes": selectors.customer_notes(ticket),
            "now": clock.now(),
        },
    )


@auth.resident_required
def photo(request: HttpRequest, pk: int) -> FileResponse:
    item = selectors.photo_of(request.resident, pk)  # type: ignore[attr-defined]
    return FileResponse(item.image.open("rb"), content_type=item.content_type)


def _choices(form: Any, name: str, choices: list[tuple[Any, str]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def _kinds(codes: list[str]) -> list[tuple[str, str]]:
    from qingquan.tickets.models import CaseKind

    found = {k.code: k for k in CaseKind.objects.filter(code__in=codes, is_active=True)}
    return [(c, found[c].name) for c in codes if c in found]


def _account_choices(resident: Any) -> list[tuple[Any, str]]:
    return [("", _("No account"))] + [
        (b.account_id, f"{b.account.number} · {b.account.premise.address}")
        for b in selectors.bindings_of(resident)
    ]


def _report_case(
    request: HttpRequest,
    form: Any,
    *,
    subject: str,
    description: str,
    photos: list[Any],
    needs_place: bool = True,
) -> HttpResponse | None:
    from qingquan.tickets.models import CaseKind

    resident = request.resident  # type: ignore[attr-defined]
    data = form.cleaned_data
    acc = selectors.account_of(resident, data["account"]) if data.get("account") else None
    channel = "wechat" if "MicroMessenger" in request.headers.get("User-Agent", "") else "web"
    try:
        ticket = services.case_open(
            resident=resident,
            report=Report(
                kind=CaseKind.objects.get(code=data["kind"]),
                subject=subject,
                description=description,
                address=data.get("address", ""),
                account=acc,
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                needs_place=needs_place,
            ),
            channel=channel,
            photos=photos,
        )
    except PortalError as exc:
        _errors(request, exc)
        return None
    messages.success(
        request, _("Case %(n)s received. We will keep you posted.") % {"n": ticket.number}
    )
    return redirect("portal:case", number=ticket.number)


@auth.resident_required
def repair(request: HttpRequest) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    form = RepairForm(request.POST or None)
    _choices(form, "kind", _kinds(REPAIR_KINDS))
    _choices(form, "account", _account_choices(resident))
    if request.method == "POST" and form.is_valid():
        kind_name = dict(_kinds(REPAIR_KINDS))[form.cleaned_data["kind"]]
        done = _report_case(
            request,
            form,
            subject=str(kind_name),
            description=form.cleaned_data["description"],
            photos=request.FILES.getlist("photos"),
        )
        if done is not None:
            return done
    from qingquan.network.selectors import public_pin_config

    return render(request, "portal/repair.html", {"form": form, "pin": public_pin_config()})


@auth.resident_required
def question(request: HttpRequest) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    form = QuestionForm(request.POST or None)
    _choices(form, "kind", _kinds(QUESTION_KINDS))
    _choices(form, "account", _account_choices(resident))
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["question"]
        form.cleaned_data["address"] = ""
        done = _report_case(
            request,
            form,
            subject=text.splitlines()[0][:60],
            description=text,
            photos=[],
            needs_place=False,
        )
        if done is not None:
            return done
    return render(request, "portal/question.html", {"form": form})
