from django.urls import path

from qingquan.tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("new/", views.create, name="new"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/act/", views.act, name="act"),
]
