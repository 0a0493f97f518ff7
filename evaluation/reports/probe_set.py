"""The report's whole-probe-set section: every rater's labels scored over the study's whole
probe set from its ratings of the top-k and the sampled images (`annotate.sampling`).

Per (rater, neuron) column, each rated image counts 1 / its inclusion probability (top-k
images 1: they are always rated), and a picture found at m rows of the probe set counts for
m rows; the estimates are post-stratified on A (`estimate_probe_metrics`), which the
activations give for every image. A column is estimated when the rater gave a yes or no
on at least one of the neuron's sampled images; its other unanswered images are left out.
Verdicts are the concept values: yes 1, no 0. The activation cut is the study's
`probe_alpha`. The maths is `evaluation.probe_metrics`; this module reads and arranges.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.db.models import Count

from annotate.models import LayerActivations, Neuron, NeuronImage, ProbeSetImage, Study
from evaluation.models import Judgment, Verdict
from evaluation.probe_metrics import (
    METRIC_NAMES,
    PASS_SHARE,
    PUBLISHED_PASS,
    ActivationSummary,
    bootstrap_cis,
    estimate_probe_metrics,
    sampled_sanity_table,
    summarise_activations,
)
from evaluation.reports.options import ReportOptions
from evaluation.reports.read import study_raters

OVERALL = "Overall"
BLOCK_UNITS = 64
CONCEPT = {Verdict.YES.value: 1.0, Verdict.NO.value: 0.0}


@dataclass
class Column:
    """One rater's ratings of one neuron's rated images."""

    neuron: int
    activation: list[float]
    rating: list[float]
    inclusion: list[float]
    top_k_yes: list[float]


def probe_set_section(study: Study, options: ReportOptions, left_out: set[str]) -> dict | None:
    """The section, or None when the study has no probe set."""
    if study.probe_set_id is None:
        return None
    section = {"alpha": study.probe_alpha, "probe_set": study.probe_set.name, "rows": []}
    section |= {"metrics": list(METRIC_NAMES), "sanity": [], "sampled_images": 0}
    section["dense"] = dense_rows(study, options, left_out)
    pairs = _pairs(study)
    section["sampled_images"] = sum(1 for p in pairs.values() if p[2])
    if not section["sampled_images"]:
        return section
    columns = _columns(study, pairs)
    raters = study_raters({rater for rater, _ in columns})
    neurons = _neurons(study, {neuron for _, neuron in columns})
    summaries = _summaries(study, neurons)
    estimates = _estimates(columns, neurons, summaries, study.probe_alpha)
    section["rows"] = _rows(estimates, raters, neurons, options, left_out)
    section["sanity"] = _sanity(estimates, raters, neurons)
    return section


def _pairs(study: Study) -> dict[int, tuple]:
    """Pair id -> (neuron, activation, is_sampled, inclusion of the pair per probe-set row)
    for every top-k and sampled image of the neurons that have sampled images."""
    sampled = NeuronImage.objects.filter(neuron__study=study, is_sampled=True)
    neurons = sampled.values("neuron_id").distinct()
    rows = NeuronImage.objects.filter(neuron_id__in=neurons, is_distractor=False).values_list(
        "pk", "neuron_id", "image_id", "activation", "is_sampled", "inclusion_probability"
    )
    rows = list(rows.iterator(chunk_size=20000))
    copies = dict(
        ProbeSetImage.objects.filter(
            probe_set_id=study.probe_set_id, image_id__in={r[2] for r in rows}
        )
        .values("image_id")
        .annotate(n=Count("pk"))
        .values_list("image_id", "n")
    )
    return {
        pk: (neuron, activation, sampled, (chance if sampled else 1.0) / copies.get(image, 1))
        for pk, neuron, image, activation, sampled, chance in rows
        if activation is not None
    }


def _columns(study: Study, pairs: dict[int, tuple]) -> dict[tuple[int, int], Column]:
    """(rater, neuron) -> Column, for raters with a yes/no on one of its sampled images."""
    columns: dict[tuple[int, int], Column] = {}
    with_sampled: set[tuple[int, int]] = set()
    judged = Judgment.objects.filter(study=study, verdict__in=list(CONCEPT)).values_list(
        "rater_id", "neuron_image_id", "verdict"
    )
    for rater, pair, verdict in judged.iterator(chunk_size=20000):
        if pair not in pairs:
            continue
        neuron, activation, sampled, inclusion = pairs[pair]
        column = columns.setdefault((rater, neuron), Column(neuron, [], [], [], []))
        column.activation.append(activation)
        column.rating.append(CONCEPT[verdict])
        column.inclusion.append(inclusion)
        if sampled:
            with_sampled.add((rater, neuron))
        else:
            column.top_k_yes.append(CONCEPT[verdict])
    return {key: col for key, col in columns.items() if key in with_sampled}


def _neurons(study: Study, ids: set[int]) -> dict[int, dict]:
    rows = Neuron.objects.filter(study=study, pk__in=ids).values_list(
        "pk", "layer", "unit", "role", "label_set__name"
    )
    return {
        pk: {"layer": layer, "unit": unit, "role": role, "label_set": label_set or ""}
        for pk, layer, unit, role, label_set in rows
    }


def _summaries(study: Study, neurons: dict[int, dict]) -> dict[str, dict[int, tuple]]:
    """Layer -> unit -> (n_images, cutoff, n_top, sum_a, sum_a2) at the study's alpha."""
    units: dict[str, set[int]] = defaultdict(set)
    for n in neurons.values():
        units[n["layer"]].add(n["unit"])
    found: dict[str, dict[int, tuple]] = {}
    for layer in LayerActivations.objects.filter(study=study, layer__in=list(units)):
        wanted = sorted(u for u in units[layer.layer] if u < layer.n_units)
        found[layer.layer] = {}
        for start in range(0, len(wanted), BLOCK_UNITS):
            block = wanted[start : start + BLOCK_UNITS]
            acts = np.stack([layer.read_unit(u) for u in block], axis=1)
            s = summarise_activations(acts, study.probe_alpha)
            for i, unit in enumerate(block):
                found[layer.layer][unit] = (
                    s.n_images, s.cutoff[i], s.n_top[i], s.sum_a[i], s.sum_a2[i]
                )  # fmt: skip
    return found


@dataclass
class Estimates:
    """One rater's estimated metrics for its columns (neuron ids in `neurons`), and what
    the sanity tests need."""

    neurons: list[int]
    metrics: dict[str, np.ndarray]
    top_k_yes: np.ndarray
    arrays: tuple  # (summary, activations, ratings, inclusion) per layer


def _estimates(columns, neurons, summaries, alpha: float) -> dict[int, list[Estimates]]:
    """Rater -> one Estimates per layer (a summary's n_images is the layer's probe set)."""
    by_group: dict[tuple[int, str], list[Column]] = defaultdict(list)
    for (rater, neuron), column in sorted(columns.items()):
        layer = neurons[neuron]["layer"]
        if neurons[neuron]["unit"] in summaries.get(layer, {}):
            by_group[(rater, layer)].append(column)
    out: dict[int, list[Estimates]] = defaultdict(list)
    for (rater, layer), cols in by_group.items():
        stats = [summaries[layer][neurons[c.neuron]["unit"]] for c in cols]
        summary = ActivationSummary(
            int(stats[0][0]), alpha, *(np.array([s[i] for s in stats]) for i in range(1, 5))
        )
        arrays = (summary, *(_slots(cols, name) for name in ("activation", "rating", "inclusion")))
        metrics = estimate_probe_metrics(*arrays, post_stratify=True)
        top_k = np.array([np.mean(c.top_k_yes) if c.top_k_yes else np.nan for c in cols])
        out[rater].append(Estimates([c.neuron for c in cols], metrics, top_k, arrays))
    return out


def _slots(columns: list[Column], name: str) -> np.ndarray:
    """[most rated images, columns], NaN-padded (inclusion padded with 1)."""
    depth = max(len(c.rating) for c in columns)
    pad = 1.0 if name == "inclusion" else np.nan
    out = np.full((depth, len(columns)), pad)
    for j, column in enumerate(columns):
        values = getattr(column, name)
        out[: len(values), j] = values
    return out


def _group(neuron: dict) -> tuple[str, str]:
    """(label set, role) a column is reported under; sanity probes apart from real units."""
    return neuron["label_set"], neuron["role"]


def _rows(estimates, raters, neurons, options: ReportOptions, left_out: set[str]) -> list[dict]:
    """Per rater, label set and role: each layer and Overall, the mean of every metric
    over neurons with its bootstrap interval, and the top-k yes share beside it."""
    rows = []
    for rater_id, rater in raters.items():
        cells: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for est in estimates.get(rater_id, []):
            for j, neuron in enumerate(est.neurons):
                values = {name: est.metrics[name][j] for name in METRIC_NAMES}
                _add_to_cells(cells, neurons[neuron], {"top_k_yes": est.top_k_yes[j]} | values)
        rows += _cell_rows(rater, cells, options, left_out)
    order = {name: i for i, name in enumerate(r.name for r in raters.values())}
    return sorted(
        rows, key=lambda r: (order[r["rater"]], r["label_set"], r["role"] != "real",
                             r["role"], r["layer"] == OVERALL, r["layer"])
    )  # fmt: skip


def _add_to_cells(cells: dict, neuron: dict, values: dict[str, float]) -> None:
    """One neuron's values into its (label set, role) cell of its layer and of Overall."""
    for layer in (neuron["layer"], OVERALL):
        cell = cells[(*_group(neuron), layer)]
        for name, value in values.items():
            cell[name].append(value)


def _cell_rows(rater, cells: dict, options: ReportOptions, left_out: set[str]) -> list[dict]:
    """A row per (label set, role, layer) cell: the mean of each value over its neurons
    with a bootstrap interval."""
    rows = []
    for (label_set, role, layer), values in cells.items():
        cis = bootstrap_cis(
            {name: np.array(v) for name, v in values.items()},
            n_boot=max(options.n_boot, 1), seed=options.seed,
        )  # fmt: skip
        rows.append(
            {
                "rater": rater.name, "kind": rater.kind, "left_out": rater.name in left_out,
                "label_set": label_set, "role": role, "layer": layer,
                "n": cis["recall"].n_columns,
            } | {name: _ci(ci, options.n_boot > 0) for name, ci in cis.items()}
        )  # fmt: skip
    return rows


def _ci(ci, interval: bool) -> dict | None:
    """Mean and interval (None without resamples, as the top-k figures leave theirs out)."""
    if not ci.n_columns:
        return None
    low, high = (ci.low, ci.high) if interval else (None, None)
    return {"mean": ci.mean, "low": low, "high": high}


def _sanity(estimates, raters, neurons) -> list[dict]:
    """The missing- and extra-labels tests on each rater's own ratings of real neurons,
    per layer pooled into one share per metric; a figure is trusted when its metric passes
    both here."""
    rows = []
    for rater_id, rater in raters.items():
        fallen: dict[str, list[float]] = defaultdict(list)
        tested = 0
        for est in estimates.get(rater_id, []):
            real = np.array([neurons[n]["role"] == Neuron.Role.REAL for n in est.neurons])
            if not real.any():
                continue
            summary, acts, ratings, inclusion = est.arrays
            table, n = sampled_sanity_table(
                summary.take(real), acts[:, real], ratings[:, real], inclusion[:, real],
                post_stratify=True,
            )  # fmt: skip
            tested += n
            for row in table:
                fallen[row.metric] += [(row.missing_labels_share, row.extra_labels_share, n)]
        rows += _pooled(rater, fallen, tested)
    return rows


def _pooled(rater, fallen: dict[str, list], tested: int) -> list[dict]:
    rows = []
    for metric in METRIC_NAMES if tested else ():
        parts = fallen[metric]
        miss = sum(m * n for m, _, n in parts) / tested
        extra = sum(e * n for _, e, n in parts) / tested
        missing_pass, extra_pass = miss > PASS_SHARE, extra > PASS_SHARE
        rows.append(
            {
                "rater": rater.name, "kind": rater.kind, "metric": metric, "neurons": tested,
                "missing_labels_share": miss, "extra_labels_share": extra,
                "missing_labels_pass": missing_pass, "extra_labels_pass": extra_pass,
                "trusted": missing_pass and extra_pass,
                "published_pass": list(PUBLISHED_PASS[metric]),
            }
        )  # fmt: skip
    return rows


def dense_rows(study: Study, options: ReportOptions, left_out: set[str]) -> list[dict]:
    """Per automatic rater that scored the whole probe set (dense runs): the metrics computed
    exactly over every image, per label set, role and layer, as the sampled rows are."""
    from evaluation.dense_scores import dense_probe_metrics
    from evaluation.models import Rater

    raters = Rater.objects.filter(dense_ratings__neuron__study=study).distinct().order_by("pk")
    rows = []
    for rater in raters:
        by_layer = dense_probe_metrics(study, rater)
        ids = {int(pk) for layer in by_layer.values() for pk in layer.neuron_ids}
        neurons = _neurons(study, ids)
        cells: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for layer in by_layer.values():
            for j, pk in enumerate(layer.neuron_ids.tolist()):
                values = {name: layer.metrics[name][j] for name in METRIC_NAMES}
                _add_to_cells(cells, neurons[pk], values)
        rows += _cell_rows(rater, cells, options, left_out)
    return sorted(
        rows, key=lambda r: (r["rater"], r["label_set"], r["role"] != "real", r["role"],
                             r["layer"] == OVERALL, r["layer"])
    )  # fmt: skip


def page_rows(section: dict | None) -> list[dict]:
    """The section's rows for the report page: the top-k yes share, then each metric."""
    names = ["top_k_yes", *METRIC_NAMES]
    return [r | {"cells": [r[name] for name in names]} for r in (section or {}).get("rows", [])]


def dense_page_rows(section: dict | None) -> list[dict]:
    """The dense rows for the report page: each metric, computed on every image."""
    rows = (section or {}).get("dense", [])
    return [r | {"cells": [r[name] for name in METRIC_NAMES]} for r in rows]
