"""What the report pages show, assembled from the report: the page's context, its heatmap
data and its tables pivoted by layer."""

from __future__ import annotations

import json

from django.conf import settings

from annotate.models import Study
from evaluation.agreement.pairwise import DEFINITIONS
from evaluation.reports import export
from evaluation.reports.cache import cached_timings, get_study_report
from evaluation.reports.label_sets import study_label_sets
from evaluation.reports.options import ReportOptions
from evaluation.reports.probe_set import dense_page_rows, page_rows
from evaluation.reports.ratings import ratings_page
from evaluation.reports.read import DISPUTED_PAGE, disputed_details


def study_report_context(study: Study, options: ReportOptions, report_key: str, query: str) -> dict:
    """The report page's context; `options` in force, `report_key` read before the report."""
    report = get_study_report(study, options)
    left_out = {r["rater"]: r["reason"] for r in report["left_out"]}
    heatmap = {
        level: {
            "raters": [r["name"] for r in report["raters"]],
            "names": report.get("display_names", {}),
            "left_out": list(left_out),
            "pairs": {"Overall": report[level]["pairwise"]} | report[level]["pairwise_by_layer"],
        }
        for level in export.LEVELS
    }
    return {
        "study": study,
        "report": report,
        "report_key": report_key,
        "fragment_seconds": settings.NEURONJUDGE_REPORT_FRAGMENT_SECONDS,
        "left_out": left_out,
        "raters": [r | {"left_out": left_out.get(r["name"], "")} for r in report["raters"]],
        "options": options,
        **cached_timings(study),  # runs, annotation_spans
        "definitions": DEFINITIONS,
        "heatmap": heatmap,
        "calibration": report["calibration"],
        "tables": list(export.TABLES),
        **ratings_page(report),  # ratings_heatmap, mean_rating_columns, mean_rating_rows
        "query": query,
        "probe_set_rows": page_rows(report.get("probe_set")),
        "probe_set_dense_rows": dense_page_rows(report.get("probe_set")),
        "humans": [r["rater"] for r in report["reliability"]],
        "layer_columns": [*report["layers"], "Overall"],
        "yes_rates": pivot_by_layer(report["neuron"]["yes_rates"], [*report["layers"], "Overall"]),
        "by_layer": {
            level: pivot_by_layer(report[level]["by_layer"], [*report["layers"], "Overall"])
            for level in export.LEVELS
        },
        **label_set_context(study, report),
        **disputed_link(report),
    }


def label_set_context(study: Study, report: dict) -> dict:
    """The label-set picker (studies with more than one) and the comparison tables."""
    columns = [*report["layers"], "Overall"]
    names = report.get("display_names", {})
    shares = [
        {
            "name": s["name"],
            "neurons": s["neurons"],
            "rows": with_short_names(s["shares"], names, columns),
        }
        for s in report.get("label_sets", [])
    ]
    cells: dict[tuple, dict[str, dict]] = {}
    for d in report.get("label_set_comparison", []):
        cells.setdefault((d["first"], d["second"], d["rater"]), {})[d["layer"]] = d
    comparison = [
        {
            "first": a,
            "second": b,
            "rater": r,
            "short": names.get(r, r),
            "cells": [v.get(c) for c in columns],
        }
        for (a, b, r), v in cells.items()
    ]
    label_sets = study_label_sets(study)
    return {
        "label_set_choices": label_sets if len(label_sets) > 1 else [],
        "label_set_shares": shares,
        "label_set_comparison": comparison,
    }


def disagreements_context(study: Study, options: ReportOptions, limit: int, query: str) -> dict:
    """The disagreement browser's context: the `limit` most disputed neurons in detail."""
    report = get_study_report(study, options)
    neurons = disputed_details(study, report, limit)
    return {
        "study": study,
        "neurons": neurons,
        "listed": len(report["disputed"]),  # as many as the report lists (at most 50)
        "options": options,
        "query": query,
        "several_label_sets": study.label_sets.count() > 1,
    }


def disputed_link(report: dict) -> dict:
    """What the report's link to the disagreement browser says: as many neurons as the
    browser then shows."""
    return {"disputed_shown": min(len(report["disputed"]), DISPUTED_PAGE)}


def with_short_names(rows: list[dict], names: dict[str, str], columns: list[str]) -> list[dict]:
    """`pivot_by_layer` rows, each with its rater's short name."""
    return [r | {"short": names.get(r["rater"], r["rater"])} for r in pivot_by_layer(rows, columns)]


def pivot_by_layer(rows: list[dict], columns: list[str]) -> list[dict]:
    """Rater rows x layer columns, like the reference Table 1."""
    cells: dict[str, dict[str, dict]] = {}
    for r in rows:
        cells.setdefault(r["rater"], {})[r["layer"]] = r
    return [{"rater": k, "cells": [v.get(c) for c in columns]} for k, v in cells.items()]


def cross_study_context(rows: list[dict]) -> dict:
    """Studies x raters, each cell a study's row for that rater."""
    raters = sorted({r["rater"] for r in rows})
    grid: dict = {}
    for r in rows:
        grid.setdefault(r["study_id"], {"row": r, "cells": {}})["cells"][r["rater"]] = r
    table = [
        {"study": g["row"], "cells": [g["cells"].get(name) for name in raters]}
        for g in grid.values()
    ]
    return {"raters": raters, "table": table, "rows_json": json.dumps(rows, default=str)}
