"""The REST API under /api/: resources, a token endpoint for scripts, schema and docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from annotate.api.annotation import AnnotationViewSet
from annotate.api.views import ConceptSetViewSet, NeuronViewSet, StudyViewSet
from evaluation.api.reports import ReportViewSet
from evaluation.api.views import JudgmentViewSet, RaterViewSet, RunViewSet

router = DefaultRouter()
router.register("studies", StudyViewSet, basename="study")
router.register("concept-sets", ConceptSetViewSet, basename="conceptset")
router.register("neurons", NeuronViewSet, basename="neuron")
router.register("raters", RaterViewSet, basename="rater")
router.register("runs", RunViewSet, basename="run")
router.register("judgments", JudgmentViewSet, basename="judgment")
router.register("annotate", AnnotationViewSet, basename="annotate")
router.register("reports", ReportViewSet, basename="report")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include(router.urls)),
]
