"""Whole-probe metrics of dense ratings: the rater's verdicts as the concepts, AUPRC on its
raw scores in the direction of yes; checked against a brute-force computation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from annotate.models import LayerActivations, Neuron
from evaluation.dense_scores import dense_probe_metrics, dense_scores
from tests.dense.helpers import probe_study, raters, run_in_process, use_tiny_clip

pytestmark = pytest.mark.django_db
ALPHA = 0.1  # 48 images: the top 5 are A


def _brute(a: np.ndarray, yes: np.ndarray, ranking: np.ndarray) -> dict:
    top = a >= np.sort(a)[-5]
    both = (top & yes).sum()
    c = yes.astype(float)
    return {
        "recall": both / top.sum(),
        "precision": both / yes.sum() if yes.any() else 0.0,
        "f1": 2 * both / (top.sum() + yes.sum()),
        "iou": both / (top | yes).sum(),
        "correlation": np.corrcoef(a, c)[0, 1] if 0 < yes.sum() < len(c) else 0.0,
        "cosine": a @ c / np.linalg.norm(a) / np.linalg.norm(c) if yes.any() else 0.0,
        "auprc": average_precision_score(top, ranking),
    }


@pytest.mark.parametrize("which", ["es", "cp"])
def test_dense_probe_metrics_match_a_brute_force_computation(tmp_path, monkeypatch, which):
    use_tiny_clip(monkeypatch)
    study = probe_study(tmp_path)
    rater = dict(zip(["es", "cp"], raters(), strict=True))[which]
    run_in_process(study, rater, {"dense": True, "pairs": False}, monkeypatch)
    metrics = dense_probe_metrics(study, rater, alpha=ALPHA)
    scores = dense_scores(study, rater)
    assert sorted(metrics) == ["layer1", "layer2"]
    checked = 0
    for layer, result in metrics.items():
        ids, dense = scores[layer]
        np.testing.assert_array_equal(result.neuron_ids, ids)
        layer_acts = LayerActivations.objects.get(study=study, layer=layer)
        for j, neuron_id in enumerate(ids):
            unit = Neuron.objects.get(pk=neuron_id).unit
            assert result.units[j] == unit
            a = layer_acts.read_unit(unit).astype(float)
            s = dense[:, j].astype(float)
            yes = s > 0.1 if which == "es" else s <= 0.3
            expected = _brute(a, yes, s if which == "es" else -s)
            for name, value in expected.items():
                assert result.metrics[name][j] == pytest.approx(value, abs=1e-9), name
            checked += 1
    assert checked == 5
