from django.urls import path

from qingquan.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.search, name="search"),
    path("<int:customer_id>/", views.detail, name="detail"),
    path("invoices/<int:invoice_id>.pdf", views.invoice_download, name="invoice_pdf"),
    path("bills/<int:bill_id>/invoice/", views.invoice_issue, name="invoice_issue"),
]
