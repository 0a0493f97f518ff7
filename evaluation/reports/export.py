"""CSV and JSON downloads of report tables, run times and the long judgment table: one code
path for the report pages and the API (`table_download`, `runs_download`,
`judgments_download`), in the FORMATS both accept.

Spreadsheet programs run a cell that starts with = + - @ (or a tab or carriage return) as a
formula; such text cells get a leading apostrophe (OWASP "CSV injection"). Numbers are kept.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from django.http import HttpResponse, StreamingHttpResponse

from annotate.models import Study
from evaluation.models import Judgment
from evaluation.reports.rating_tables import RATING_TABLES

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LEVELS = ("pair", "neuron")
FORMATS = ("csv", "json")


class Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def escape_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, dict | list):
        return escape_cell(json.dumps(value, sort_keys=True))
    return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow([escape_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([escape_cell(v) for v in row])


def csv_response(
    filename: str, header: list[str], rows: Iterable[Iterable]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def json_response(filename: str, data) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, indent=1, default=str), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _ci(ci: dict | None, metric: str) -> list:
    low, high = (ci or {}).get(metric) or (None, None)
    return [low, high]


def pairwise_rows(report: dict, level: str) -> tuple[list[str], list[list]]:
    metrics = ["percent", "iou", "kappa", "ac1"]
    header = ["layer", "first", "second", "n", "percent", "iou", "kappa", "pabak", "ac1"]
    header += ["positive"]
    header += ["negative", "a_yes_yes", "b_yes_no", "c_no_yes", "d_no_no"]
    header += [f"{m}_ci_{end}" for m in metrics for end in ("low", "high")]
    groups = [("Overall", report[level]["pairwise"]), *report[level]["pairwise_by_layer"].items()]
    rows = [
        [layer]
        + [p[k] for k in ("first", "second", "n", "percent", "iou", "kappa", "pabak", "ac1")]
        + [p[k] for k in ("positive", "negative", "a", "b", "c", "d")]
        + [x for m in metrics for x in _ci(p["ci"], m)]
        for layer, pairs in groups
        for p in pairs
    ]
    return header, rows


def by_layer_rows(report: dict, level: str) -> tuple[list[str], list[list]]:
    header = ["rater", "reference", "layer", "n", "percent", "iou", "kappa", "ac1"]
    header += [f"{m}_ci_{end}" for m in ("iou", "kappa") for end in ("low", "high")]
    rows = [
        [r[k] for k in header[:8]] + _ci(r["ci"], "iou") + _ci(r["ci"], "kappa")
        for r in report[level]["by_layer"]
    ]
    return header, rows


def yes_rate_rows(report: dict, level: str) -> tuple[list[str], list[list]]:
    header = ["rater", "layer", "n", "yes_rate", "ci_low", "ci_high"]
    return header, [
        [r["rater"], r["layer"], r["n"], r["rate"], *r["ci"]] for r in report[level]["yes_rates"]
    ]


def multi_rows(report: dict, level: str) -> tuple[list[str], list[list]]:
    header = ["group", "raters", "fleiss_kappa", "fleiss_items", "krippendorff_alpha"]
    header += ["alpha_items"]
    rows = [
        [g, " | ".join(m["raters"]), m["fleiss_kappa"], m["fleiss_items"]]
        + [m["krippendorff_alpha"], m["alpha_items"]]
        for g, m in report[level]["multi"].items()
    ]
    return header, rows


def reliability_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["rater", "judged", "yes_rate", "sensitivity", "specificity"]
    header += ["agreement_with_consensus", "gold_accuracy", "gold_items", "excluded"]
    return header, [[r[k] for k in header] for r in report["reliability"]]


def calibration_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["rater", "reference", "layer", "threshold", "percent", "kappa", "iou"]
    rows = []
    for c in report["calibration"]:
        for i, t in enumerate(c["thresholds"]):
            rows.append([c["rater"], c["reference"], "Overall", t, c["percent"][i]])
            rows[-1] += [c["kappa"][i], c["iou"][i]]
            for layer, curve in c["by_layer"].items():
                rows.append([c["rater"], c["reference"], layer, t, curve[i], None, None])
    return header, rows


def calibration_summary_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["rater", "reference", "n", "higher_means_yes", "roc_auc", "best_threshold"]
    header += ["best_kappa", "best_percent"]
    return header, [[c[k] for k in header] for c in report["calibration"]]


def sanity_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["rater", "role", "yes", "n", "yes_rate", "ci_low", "ci_high", "flagged", "reason"]
    rows = [
        [s["rater"], role, r["yes"], r["n"], r["rate"], *r["ci"], s["flagged"], s["reason"]]
        for s in report["sanity"]
        for role, r in s["rates"].items()
    ]
    return header, rows


def disputed_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["neuron", "layer", "score", "items", "raters"]
    return header, [[d[k] for k in header] for d in report["disputed"]]


def rater_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["name", "kind", "items", "yes_rate", "scored"]
    return header, [[r[k] for k in header] for r in report["raters"]]


def label_set_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    """Each label set's share of labels judged correct, per rater and layer."""
    header = ["label_set", "rater", "layer", "n", "share", "ci_low", "ci_high"]
    rows = [
        [s["name"], r["rater"], r["layer"], r["n"], r["rate"], *r["ci"]]
        for s in report.get("label_sets", [])
        for r in s["shares"]
    ]
    return header, rows


COMPARISON_HEADER = [
    "first", "second", "rater", "layer", "n", "first_share", "second_share", "difference",
    "ci_low", "ci_high", "both_yes", "first_only", "second_only", "both_no", "mcnemar_p",
]  # fmt: skip


def label_set_comparison_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    """Each pair of label sets' paired difference, per rater and layer."""
    rows = [
        [d[k] for k in COMPARISON_HEADER[:8]]
        + list(d["ci"])
        + [d[k] for k in COMPARISON_HEADER[10:]]
        for d in report.get("label_set_comparison", [])
    ]
    return COMPARISON_HEADER, rows


TABLES = {
    "raters": rater_rows,
    "pairwise": pairwise_rows,
    "by-layer": by_layer_rows,
    "yes-rates": yes_rate_rows,
    "multi-rater": multi_rows,
    "reliability": reliability_rows,
    "calibration": calibration_rows,
    "calibration-summary": calibration_summary_rows,
    "sanity": sanity_rows,
    "disputed": disputed_rows,
    "label-sets": label_set_rows,
    "label-set-comparison": label_set_comparison_rows,
    **RATING_TABLES,
}


def check_table(name: str, level: str) -> None:
    if name not in TABLES:
        raise ValueError(f"Unknown table {name!r}; tables: {', '.join(TABLES)}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def table_as_records(report: dict, name: str, level: str = "pair") -> list[dict]:
    header, rows = TABLES[name](report, level)
    return [dict(zip(header, row, strict=True)) for row in rows]


def table_download(study: Study, report: dict, name: str, level: str, fmt: str):
    """One report table as a CSV or JSON attachment; check_table and check_format first."""
    filename = f"{name}-{level}-study{study.pk}.{fmt}"
    if fmt == "json":
        return json_response(filename, table_as_records(report, name, level))
    header, rows = TABLES[name](report, level)
    return csv_response(filename, header, rows)


RUN_HEADER = ["rater", "kind", "pairs", "wall_seconds", "pairs_per_second", "stage_seconds"]


def runs_download(study: Study, runs: list[dict], fmt: str):
    filename = f"runs-study{study.pk}.{fmt}"
    if fmt == "json":
        return json_response(filename, runs)
    return csv_response(filename, RUN_HEADER, ([r[h] for h in RUN_HEADER] for r in runs))


def rows_download(filename: str, rows: list[dict], fmt: str):
    """Rows of dicts (e.g. the cross-study table) as CSV or JSON."""
    if fmt == "json":
        return json_response(f"{filename}.json", rows)
    header = list(rows[0]) if rows else ["study"]
    return csv_response(f"{filename}.csv", header, ([r[h] for h in header] for r in rows))


JUDGMENT_HEADER = [
    "study", "layer", "unit", "neuron_id", "label", "role", "rank", "image_sha256",
    "is_distractor", "rater", "rater_kind", "verdict", "score", "extra", "created",
    "is_sampled", "inclusion_probability",
]  # fmt: skip


def judgment_rows(study: Study) -> Iterator[list]:
    """Every judgment of the study, read in chunks from a server-side cursor; a sampled
    image's inclusion probability lets the whole-probe estimates be redone elsewhere."""
    rows = (
        Judgment.objects.filter(study=study)
        .order_by("neuron_image__neuron__layer", "neuron_image__neuron__unit", "id")
        .values_list(
            "neuron_image__neuron__layer",
            "neuron_image__neuron__unit",
            "neuron_image__neuron_id",
            "neuron_image__neuron__label",
            "neuron_image__neuron__role",
            "neuron_image__rank",
            "neuron_image__image__sha256",
            "neuron_image__is_distractor",
            "rater__name",
            "rater__kind",
            "verdict",
            "score",
            "extra",
            "created",
            "neuron_image__is_sampled",
            "neuron_image__inclusion_probability",
        )
    )
    for row in rows.iterator(chunk_size=5000):
        yield [study.name, *row[:-3], row[-3].isoformat(), *row[-2:]]


def judgments_csv(study: Study) -> StreamingHttpResponse:
    return csv_response(f"judgments-study{study.pk}.csv", JUDGMENT_HEADER, judgment_rows(study))


def _json_array(study: Study) -> Iterator[str]:
    yield "["
    for i, row in enumerate(judgment_rows(study)):
        yield ("," if i else "") + "\n" + json.dumps(dict(zip(JUDGMENT_HEADER, row, strict=True)))
    yield "\n]\n"


def judgments_json(study: Study) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_json_array(study), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="judgments-study{study.pk}.json"'
    return response


def judgments_download(study: Study, fmt: str) -> StreamingHttpResponse:
    return judgments_json(study) if fmt == "json" else judgments_csv(study)
