"""The report's `label_set` option: one of the study's label sets, named or by id."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from annotate.models import Study
from evaluation.reports.options import ReportOptions


def study_label_sets(study: Study) -> list[dict]:
    """The study's label sets in order: id, name, method."""
    return list(study.label_sets.order_by("pk").values("id", "name", "method"))


def label_set_in_force(study: Study, options: ReportOptions) -> ReportOptions:
    """`options` with `label_set` as the name of one of the study's label sets (asked for by
    name or id); ValueError naming the study's label sets when it is none of them."""
    if options.label_set is None:
        return options
    found = study_label_sets(study)
    for label_set in found:
        if options.label_set in (label_set["name"], str(label_set["id"])):
            return replace(options, label_set=label_set["name"])
    names = ", ".join(repr(s["name"]) for s in found) or "none"
    raise ValueError(f"label_set {options.label_set!r} is not one of this study's: {names}")


def only_label_set(table: pd.DataFrame, name: str | None) -> pd.DataFrame:
    """The long table's rows of label set `name`; all of them for None."""
    if name is None:
        return table
    return table[(table["label_set"] == name).to_numpy()].reset_index(drop=True)
