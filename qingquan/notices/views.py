"""Notice pages: the staff list, form and notice page (with the sending progress), the
actions of the lifecycle, "已告知停水" from the screen pop; the public list, page and
Atom feed (no login, nothing personal)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.core import clock
from qingquan.core.access import AccessDenied
from qingquan.customers import phones
from qingquan.messaging.rules import sms_length
from qingquan.notices import kpis, rules, selectors, services
from qingquan.notices.forms import NoticeForm
from qingquan.notices.models import Notice, NoticeStatus
from qingquan.staff.access import can, require


def _notice(request: HttpRequest, pk: int) -> Notice:
    try:
        return selectors.notice_for_staff(user=request.user, pk=pk)
    except Notice.DoesNotExist as exc:
        raise Http404 from exc


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 19 else 0


@require("notices.view")
def notice_list(request: HttpRequest) -> HttpResponse:
    if request.GET.get("period"):
        return _kpi_list(request)
    status = request.GET.get("status", "")
    text = request.GET.get("q", "")[:60]
    qs = selectors.notices_for_staff(user=request.user, status=status, text=text)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "notices/list.html",
        {
            "page": page,
            "status": status,
            "q": text,
            "statuses": NoticeStatus.choices,
            "can_draft": can(request.user, "notices.draft"),
        },
    )


def _kpi_list(request: HttpRequest) -> HttpResponse:
    """The notices behind a figure of the statistics page (drill-down): a period
    (`period`, `date`, `end` as on that page) and which notices (`kpi`)."""
    from qingquan.reports.periods import PeriodError, from_query

    params = {k: request.GET.get(k, "")[:12] for k in ("period", "date", "end")}
    which = request.GET.get("kpi", "")
    try:
        span = from_query(params)
    except PeriodError as error:
        return render(request, "reports/error.html", {"message": str(error)}, status=400)
    if which and which not in kpis.FILTERS:
        return render(
            request,
            "reports/error.html",
            {"message": _("Unknown figure %(metric)s.") % {"metric": which[:20]}},
            status=400,
        )
    rows = kpis.notices_in_period(
        user=request.user, start=span.start_at, end=span.end_at, which=which
    )
    return render(
        request,
        "notices/kpi_list.html",
        {
            "rows": rows,
            "span": span,
            "which": which,
            "label": kpi_labels().get(which, _("Notices starting in the period")),
            "rule": rules.kind_rule("planned"),
            "back": f"{reverse('reports:kpis')}?"
            + urlencode({k: v for k, v in params.items() if v}),
        },
    )


def kpi_labels() -> dict[str, str]:
    return {
        "planned": _("Planned notices"),
        "lead_met": _("Planned notices that kept the lead rule"),
        "lead_missed": _("Planned notices published too late"),
        "restored": _("Notices restored"),
        "restored_late": _("Restored after the expected end first published"),
    }


@require("notices.draft")
def notice_new(request: HttpRequest) -> HttpResponse:
    initial = {"area_source": "plan", "include_low_pressure": True}
    if request.GET.get("pipe"):
        initial.update(pipe=request.GET["pipe"][:40], kind="unplanned")
    form = NoticeForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.notice_create(actor=request.user, **form.service_fields())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("notices:detail", notice.pk)
    return render(request, "notices/form.html", {"form": form, "notice": None})


@require("notices.draft")
def notice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _notice(request, pk)
    form = NoticeForm(
        request.POST or None, request.FILES or None, initial=NoticeForm.initial_of(notice)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.notice_edit(actor=request.user, notice=notice, **form.service_fields())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("notices:detail", notice.pk)
    return render(request, "notices/form.html", {"form": form, "notice": notice})


@require("notices.view")
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _notice(request, pk)
    versions = list(notice.versions.order_by("-number"))
    current = versions[0] if versions else None
    event = "published" if not current else "updated"
    preview = current.message if current else rules.message_text(notice, event)
    chars, segments = sms_length(preview)
    late = notice.status in (NoticeStatus.DRAFT, NoticeStatus.SUBMITTED) and rules.is_late(
        notice.kind, now=clock.now(), starts_at=notice.starts_at
    )
    update_form = None
    if notice.status == NoticeStatus.PUBLISHED and can(request.user, "notices.approve"):
        update_form = NoticeForm(initial=NoticeForm.initial_of(notice))
    return render(
        request,
        "notices/detail.html",
        {
            "notice": notice,
            "versions": versions,
            "current": current,
            "progress": selectors.progress(current),
            "critical": selectors.critical_of(current) if current else [],
            "preview": preview,
            "chars": chars,
            "segments": segments,
            "late": late,
            "rule": rules.kind_rule(notice.kind),
            "can_draft": can(request.user, "notices.draft"),
            "can_approve": can(request.user, "notices.approve"),
            "update_form": update_form,
        },
    )


@require("notices.view")
def notice_progress(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _notice(request, pk)
    return render(
        request,
        "notices/_progress.html",
        {"notice": notice, "progress": selectors.progress(notice.current)},
    )


ACTIONS = {"submit", "approve", "reject", "update", "restore", "close"}


@require_POST
@require("notices.view")
def notice_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    notice = _notice(request, pk)
    if action not in ACTIONS:
        raise Http404
    p = request.POST
    try:
        if action == "submit":
            services.notice_submit(
                actor=request.user, notice=notice, late_reason=p.get("late_reason", "")
            )
        elif action == "approve":
            services.notice_approve(
                actor=request.user, notice=notice, accept_late=p.get("accept_late") == "1"
            )
        elif action == "reject":
            services.notice_reject(actor=request.user, notice=notice, note=p.get("note", ""))
        elif action == "restore":
            services.notice_restore(actor=request.user, notice=notice, note=p.get("note", ""))
        elif action == "close":
            services.notice_close(actor=request.user, notice=notice)
        else:
            form = NoticeForm(p, request.FILES or None)
            if not form.is_valid():
                for name, errs in form.errors.items():
                    for e in errs:
                        messages.error(
                            request, f"{form.fields[name].label if name in form.fields else ''} {e}"
                        )
                return redirect("notices:detail", notice.pk)
            fields = form.service_fields()
            services.notice_update(
                actor=request.user, notice=notice, note=p.get("note", ""), **fields
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Done."))
    return redirect("notices:detail", notice.pk)


def _told_call(request: HttpRequest) -> Any:
    from qingquan.telephony import selectors as telephony
    from qingquan.telephony.models import Call

    raw = request.POST.get("call", "")
    if not raw:
        return None
    try:
        return telephony.call_for(user=request.user, call_pk=_int(raw))
    except (Call.DoesNotExist, AccessDenied) as exc:
        raise Http404 from exc


def _told_customer(request: HttpRequest) -> Any:
    from qingquan.customers import selectors as customers

    raw = request.POST.get("customer", "")
    if not raw:
        return None
    try:
        found = customers.registry_record(user=request.user, kind="customer", pk=_int(raw))
    except AccessDenied as exc:
        raise Http404 from exc
    if found is None:
        raise Http404
    return found


@require_POST
@require("console.use")
def notice_told(request: HttpRequest, pk: int) -> HttpResponse:
    """ "已告知停水" from the screen pop: the call's contact is linked to the notice. The
    call must be one the agent may open (their own; any for wallboard viewers) and the
    customer one they may see, through the telephony and customer selectors: 404
    otherwise (never another agent's call, never a made-up customer id)."""
    notice = _notice(request, pk)
    call, customer = _told_call(request), _told_customer(request)
    number = phones.try_normalise(request.POST.get("phone", "")[:40])
    try:
        services.notice_call_record(
            actor=request.user,
            notice=notice,
            call=call,
            customer=customer,
            phone=number[0] if number else "",
        )
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=409)
    text = _("Recorded: caller told about %(number)s, no case made.") % {"number": notice.number}
    if request.headers.get("HX-Request"):
        return HttpResponse(f'<span class="flag ok" data-testid="told">{text}</span>')
    messages.success(request, text)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("console:home")  # never an outside address (open redirect)
    return redirect(target)


# Public ------------------------------------------------------------------------------------
def public_list(request: HttpRequest) -> HttpResponse:
    street = request.GET.get("street", "")[:40]
    account = request.GET.get("account", "")[:20]
    qs = selectors.public_notices(street=street, account=account)
    page = Paginator(qs, selectors.PUBLIC_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "notices/public_list.html",
        {
            "page": page,
            "street": street,
            "account": account,
            "map": selectors.public_map(list(page.object_list)),
        },
    )


def public_detail(request: HttpRequest, number: str) -> HttpResponse:
    notice = selectors.public_notices().filter(number=number[:20]).first()
    if notice is None:
        raise Http404
    return render(
        request,
        "notices/public_detail.html",
        {
            "notice": notice,
            "versions": notice.versions.order_by("-number"),
            "map": selectors.public_map([notice]),
        },
    )


def public_feed(request: HttpRequest) -> HttpResponse:
    """The Atom feed of the last 50 public notices."""
    feed = Atom1Feed(
        title=_("Water supply notices · Qingquan 96390"),
        link=request.build_absolute_uri(reverse("public_notices:list")),
        description=_("Planned and unplanned interruptions, low pressure and water quality."),
        language="zh-hans",
    )
    for n in selectors.public_notices()[:50]:
        current = n.current
        feed.add_item(
            title=f"{n.get_kind_display()}：{n.title}",
            link=request.build_absolute_uri(reverse("public_notices:detail", args=[n.number])),
            description=current.message if current else n.reason,
            unique_id=f"urn:qingquan:notice:{n.number}:v{n.version}",
            updateddate=n.updated_at,
            pubdate=n.published_at,
        )
    return HttpResponse(feed.writeString("utf-8"), content_type="application/atom+xml")
