from django.urls import path

from annotate import views

urlpatterns = [
    path("", views.home, name="home"),
    path("studies/import/", views.study_import, name="study-import"),
    path("studies/<int:study_id>/", views.study_detail, name="study-detail"),
    path("studies/<int:study_id>/add/", views.study_add, name="study-add"),
    path(
        "studies/<int:study_id>/sample-probe-images/",
        views.study_sample_probe_images,
        name="study-sample-probe-images",
    ),
]
