from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.static import serve

from qingquan.api import api
from qingquan.core import views as core_views
from qingquan.core.security import csp_report
from qingquan.partners.api import partner_api
from qingquan.staff import views as staff_views

urlpatterns = [
    path("", staff_views.home, name="home"),
    path("login/", staff_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", staff_views.password_change, name="password_change"),
    path("roster/", staff_views.roster, name="roster"),
    path("audit/", core_views.audit_log, name="audit"),
    path("notifications/", core_views.notifications, name="notifications"),
    path("customers/", include("qingquan.customers.urls")),
    path("cases/", include("qingquan.tickets.urls")),
    path("telephony/", include("qingquan.telephony.urls")),
    path("console/", include("qingquan.console.urls")),
    path("knowledge/", include("qingquan.knowledge.urls")),
    path("callbacks/", include("qingquan.surveys.urls")),
    path("reports/", include("qingquan.reports.urls")),
    path("network/", include("qingquan.network.urls")),
    path("dispatch/", include("qingquan.dispatch.urls")),
    path("notices/", include("qingquan.notices.urls")),
    path("public/notices/", include("qingquan.notices.public_urls")),
    path("messaging/", include("qingquan.messaging.urls")),
    # The online service hall: its own prefix, templates and login (no staff session).
    path("portal/paper-invoices/", include("qingquan.payments.portal_urls")),
    path("portal/", include("qingquan.portal.urls")),
    path("assist/", include("qingquan.portal.staff_urls")),
    path("counter/", include("qingquan.portal.counter_urls")),
    path("payments/", include("qingquan.payments.urls")),
    path("connections/", include("qingquan.connections.urls")),
    path("commitments/", include("qingquan.reports.public_urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("csp-report/", csp_report, name="csp_report"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin, the API docs).
    path("favicon.ico", RedirectView.as_view(url=static("qingquan/favicon.svg"), permanent=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("api/partner/v1/", partner_api.urls),
    path("open311/", include("qingquan.open311.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns.append(path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}))

handler403 = "qingquan.core.errors.forbidden"
handler404 = "qingquan.core.errors.not_found"
handler500 = "qingquan.core.errors.server_error"
