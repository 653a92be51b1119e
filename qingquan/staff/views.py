"""Staff pages: login, home per role, password change, roster."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from qingquan.core import audit_text, clock
from qingquan.core.models import AuditEvent
from qingquan.staff import selectors, services
from qingquan.staff.access import can, navigation_for, require
from qingquan.staff.models import User
from qingquan.staff.roles import Role


class LoginView(auth_views.LoginView):
    """The login page; django-axes counts failures and locks the account name."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require("home.view")
def home(request: HttpRequest) -> HttpResponse:
    """Each role's landing page: who you are, your shift, and where to go."""
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, Any] = {
        "shift": selectors.shift_for(user=user),
        "cards": [item for item in navigation_for(user) if item.url_name != "home"],
    }
    if can(user, "roster.view"):
        running = selectors.on_shift()
        # A list, not the Counter: templates would look up a missing key "items" as 0.
        context["on_shift_counts"] = sorted(
            Counter(str(Role(s.assignment.user.role).label) for s in running).items()
        )
        # Only repair crews: the hotline's agent groups are teams too, but not crews.
        context["crews_on_shift"] = sorted(
            {
                str(s.assignment.user.team)
                for s in running
                if s.assignment.user.team is not None and s.assignment.user.team.is_crew
            }
            if user.role == Role.DISPATCHER
            else set()
        )
    if can(user, "audit.view"):
        recent = list(AuditEvent.objects.select_related("actor")[:8])
        for event in recent:
            event.sentence = audit_text.describe(event)  # type: ignore[attr-defined]
        context["recent_audit"] = recent
        context["staff_count"] = User.objects.filter(is_active=True).count()
    if user.team_id:
        context["teammates"] = (
            User.objects.filter(team_id=user.team_id, is_active=True)
            .exclude(pk=user.pk)
            .order_by("full_name")[:30]
        )
    return render(request, "staff/home.html", context)


@require("roster.view")
def roster(request: HttpRequest) -> HttpResponse:
    """The roster of one day, grouped by shift."""
    day = parse_date(request.GET.get("date", "")) or clock.today()
    groups: dict[Any, list[User]] = {}
    for assignment in selectors.roster_for(day=day):
        groups.setdefault(assignment.shift, []).append(assignment.user)
    return render(
        request,
        "staff/roster.html",
        {
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "groups": groups,
        },
    )


@require("profile.password")
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password; the change is audited and the session kept."""
    user: User = request.user  # type: ignore[assignment]
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.staff_change_password(
            actor=user, user=user, new_password=form.cleaned_data["new_password1"]
        )
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password has been changed."))
        return redirect("home")
    return render(request, "registration/password_change.html", {"form": form})
