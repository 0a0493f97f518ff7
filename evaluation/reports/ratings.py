"""The report's sections for neuron-level questions, each present only when the study has
such judgments: `ratings` (1-5 per label) and `best_of` (the best of a unit's labels).

`ratings` holds the rater-pair ordinal agreement (per label set and over all, label_set
None), Krippendorff's alpha over every rater, the mean rating per label set per layer, and
`binarised`: yes/no raters and rating raters compared on each label
(`evaluation.agreement.binarised`), ratings at or above `threshold` counting as yes.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd

from annotate.models import Neuron, Study
from evaluation.agreement.binarised import label_votes
from evaluation.agreement.ordinal import (
    alpha_all_raters,
    mean_ratings,
    ordinal_agreement,
    rating_matrix,
    win_rates,
)
from evaluation.agreement.pairwise import pairwise_overall_and_by_group
from evaluation.label_judgments import choice_table, rating_table
from evaluation.reports.options import ReportOptions


def plain(value) -> object:
    """JSON-ready data; NaN becomes None, as in the rest of the report."""
    return json.loads(json.dumps(value, default=_leaf), parse_constant=lambda _: None)


def _leaf(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot put {type(value).__name__} in a report")


def rating_sections(study: Study, options: ReportOptions, judgments: pd.DataFrame) -> dict:
    """The `ratings` and `best_of` keys of the report (none when the study has neither).
    `judgments` is the report's long yes/no table with rater names."""
    sections = {}
    ratings = rating_table(study)
    if len(ratings):  # the labels are read only then: a study may have 100,000 neurons
        labels = real_labels(study)
        ratings = ratings[ratings["neuron"].isin(labels.index)]
    if len(ratings):
        sections["ratings"] = ratings_section(ratings, judgments, labels, study, options)
    choices = choice_table(study)
    if len(choices):
        sections["best_of"] = best_of_section(choices, study, options)
    return sections


def real_labels(study: Study) -> pd.DataFrame:
    """The study's real labels (neuron id index) with their layer and label set."""
    rows = Neuron.objects.filter(study=study, role=Neuron.Role.REAL).values_list(
        "id", "layer", "label_set__name"
    )
    return pd.DataFrame(list(rows), columns=["id", "layer", "label_set"]).set_index("id")


def ratings_section(
    ratings: pd.DataFrame,
    judgments: pd.DataFrame,
    labels: pd.DataFrame,
    study: Study,
    options: ReportOptions,
) -> dict:
    set_order = list(study.label_sets.values_list("name", flat=True))
    groups = [(None, ratings), *ratings.groupby("label_set", sort=True)]
    means = mean_ratings(ratings, options.n_boot, options.seed).to_dict("records")
    return plain(
        {
            "threshold": options.rating_threshold,
            "layers": _codes(ratings["layer"], list(study.layers))[1],
            "raters": rating_raters(ratings),
            "ordinal_agreement": in_study_order(ordinal_agreement(ratings), set_order),
            "alpha_all_raters": in_study_order(
                [all_raters_row(name, part) for name, part in groups], set_order
            ),
            "mean_ratings": in_study_order(means, set_order),
            "binarised": binarised_section(ratings, judgments, labels, study, options),
        }
    )


def in_study_order(rows: list, set_order: list[str]) -> list:
    """Rows (dicts or dataclasses with a label_set) with all label sets (None) first, then
    in the study's label set order; the sort is stable, so each set's rows keep theirs."""

    def key(row) -> int:
        name = row["label_set"] if isinstance(row, dict) else row.label_set
        return -1 if name is None else (set_order.index(name) if name in set_order else 1 << 30)

    return sorted(rows, key=key)


def rating_raters(ratings: pd.DataFrame) -> list[dict]:
    """Each rating rater: labels answered, rated, mean rating, shares flagged."""
    grouped = ratings.groupby("rater", sort=True)
    return [
        {
            "rater": str(name),
            "labels": len(part),
            "rated": int(part["rating"].notna().sum()),
            "mean": float(part["rating"].mean()),
            "uninterpretable": float(part["uninterpretable"].mean()),
            "none_fits": float(part["none_fits"].mean()),
        }
        for name, part in grouped
    ]


def all_raters_row(label_set, part: pd.DataFrame) -> dict:
    raters, _, matrix = rating_matrix(part)
    return {
        "label_set": None if label_set is None else str(label_set),
        "raters": raters,
        "labels": int((np.sum(~np.isnan(matrix), axis=0) >= 2).sum()),
        "alpha_ordinal": alpha_all_raters(part, "ordinal"),
        "alpha_interval": alpha_all_raters(part, "interval"),
    }


def _codes(values: pd.Series, order: list[str]) -> tuple[np.ndarray, list[str]]:
    """Group codes of `values`, the names in `order` first, the rest sorted after them."""
    present = set(values)
    names = [n for n in order if n in present] + sorted(present - set(order))
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[v] for v in values], dtype=np.int64), names


def binarised_section(
    ratings: pd.DataFrame,
    judgments: pd.DataFrame,
    labels: pd.DataFrame,
    study: Study,
    options: ReportOptions,
) -> dict:
    """Every rater against every other on the labels both judged, overall, per layer and
    per label set."""
    real = judgments[judgments["role"] == "real"] if "role" in judgments else judgments
    order = [str(r) for r in real["rater"].cat.categories] if len(real) else None
    joined = label_votes(real, ratings, options.rule, options.rating_threshold, order)
    info = labels.loc[joined.neurons]
    units = np.arange(len(joined.neurons))
    boot = (options.n_boot, options.seed)
    layer_codes, layers = _codes(info["layer"], list(study.layers))
    overall, by_layer = pairwise_overall_and_by_group(
        joined.votes, joined.raters, units, layer_codes, layers, *boot
    )
    set_order = list(study.label_sets.values_list("name", flat=True))
    set_codes, label_sets = _codes(info["label_set"], set_order)
    _, by_set = pairwise_overall_and_by_group(
        joined.votes, joined.raters, units, set_codes, label_sets, *boot
    )
    return {
        "raters": joined.raters,
        "rating_raters": [r for r in joined.raters if r not in set(order or [])],
        "labels": len(joined.neurons),
        "pairwise": overall,
        "pairwise_by_layer": by_layer,
        "pairwise_by_label_set": by_set,
    }


def best_of_section(choices: pd.DataFrame, study: Study, options: ReportOptions) -> dict:
    label_sets = list(study.label_sets.values_list("name", flat=True))
    rates = win_rates(choices, label_sets, options.n_boot, options.seed)
    return plain(
        {
            "raters": sorted(choices["rater"].astype(str).unique()),
            "units": int(choices.groupby(["layer", "unit"]).ngroups),
            "answers": len(choices),
            "win_rates": rates.to_dict("records"),
        }
    )


def ratings_page(report: dict) -> dict:
    """The page's context for the two sections: the binarised heatmap's data and the mean
    ratings pivoted to label set rows x layer columns (Describe-and-Dissect's table)."""
    section = report.get("ratings")
    if not section:
        return {"ratings_heatmap": None, "mean_rating_columns": [], "mean_rating_rows": []}
    found = section["binarised"]
    pairs = {"Overall": found["pairwise"]} | found["pairwise_by_layer"]
    pairs |= {f"label set {k}": v for k, v in found["pairwise_by_label_set"].items()}
    columns = section["layers"]
    cells: dict[str, dict] = {}
    for r in section["mean_ratings"]:
        cells.setdefault(r["label_set"], {})[r["layer"] or "Overall"] = r
    return {
        "ratings_heatmap": {
            "binarised": {
                "raters": found["raters"],
                "left_out": [r["rater"] for r in report["left_out"]],
                "pairs": pairs,
            }
        },
        "mean_rating_columns": [*columns, "Overall"],
        "mean_rating_rows": [
            {"label_set": k, "cells": [v.get(c) for c in [*columns, "Overall"]]}
            for k, v in cells.items()
        ],
    }
