"""Counter pages (under /counter/, staff login)."""

from django.urls import path

from qingquan.portal import counter_views

app_name = "counter"

urlpatterns = [
    path("", counter_views.take, name="take"),
    path("signatures/<int:pk>.png", counter_views.signature, name="signature"),
    path("by-location/", counter_views.by_location, name="by_location"),
]
