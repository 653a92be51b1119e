from django.urls import path

from qingquan.payments import views

app_name = "payments"

urlpatterns = [
    path("notify/<str:provider>/", views.notify, name="notify"),
    path("sandbox/<str:out_trade_no>/", views.sandbox_cashier, name="sandbox"),
]
