"""Like the reference Table 2 across studies, from each study's cached report."""

from __future__ import annotations

from dataclasses import replace

from evaluation.reports.cache import get_study_report
from evaluation.reports.options import ReportOptions


def cross_study(studies, options: ReportOptions | None = None) -> list[dict]:
    """Per study and rater, the share of neuron labels judged correct, and agreement (IoU,
    kappa) with the human consensus at the neuron level."""
    rows = []
    if options is not None:  # label sets belong to one study: each study's report takes all
        options = replace(options, label_set=None)
    for study in studies:
        report = get_study_report(study, options)
        with_ref = {r["rater"]: r for r in report["neuron"]["by_layer"] if r["layer"] == "Overall"}
        for rate in report["neuron"]["yes_rates"]:
            if rate["layer"] != "Overall":
                continue
            ref = with_ref.get(rate["rater"], {})
            rows.append(
                {
                    "study": study.name,
                    "study_id": study.pk,
                    "probe_dataset": study.probe_dataset,
                    "concept_set": study.concept_set.name if study.concept_set else "",
                    "rater": rate["rater"],
                    "neurons": rate["n"],
                    "labels_correct": rate["rate"],
                    "ci_low": rate["ci"][0],
                    "ci_high": rate["ci"][1],
                    "iou_with_consensus": ref.get("iou"),
                    "kappa_with_consensus": ref.get("kappa"),
                }
            )
    return rows
