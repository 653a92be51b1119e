from django.urls import path

from qingquan.surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("<int:pk>/record/", views.record, name="record"),
    path("<int:pk>/link/", views.link, name="link"),
    path("s/<str:token>/", views.survey, name="survey"),
]
