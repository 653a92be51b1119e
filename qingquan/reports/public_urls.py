from django.urls import path

from qingquan.reports import views

urlpatterns = [path("", views.public_commitments, name="commitments")]
