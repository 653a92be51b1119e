from django.urls import path

from qingquan.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.kpis, name="kpis"),
    path("drill/", views.drill, name="drill"),
    path("export.xlsx", views.excel, name="excel"),
    path("export.pdf", views.pdf, name="pdf"),
]
