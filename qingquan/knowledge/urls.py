from django.urls import path

from qingquan.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.propose, name="propose"),
    path("review/", views.review, name="review"),
    path("synonyms/", views.synonyms, name="synonyms"),
    path("synonyms/<int:pk>/", views.synonym_edit, name="synonym_edit"),
    path("review/<int:pk>/", views.decide, name="decide"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.propose, name="edit"),
    path("<int:pk>/link/", views.link, name="link"),
]
