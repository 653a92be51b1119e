from django.urls import path

from qingquan.notices import views

app_name = "notices"

urlpatterns = [
    path("", views.notice_list, name="list"),
    path("new/", views.notice_new, name="new"),
    path("<int:pk>/", views.notice_detail, name="detail"),
    path("<int:pk>/edit/", views.notice_edit, name="edit"),
    path("<int:pk>/progress/", views.notice_progress, name="progress"),
    path("<int:pk>/told/", views.notice_told, name="told"),
    path("<int:pk>/<str:action>/", views.notice_action, name="action"),
]
