"""Open311 GeoReport v2 URLs: /open311/discovery.{fmt} and /open311/v2/… ({fmt}: xml, json)."""

from django.urls import path, re_path
from django.views.generic import RedirectView

from qingquan.open311 import views

app_name = "open311"
F = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(r"^discovery" + F, views.discovery, name="discovery"),
    path("v2/", RedirectView.as_view(url="/open311/discovery.json"), name="root"),
    re_path(r"^v2/services" + F, views.services, name="services"),
    re_path(r"^v2/services/(?P<code>[-\w]+)" + F, views.service_definition, name="service"),
    re_path(r"^v2/requests" + F, views.requests, name="requests"),
    re_path(r"^v2/requests/(?P<request_id>[-\w]+)" + F, views.request_detail, name="request"),
    re_path(r"^v2/tokens/(?P<token_id>[-\w]+)" + F, views.token, name="token"),
]
