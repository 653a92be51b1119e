from django.urls import path

from qingquan.console import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("banner/", views.call_banner, name="banner"),
    path("calls/<int:call_id>/", views.pop, name="pop"),
    path("calls/<int:call_id>/link/", views.link_case, name="link_case"),
    path("lookup/", views.lookup, name="lookup"),
    path("intake/", views.intake, name="intake"),
    path("customers/new/", views.customer_new, name="customer_new"),
    path("cases/", views.cases, name="cases"),
    path("cases/<str:number>/", views.case, name="case"),
    path("cases/<str:number>/notes/", views.note_add, name="note_add"),
    path("cases/<str:number>/files/", views.attachment_add, name="attachment_add"),
    path("files/<int:pk>/", views.attachment, name="attachment"),
    path("drafts/<str:key>/", views.draft, name="draft"),
    path("wallboard/", views.wallboard, name="wallboard"),
]
