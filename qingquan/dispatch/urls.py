from django.urls import path

from qingquan.dispatch import views

app_name = "dispatch"

urlpatterns = [
    path("", views.board, name="board"),
    path("list/", views.board_list, name="board_list"),
    path("jobs/new/", views.job_new, name="job_new"),
    path("jobs/<str:number>/", views.job_page, name="job"),
    path("crew/", views.crew_app, name="crew_app"),
    path("crew/jobs/", views.crew_jobs, name="crew_jobs"),
]
