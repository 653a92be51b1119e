from django.urls import path

from qingquan.notices import views

app_name = "public_notices"

urlpatterns = [
    path("", views.public_list, name="list"),
    path("feed.atom", views.public_feed, name="feed"),
    path("<str:number>/", views.public_detail, name="detail"),
]
