from django.urls import path

from evaluation import views

urlpatterns = [
    path("start/<int:study_id>/", views.start_run, name="run-start"),
    path("<int:run_id>/", views.detail, name="run-detail"),
    path("<int:run_id>/status.json", views.status, name="run-status"),
    path("<int:run_id>/cancel/", views.cancel, name="run-cancel"),
    path("<int:run_id>/resume/", views.resume, name="run-resume"),
]
