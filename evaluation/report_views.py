"""Report pages and exports (staff only). Each view makes one call into reports/exports."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotate.models import Study
from evaluation import exports
from evaluation.agreement.pairwise import DEFINITIONS
from evaluation.report_tables import (
    cached_run_times,
    cross_study,
    disputed_details,
    study_report_with_runs_json,
)
from evaluation.reports import (
    access_reports,
    access_study_report,
    check_report_request,
    get_study_report,
    report_cache_key,
)
from evaluation.sanity import do_create_sanity_probes

FORMATS = ("csv", "json")


def _options(request):
    return check_report_request(request.GET)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise Http404("Exports come as .csv or .json")


@require_GET
@login_required
def study_report(request, study_id: int):
    study = access_study_report(request.user, study_id)
    try:
        options = _options(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    report_key = report_cache_key(study, options)  # read before the report: never newer
    report = get_study_report(study, options)
    heatmap = {
        level: {
            "raters": [r["name"] for r in report["raters"]],
            "pairs": {"Overall": report[level]["pairwise"]} | report[level]["pairwise_by_layer"],
        }
        for level in exports.LEVELS
    }
    context = {
        "study": study,
        "report": report,
        "report_key": report_key,
        "options": options,
        "runs": cached_run_times(study),
        "definitions": DEFINITIONS,
        "heatmap": heatmap,
        "calibration": report["calibration"],
        "tables": list(exports.TABLES),
        "query": request.GET.urlencode(),
        "humans": [r["rater"] for r in report["reliability"]],
        "layer_columns": [*report["layers"], "Overall"],
        "yes_rates": pivot_by_layer(report["neuron"]["yes_rates"], [*report["layers"], "Overall"]),
        "by_layer": {
            level: pivot_by_layer(report[level]["by_layer"], [*report["layers"], "Overall"])
            for level in exports.LEVELS
        },
    }
    return render(request, "reports/study_report.html", context)


def pivot_by_layer(rows: list[dict], columns: list[str]) -> list[dict]:
    """Rater rows x layer columns, like the reference Table 1."""
    cells: dict[str, dict[str, dict]] = {}
    for r in rows:
        cells.setdefault(r["rater"], {})[r["layer"]] = r
    return [{"rater": k, "cells": [v.get(c) for c in columns]} for k, v in cells.items()]


@require_POST
@login_required
def create_sanity_probes(request, study_id: int):
    study = access_study_report(request.user, study_id)
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
        body = study_report_with_runs_json(study, _options(request))
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
        exports.check_table(table, level)
        report = get_study_report(study, _options(request))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    name = f"{table}-{level}-study{study.pk}"
    if fmt == "json":
        return exports.json_response(f"{name}.json", exports.table_as_records(report, table, level))
    header, rows = exports.TABLES[table](report, level)
    return exports.csv_response(f"{name}.csv", header, rows)


@require_GET
@login_required
def study_runs(request, study_id: int, fmt: str):
    _check_format(fmt)
    study = access_study_report(request.user, study_id)
    rows = cached_run_times(study)
    if fmt == "json":
        return exports.json_response(f"runs-study{study.pk}.json", rows)
    header = ["rater", "kind", "pairs", "wall_seconds", "pairs_per_second", "stage_seconds"]
    return exports.csv_response(
        f"runs-study{study.pk}.csv", header, ([r[h] for h in header] for r in rows)
    )


@require_GET
@login_required
def study_judgments(request, study_id: int, fmt: str):
    _check_format(fmt)
    study = access_study_report(request.user, study_id)
    return exports.judgments_json(study) if fmt == "json" else exports.judgments_csv(study)


@require_GET
@login_required
def disagreements(request, study_id: int):
    study = access_study_report(request.user, study_id)
    try:
        options = _options(request)
        limit = min(max(int(request.GET.get("limit", 20)), 1), 50)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    report = get_study_report(study, options)
    neurons = disputed_details(study, report, limit)
    return render(
        request, "reports/disagreements.html", {"study": study, "neurons": neurons, "limit": limit}
    )


@require_GET
@login_required
def cross_study_table(request):
    access_reports(request.user)
    try:
        options = _options(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    ids = [int(i) for i in request.GET.getlist("study") if i.isdigit()]
    studies = Study.objects.filter(pk__in=ids) if ids else Study.objects.all()
    rows = cross_study(studies.select_related("concept_set").order_by("name"), options)
    fmt = request.GET.get("format")
    if fmt == "json":
        return exports.json_response("cross-study.json", rows)
    if fmt == "csv":
        header = list(rows[0]) if rows else ["study"]
        return exports.csv_response(
            "cross-study.csv", header, ([r[h] for h in header] for r in rows)
        )
    raters = sorted({r["rater"] for r in rows})
    grid: dict = {}
    for r in rows:
        grid.setdefault(r["study_id"], {"row": r, "cells": {}})["cells"][r["rater"]] = r
    table = [
        {"study": g["row"], "cells": [g["cells"].get(name) for name in raters]}
        for g in grid.values()
    ]
    return render(
        request,
        "reports/cross_study.html",
        {"raters": raters, "table": table, "rows_json": json.dumps(rows, default=str)},
    )
