from django.urls import path

from qingquan.connections import report_views, views

app_name = "connections"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("new/", views.new, name="new"),
    path("calls/<int:pk>/", views.call_record, name="call"),
    path("report/", views.report, name="report"),
    path("report/drill/", report_views.drill, name="report_drill"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/act/<str:action>/", views.act, name="act"),
    path("<str:number>/document/", views.document, name="document"),
    path("<str:number>/contract.pdf", views.contract, name="contract"),
]
