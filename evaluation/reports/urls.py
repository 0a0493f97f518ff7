from django.urls import path

from evaluation.reports import views

urlpatterns = [
    path("studies/<int:study_id>/", views.study_report, name="study-report"),
    path("studies/<int:study_id>/report.json", views.study_report_json, name="study-report-json"),
    path(
        "studies/<int:study_id>/disagreements/",
        views.disagreements,
        name="study-report-disagreements",
    ),
    path(
        "studies/<int:study_id>/judgments.<str:fmt>",
        views.study_judgments,
        name="study-report-judgments",
    ),
    path("studies/<int:study_id>/runs.<str:fmt>", views.study_runs, name="study-report-runs"),
    path(
        "studies/<int:study_id>/tables/<slug:table>.<str:fmt>",
        views.study_table,
        name="study-report-table",
    ),
    path(
        "studies/<int:study_id>/sanity-probes/",
        views.create_sanity_probes,
        name="study-report-sanity-probes",
    ),
    path("cross-study/", views.cross_study_table, name="cross-study-report"),
]
