from django.urls import path

from qingquan.network import views

app_name = "network"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("plan/", views.plan, name="plan"),
    path("plan/accounts/", views.plan_accounts, name="plan_accounts"),
    path("plan/hydraulic/", views.hydraulic, name="hydraulic"),
    path("cases/<str:number>/merge/", views.case_merge, name="case_merge"),
]
