"""The platform's HTTP API (django-ninja, OpenAPI at /api/v1/docs and /api/v1/openapi.json).

Each domain app adds its router here; authentication is the staff session (with CSRF) for
now; partner API keys come with the open-API issue.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from ninja import Schema
from ninja.security import django_auth

from qingquan.core.access import AccessDenied
from qingquan.core.openapi import SchemaCachedApi
from qingquan.staff import selectors as staff_selectors
from qingquan.staff.access import capabilities_of


class _Api(SchemaCachedApi):
    def get_openapi_operation_id(self, operation: Any) -> str:
        """`<module>_<function>` as django-ninja names it, the module of an endpoint in an
        `api/` package being the package (`qingquan.tickets.api.steps` → `…tickets.api`):
        splitting an app's api.py by concern keeps the published operation ids."""
        module, sep, _rest = operation.view_func.__module__.partition(".api.")
        module = module + ".api" if sep else module
        return f"{module}_{operation.view_func.__name__}".replace(".", "_")


api = _Api(
    title="Qingquan API",
    version="1",
    description="清泉 Qingquan water-utility service hotline platform",
    urls_namespace="api",
    auth=django_auth,
    # The staff API's schema and docs are for staff: anonymous visitors go to the login.
    docs_decorator=login_required,
)


@api.exception_handler(AccessDenied)
def access_denied(request: HttpRequest, exc: AccessDenied) -> HttpResponse:
    """The one access error (`core.access.AccessDenied`, raised by `staff.access.check`,
    the services and the per-case rules) as the staff API's 403 `{"detail": …}`."""
    return api.create_response(request, {"detail": exc.message}, status=403)


class ShiftOut(Schema):
    name: str
    starts: str
    ends: str
    running: bool


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    role_label: str
    department: str | None
    team: str | None
    extension: str
    shift: ShiftOut | None
    capabilities: list[str]


@api.get("/me", response=MeOut, tags=["staff"], summary="The logged-in staff member")
def me(request: HttpRequest) -> dict[str, Any]:
    """Who the caller is, their shift now (or next), and what their role may do."""
    user: Any = request.user
    shift = staff_selectors.shift_for(user=user)
    return {
        "username": user.username,
        "full_name": user.get_full_name(),
        "role": user.role,
        "role_label": str(user.role_label),
        "department": user.department.name if user.department_id else None,
        "team": user.team.name if user.team_id else None,
        "extension": user.extension,
        "shift": (
            {
                "name": shift.assignment.shift.label,
                "starts": shift.starts.isoformat(),
                "ends": shift.ends.isoformat(),
                "running": shift.running,
            }
            if shift
            else None
        ),
        "capabilities": capabilities_of(user),
    }


from qingquan.tickets.api import router as tickets_router  # noqa: E402

api.add_router("/tickets/", tickets_router)


from qingquan.customers.api import router as customers_router  # noqa: E402

api.add_router("/customers/", customers_router)


from qingquan.surveys.api import router as surveys_router  # noqa: E402

api.add_router("/callbacks/", surveys_router)


from qingquan.reports.api import router as reports_router  # noqa: E402

api.add_router("/reports/", reports_router)


from qingquan.telephony.api import router as telephony_router  # noqa: E402

api.add_router("/telephony/", telephony_router)


from qingquan.knowledge.api import router as knowledge_router  # noqa: E402

api.add_router("/knowledge/", knowledge_router)


from qingquan.network.api import router as network_router  # noqa: E402

api.add_router("/network/", network_router)


from qingquan.dispatch.api import router as dispatch_router  # noqa: E402

api.add_router("/dispatch/", dispatch_router)
from qingquan.notices.api import router as notices_router  # noqa: E402

api.add_router("/notices/", notices_router)
from qingquan.connections.api import router as connections_router  # noqa: E402

api.add_router("/connections/", connections_router)
from qingquan.payments.api import router as payments_router  # noqa: E402

api.add_router("/payments/", payments_router)
