"""Reading dense (whole probe set) ratings and scoring them against the activations.

`dense_scores` gives, per layer, the neuron ids and their scores `[n_images, n_neurons]`
in probe-set row order; `dense_probe_metrics` gives, per layer, the whole-probe metrics of
each neuron's label (`evaluation.probe_metrics`): the concepts are the rater's own verdicts
(ES: cosine > threshold; CP: rank proportion <= proportion), AUPRC ranks the images by the
raw score in the direction that means yes (CP's is negated). Neurons of layers without
activations are left out of the metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from annotate.models import LayerActivations, Neuron, Study
from evaluation.models import DenseRating, Rater
from evaluation.probe_metrics import DEFAULT_ALPHA, Metrics, probe_metrics
from evaluation.raters.registry import rater_kind


@dataclass(frozen=True)
class DenseLayerMetrics:
    neuron_ids: np.ndarray  # [n]
    units: np.ndarray  # [n]
    metrics: Metrics  # name -> [n]


def _rows(study: Study, rater: Rater):
    return DenseRating.objects.filter(rater=rater, neuron__study=study)


def iter_dense_scores(study: Study, rater: Rater) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(layer, neuron ids, scores `[n_images, n]` float32) layer by layer, ids ascending:
    one layer in memory at a time."""
    n_images = study.probe_set.size if study.probe_set_id else 0
    layers = sorted(set(_rows(study, rater).values_list("neuron__layer", flat=True)))
    for layer in layers:
        rows = _rows(study, rater).filter(neuron__layer=layer).order_by("neuron_id")
        ids = np.array(list(rows.values_list("neuron_id", flat=True)), dtype=np.int64)
        scores = np.empty((len(ids), n_images), dtype=np.float32)
        stored = rows.values_list("neuron_id", "dtype", "scores").iterator(chunk_size=64)
        for j, (neuron_id, dtype, blob) in enumerate(stored):
            row = np.frombuffer(bytes(blob), dtype=np.dtype(dtype).newbyteorder("<"))
            if row.size != n_images:
                raise ValueError(
                    f"dense scores of neuron {neuron_id} cover {row.size} images, but the "
                    f"probe set of {study.name} has {n_images}"
                )
            scores[j] = row
        yield layer, ids, scores.T


def dense_scores(study: Study, rater: Rater) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Layer -> (neuron ids, scores `[n_images, n_neurons]`) of every layer at once."""
    return {layer: (ids, scores) for layer, ids, scores in iter_dense_scores(study, rater)}


def dense_probe_metrics(
    study: Study, rater: Rater, alpha: float | None = None
) -> dict[str, DenseLayerMetrics]:
    """Layer -> each scored neuron's whole-probe metrics; alpha defaults to the study's."""
    kind = rater_kind(rater.kind)
    alpha = alpha or getattr(study, "probe_alpha", None) or DEFAULT_ALPHA
    activations = {a.layer: a for a in LayerActivations.objects.filter(study=study)}
    out: dict[str, DenseLayerMetrics] = {}
    for layer, ids, scores in iter_dense_scores(study, rater):
        if layer not in activations:
            continue
        unit_of = dict(Neuron.objects.filter(pk__in=ids.tolist()).values_list("pk", "unit"))
        units = np.array([unit_of[pk] for pk in ids.tolist()], dtype=np.int64)
        acts = np.stack([activations[layer].read_unit(int(u)) for u in units], axis=1)
        concepts = kind.dense_yes(scores, rater.params)
        ranking = scores if kind.higher_means_yes else -scores
        metrics = probe_metrics(acts, concepts, alpha, ranking=ranking)
        out[layer] = DenseLayerMetrics(ids, units, metrics)
    return out
