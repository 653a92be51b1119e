from django.urls import path

from qingquan.payments import console_views, staff_views, views

app_name = "payments"

urlpatterns = [
    path("notify/<str:provider>/", views.notify, name="notify"),
    path("sandbox/<str:out_trade_no>/", views.sandbox_cashier, name="sandbox"),
    path("staff/refunds/", staff_views.refund_list, name="refunds"),
    path("staff/refunds/new/", staff_views.refund_new, name="refund_new"),
    path("staff/refunds/<int:pk>/", staff_views.refund_detail, name="refund"),
    path("staff/refunds/<int:pk>/decide/", staff_views.refund_decide, name="refund_decide"),
    path("staff/reconciliation/", staff_views.reconciliation_list, name="reconciliations"),
    path("staff/reconciliation/run/", staff_views.reconciliation_run, name="reconcile"),
    path(
        "staff/reconciliation/<int:pk>/",
        staff_views.reconciliation_detail,
        name="reconciliation",
    ),
    path("staff/paper/", staff_views.parcel_list, name="parcels"),
    path("staff/paper/<int:pk>/advance/", staff_views.parcel_advance, name="parcel_advance"),
    path("console/accounts/<int:account_id>/", console_views.console_pay, name="console_pay"),
    path("console/orders/<str:out_trade_no>/", console_views.console_order, name="console_order"),
]
