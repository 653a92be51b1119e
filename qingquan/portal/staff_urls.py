"""Staff pages of the online hall's services (under /assist/, staff login)."""

from django.urls import path

from qingquan.portal import assist_views

app_name = "portal_staff"

urlpatterns = [
    path("", assist_views.to_confirm, name="assist"),
    path("<int:pk>/confirm/", assist_views.confirm, name="assist_confirm"),
]
