from django.urls import path

from qingquan.payments import portal_views

app_name = "portal_paper"

urlpatterns = [
    path("", portal_views.paper_invoices, name="list"),
]
