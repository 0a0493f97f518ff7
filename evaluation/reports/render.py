"""What the report pages show, assembled from the report: the page's context, its heatmap
data and its tables pivoted by layer."""

from __future__ import annotations

import json

from django.conf import settings

from annotate.models import Study
from evaluation.agreement.pairwise import DEFINITIONS
from evaluation.reports import export
from evaluation.reports.cache import cached_timings, get_study_report
from evaluation.reports.options import ReportOptions
from evaluation.reports.ratings import ratings_page


def study_report_context(study: Study, options: ReportOptions, report_key: str, query: str) -> dict:
    """The report page's context; `options` in force, `report_key` read before the report."""
    report = get_study_report(study, options)
    left_out = {r["rater"]: r["reason"] for r in report["left_out"]}
    heatmap = {
        level: {
            "raters": [r["name"] for r in report["raters"]],
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
        "humans": [r["rater"] for r in report["reliability"]],
        "layer_columns": [*report["layers"], "Overall"],
        "yes_rates": pivot_by_layer(report["neuron"]["yes_rates"], [*report["layers"], "Overall"]),
        "by_layer": {
            level: pivot_by_layer(report[level]["by_layer"], [*report["layers"], "Overall"])
            for level in export.LEVELS
        },
    }


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
