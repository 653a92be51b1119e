"""Response headers that browsers enforce: the Content-Security-Policy and friends.

Every answer carries a policy that runs scripts from our own static files only — no inline
`<script>`, no `onclick=` attributes, no `eval` — so a name or note that slipped past
escaping still cannot run in an agent's browser. Styles may be inline (ECharts, Leaflet
and the admin set them), which cannot run code. Browsers report what the policy blocked to
`csp_report`, which logs it: a blocked script on a page is a bug to fix, not to allow.

Django's SecurityMiddleware already sends nosniff, the referrer policy and the
cross-origin opener policy (and HSTS in production); X-Frame-Options comes from the
clickjacking middleware. This adds the policy and the permissions policy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

log = logging.getLogger("qingquan.security")

REPORT_PATH = "/csp-report/"
MAX_REPORT_BYTES = 16 * 1024


def content_security_policy(request: HttpRequest) -> str:
    """The policy for one answer. WebSockets are named by scheme and host because older
    browsers do not read 'self' as covering ws: and wss:."""
    try:
        host = request.get_host()
    except DisallowedHost:  # the 400 answer to a forged Host header gets a policy too
        host = ""
    sockets = f" ws://{host} wss://{host}" if host else ""
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        f"connect-src 'self'{sockets}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        f"report-uri {REPORT_PATH}",
    ]
    return "; ".join(directives)


# The hotline needs none of these powerful features; the console's softphone will ask for
# the microphone on our own origin only.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=()",
        "microphone=(self)",
        "geolocation=(self)",
        "payment=()",
        "usb=()",
        "interest-cohort=()",
    ]
)


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy and Permissions-Policy to every answer (an answer
    that set its own policy keeps it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Browsers post what the policy blocked here (anonymous, no CSRF token by design);
    each report is logged once, bounded in size, and answered with 204."""
    body = request.body[:MAX_REPORT_BYTES]
    try:
        report = json.loads(body or b"{}")
    except ValueError:
        return HttpResponse(status=400, content=b"not a JSON report")
    detail = report.get("csp-report", report) if isinstance(report, dict) else {}
    if not isinstance(detail, dict):
        detail = {}
    log.warning(
        "Content-Security-Policy blocked %s on %s (%s)",
        str(detail.get("blocked-uri", "?"))[:200],
        str(detail.get("document-uri", "?"))[:200],
        str(detail.get("violated-directive", detail.get("effective-directive", "?")))[:100],
    )
    return HttpResponse(status=204)
