"""A study's report computed from what `read` returns: who is left out of the consensus and
why, then every agreement figure (`evaluation.agreement`, plain maths)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from annotate.models import Study
from evaluation.agreement.figures import agreement_figures
from evaluation.models import Rater
from evaluation.reports.display_names import display_names
from evaluation.reports.label_sets import only_label_set, study_label_sets
from evaluation.reports.options import ReportOptions
from evaluation.reports.probe_set import probe_set_section
from evaluation.reports.ratings import rating_sections
from evaluation.reports.read import gold_by_name, load_long_table, study_raters


def left_out(
    options: ReportOptions, gold: dict[str, tuple[float, int]], raters: dict[int, Rater]
) -> list[dict]:
    """Annotators left out of the consensus, each with the reason, in the report's order.

    `options.min_gold` is the bar in force (the study's unless the report asked for
    another); annotators who answered no known pair are kept.
    """
    by_id = {raters[i].name for i in options.exclude_rater_ids if i in raters}
    rows = []
    for rater in raters.values():
        if not rater.is_human:  # only annotators make the consensus
            continue
        name = rater.name
        accuracy, items = gold.get(name, (None, 0))
        if name in options.exclude or name in by_id:
            reason = "left out by the report's options"
        elif accuracy is not None and options.min_gold is not None and accuracy < options.min_gold:
            reason = (
                f"gold accuracy {accuracy:.3f} on {items} known pair{'' if items == 1 else 's'}"
                f" is under the bar of {options.min_gold:g}"
            )
        else:
            continue
        rows.append({"rater": name, "reason": reason, "gold_accuracy": accuracy})
    return rows


def compute_study_report(study: Study, options: ReportOptions) -> dict:
    """The report as plain data. `options` must carry the gold bar in force
    (`ReportOptions.with_study_defaults`), as the cache's functions pass it."""
    table = only_label_set(load_long_table(study), options.label_set)
    raters = study_raters(table["rater_id"].unique().tolist())
    ids = np.array(list(raters), dtype=np.int64)
    order = np.argsort(ids)
    codes = order[np.searchsorted(ids[order], table.pop("rater_id").to_numpy())]
    table["rater"] = pd.Categorical.from_codes(codes, categories=[r.name for r in raters.values()])
    gold = gold_by_name(study, raters)
    excluded = left_out(options, gold, raters)
    figures = agreement_figures(
        table,
        kinds={r.name: r.kind for r in raters.values()},
        settings=options.figure_settings(frozenset(r["rater"] for r in excluded)),
        gold=gold,
        layer_order=list(study.layers),
        rater_order=[r.name for r in raters.values()],
    )
    report = {"options": options.as_dict(), "left_out": excluded} | figures.to_dict()
    probe_set = probe_set_section(study, options, {r["rater"] for r in excluded})
    return report | {
        "label_sets": with_label_set_ids(study, report["label_sets"]),
        "display_names": display_names(raters.values()),
        "probe_set": probe_set,
    } | rating_sections(study, options, table)


def with_label_set_ids(study: Study, label_sets: list[dict]) -> list[dict]:
    """The report's label sets, each with its id and method first."""
    known = {s["name"]: s for s in study_label_sets(study)}
    return [known.get(s["name"], {"id": None, "method": ""}) | s for s in label_sets]
