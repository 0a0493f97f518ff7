"""The REST API under /api/: resources, a token endpoint for scripts, schema and docs."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from annotate.api.annotation import AnnotationViewSet
from annotate.api.members import AnnotatorViewSet, InviteViewSet
from annotate.api.views import ConceptSetViewSet, NeuronViewSet, StudyViewSet
from evaluation.api.reports import ReportViewSet
from evaluation.api.views import JudgmentViewSet, RaterViewSet, RunViewSet

# The docs pages may load nothing from outside this server (no fonts, no logo from a CDN),
# so they work offline and tell no third party who reads them. Both UIs start from inline
# scripts and styles; Redoc's search runs in a blob: worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def docs_page(view):
    """A docs page: sign in first (a redirect to the login page), then local assets only."""

    @wraps(view)
    def page(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CSP
        return response

    return login_required(page)


router = DefaultRouter()
router.register("studies", StudyViewSet, basename="study")
router.register(r"studies/(?P<study_id>\d+)/invites", InviteViewSet, basename="study-invite")
router.register(r"studies/(?P<study_id>\d+)/annotators", AnnotatorViewSet, basename="annotator")
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
    path(
        "docs/", docs_page(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"
    ),
    path(
        "redoc/",
        docs_page(
            SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html")
        ),
        name="api-redoc",
    ),
    path("", include(router.urls)),
]
