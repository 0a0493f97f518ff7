"""Agreement reports and exports through the API (staff only): the same report the report
pages show, an agreement matrix for scripts, and every table as CSV or JSON."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from annotate.api.permissions import IsStaff
from annotate.permissions import access_study
from evaluation.models import Judgment, LabelJudgment
from evaluation.reports import export
from evaluation.reports.cache import get_study_report, options_in_force, report_document_json
from evaluation.reports.options import check_report_options

METRICS = ("kappa", "iou", "ac1", "percent", "pabak")

REPORT_PARAMETERS = [
    OpenApiParameter("rule", str, enum=["any", "majority", "all"], description="Neuron level"),
    OpenApiParameter("reference", str, description="Human consensus: majority or dawid_skene"),
    OpenApiParameter("n_boot", int, description="Bootstrap resamples for CIs (0..5000)"),
    OpenApiParameter(
        "min_gold",
        float,
        description="Leave out annotators under this gold accuracy (default: the study's bar)",
    ),
    OpenApiParameter("exclude_id", int, many=True, description="Rater ids to leave out"),
    OpenApiParameter("exclude", str, many=True, description="Annotator names to leave out"),
    OpenApiParameter(
        "label_set", str, description="One label set (name or id); default: all together"
    ),
    OpenApiParameter("rating_threshold", int, description="A rating 1-5 from this on is yes"),
]
LEVEL = OpenApiParameter("level", str, enum=list(export.LEVELS), description="pair or neuron")
OUTPUT = OpenApiParameter(
    "output", str, enum=list(export.FORMATS), description="csv (default) or json"
)


def agreement_matrix(report: dict, metric: str, level: str) -> dict:
    """Raters x raters matrix of one pairwise metric; 1.0 on the diagonal, None where two
    raters share no item."""
    raters = [r["name"] for r in report["raters"]]
    index = {name: i for i, name in enumerate(raters)}
    matrix: list[list[float | None]] = [
        [1.0 if i == j else None for j in range(len(raters))] for i in range(len(raters))
    ]
    for pair in report[level]["pairwise"]:
        i, j = index.get(pair["first"]), index.get(pair["second"])
        if i is not None and j is not None:
            matrix[i][j] = matrix[j][i] = pair[metric]
    return {"metric": metric, "level": level, "raters": raters, "matrix": matrix}


class NothingToReport(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This study has no judgments yet, so there is no agreement to report."
    default_code = "no_judgments"


def _choice(params, name: str, choices, default: str) -> str:
    value = params.get(name, default)
    if value not in choices:
        raise ValidationError({name: f"must be one of {', '.join(choices)}"})
    return value


class ReportViewSet(viewsets.ViewSet):
    """Agreement between raters on one study (pass the study id)."""

    permission_classes = [IsStaff]
    lookup_field = "study_id"
    lookup_value_regex = r"\d+"

    def _options(self, request, study_id):
        study = access_study(request.user, study_id, need="view")
        judged = Judgment.objects.filter(study=study).exists()
        if not judged and not LabelJudgment.objects.filter(study=study).exists():
            raise NothingToReport()
        try:
            return study, options_in_force(study, check_report_options(request.query_params))
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from None

    def _report(self, request, study_id):
        study, options = self._options(request, study_id)
        return study, get_study_report(study, options)

    @extend_schema(parameters=REPORT_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def retrieve(self, request, study_id=None):
        """The whole report, the same document as the report page's report.json: raters,
        pairwise and multi-rater agreement, per layer, calibration, sanity checks, annotator
        reliability, who was left out of the consensus and why, the study and its run times.
        Always JSON: it is served from the cache as encoded bytes."""
        study, options = self._options(request, study_id)
        return HttpResponse(report_document_json(study, options), content_type="application/json")

    @extend_schema(
        parameters=[
            OpenApiParameter("metric", str, enum=list(METRICS)),
            LEVEL,
            *REPORT_PARAMETERS,
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True)
    def matrix(self, request, study_id=None):
        """Raters x raters matrix of one agreement metric (Cohen's kappa by default)."""
        metric = _choice(request.query_params, "metric", METRICS, "kappa")
        level = _choice(request.query_params, "level", export.LEVELS, "pair")
        try:
            report = self._report(request, study_id)[1]
        except NothingToReport:
            return Response({"metric": metric, "level": level, "raters": [], "matrix": []})
        return Response(agreement_matrix(report, metric, level))

    @extend_schema(
        parameters=[
            OpenApiParameter("table", str, enum=list(export.TABLES), required=True),
            LEVEL,
            OUTPUT,
            *REPORT_PARAMETERS,
        ],
        responses={200: OpenApiTypes.BINARY},
    )
    @action(detail=True)
    def table(self, request, study_id=None):
        """One report table as CSV (cells that a spreadsheet would run are escaped) or JSON."""
        params = request.query_params
        table = _choice(params, "table", list(export.TABLES), "pairwise")
        level = _choice(params, "level", export.LEVELS, "pair")
        output = _choice(params, "output", export.FORMATS, "csv")
        study, report = self._report(request, study_id)
        return export.table_download(study, report, table, level, output)

    @extend_schema(parameters=[OUTPUT], responses={200: OpenApiTypes.BINARY})
    @action(detail=True)
    def judgments(self, request, study_id=None):
        """Every judgment of the study (the long table), streamed as CSV or JSON."""
        study = access_study(request.user, study_id, need="view")
        output = _choice(request.query_params, "output", export.FORMATS, "csv")
        return export.judgments_download(study, output)
