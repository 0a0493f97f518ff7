from django.urls import path

from annotate.annotation import views

urlpatterns = [
    path("studies/<int:study_id>/", views.annotate_page, name="annotation-page"),
    path("studies/<int:study_id>/next/", views.next_units, name="annotation-next"),
    path("studies/<int:study_id>/submit/", views.submit, name="annotation-submit"),
    path("studies/<int:study_id>/undo/", views.undo, name="annotation-undo"),
    path("studies/<int:study_id>/answers/", views.answers, name="annotation-answers"),
    path(
        "studies/<int:study_id>/images/<int:lease_id>/<slug:image_id>/",
        views.unit_image,
        name="annotation-image",
    ),
    path("studies/<int:study_id>/manage/", views.manage, name="annotation-manage"),
    path("join/<str:token>/", views.join, name="annotation-join"),
    path("crowd/<str:token>/", views.crowd, name="annotation-crowd"),
]
