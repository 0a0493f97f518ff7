"""Report pages and downloads (staff only). Each view makes one call into the package."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotate.models import Study
from annotate.permissions import access_study, visible_studies
from evaluation.agreement.figures import DISPUTED_LIMIT
from evaluation.reports import export
from evaluation.reports.cache import (
    cached_timings,
    get_study_report,
    options_in_force,
    report_cache_key,
    report_document_json,
)
from evaluation.reports.cross_study import cross_study
from evaluation.reports.options import check_report_options
from evaluation.reports.read import DISPUTED_PAGE
from evaluation.reports.render import (
    cross_study_context,
    disagreements_context,
    study_report_context,
)
from evaluation.sanity import do_create_sanity_probes


def access_reports(user) -> None:
    """Reports show every rater's verdicts, so they are for staff only."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise PermissionDenied("Reports are for staff.")


def access_study_report(user, study_id: int, need: str = "view") -> Study:
    access_reports(user)
    return access_study(user, study_id, need=need)


def _options(request):
    return check_report_options(request.GET)


def _check_format(fmt: str) -> None:
    try:
        export.check_format(fmt)
    except ValueError:
        raise Http404("Exports come as .csv or .json") from None


@require_GET
@login_required
def study_report(request, study_id: int):
    study = access_study_report(request.user, study_id)
    try:
        options = options_in_force(study, _options(request))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    report_key = report_cache_key(study, options)  # read before the report: never newer
    context = study_report_context(study, options, report_key, request.GET.urlencode())
    return render(request, "reports/study_report.html", context)


@require_POST
@login_required
def create_sanity_probes(request, study_id: int):
    study = access_study_report(request.user, study_id, need="manage")
    try:
        per_layer = int(request.POST.get("per_layer", 20))
        result = do_create_sanity_probes(study, per_layer=per_layer, seed=0)
    except ValueError as exc:
        messages.error(request, f"No probes created: {exc}")
    else:
        made = sum(result.created.values())
        messages.success(
            request,
            f"{made} sanity probes created; automatic raters rate them in their next run."
            if made
            else "Every sampled neuron already has its probes.",
        )
    return redirect("study-report", study_id=study.pk)


@require_GET
@login_required
def study_report_json(request, study_id: int):
    study = access_study_report(request.user, study_id)
    try:
        body = report_document_json(study, _options(request))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="report-study{study.pk}.json"'
    return response


@require_GET
@login_required
def study_table(request, study_id: int, table: str, fmt: str):
    _check_format(fmt)
    study = access_study_report(request.user, study_id)
    level = request.GET.get("level", "pair")
    try:
        export.check_table(table, level)
        report = get_study_report(study, _options(request))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    return export.table_download(study, report, table, level, fmt)


@require_GET
@login_required
def study_runs(request, study_id: int, fmt: str):
    _check_format(fmt)
    study = access_study_report(request.user, study_id)
    return export.runs_download(study, cached_timings(study)["runs"], fmt)


@require_GET
@login_required
def study_judgments(request, study_id: int, fmt: str):
    _check_format(fmt)
    study = access_study_report(request.user, study_id)
    return export.judgments_download(study, fmt)


@require_GET
@login_required
def disagreements(request, study_id: int):
    study = access_study_report(request.user, study_id)
    try:
        options = options_in_force(study, _options(request))
        limit = min(max(int(request.GET.get("limit", DISPUTED_PAGE)), 1), DISPUTED_LIMIT)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    context = disagreements_context(study, options, limit, request.GET.urlencode())
    return render(request, "reports/disagreements.html", context)


@require_GET
@login_required
def cross_study_table(request):
    access_reports(request.user)
    try:
        options = _options(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    ids = [int(i) for i in request.GET.getlist("study") if i.isdigit()]
    studies = visible_studies(request.user, "view")
    studies = studies.filter(pk__in=ids) if ids else studies
    rows = cross_study(studies.select_related("concept_set").order_by("name"), options)
    fmt = request.GET.get("format")
    if fmt in export.FORMATS:
        return export.rows_download("cross-study", rows, fmt)
    return render(
        request,
        "reports/cross_study.html",
        cross_study_context(rows),
    )
