"""The demo study's whole-probe story, with the demo CLIP: the generic label passes top-k
(the rater says yes on the top images) and fails the sound metrics; right labels pass both."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.demo import DEMO_NEURONS, do_load_demo, do_prepare_demo_study
from annotate.models import LayerActivations, Neuron
from evaluation import run_actions, runs
from evaluation.dense_scores import dense_probe_metrics
from evaluation.models import EvaluationRun
from tests.dense.helpers import new_worker

pytestmark = pytest.mark.django_db


def test_demo_has_a_probe_set_and_activations_that_set_the_planted_top_images():
    study = do_load_demo()
    assert study.probe_set.size == 3072 and study.probe_set.name == "Demo shapes"
    assert LayerActivations.objects.filter(study=study).count() == 3
    assert Neuron.objects.filter(study=study, label="").count() == 0  # no unlabelled units
    planted = DEMO_NEURONS[0]
    layer = LayerActivations.objects.get(study=study, layer=planted.layer)
    row = layer.read_unit(planted.unit)
    assert list(np.argsort(-row, kind="stable")[:5]) == list(planted.images)
    neuron = study.neurons.get(layer=planted.layer, unit=planted.unit, role="real")
    stored = list(neuron.images.order_by("rank").values_list("activation", flat=True))
    assert stored == list(planted.activations)


def test_demo_generic_label_passes_top_k_and_fails_the_sound_metrics(monkeypatch):
    new_worker()
    sent = []
    monkeypatch.setattr(run_actions, "_send", sent.extend)
    study = do_load_demo()
    do_prepare_demo_study(study, start_runs=True)
    run = EvaluationRun.objects.get(study=study, rater__kind="openclip_es")
    assert run.options == {"dense": True}
    for chunk_id in run_actions.do_plan_run(run.pk):
        runs.do_rate_chunk(chunk_id, worker="test")
    run.refresh_from_db()
    assert run.status == "done" and run.done_pairs == run.total_pairs, run.error
    right = {(n.layer, n.unit) for n in DEMO_NEURONS if n.label_is_right}
    roles = dict(Neuron.objects.filter(study=study).values_list("pk", "role"))
    by_role: dict[str, list[dict]] = {}
    for layer, result in dense_probe_metrics(study, run.rater, alpha=0.1).items():
        for j, neuron_id in enumerate(result.neuron_ids.tolist()):
            role = roles[neuron_id]
            if role == "real":
                role = "right" if (layer, int(result.units[j])) in right else "wrong"
            by_role.setdefault(role, []).append({k: v[j] for k, v in result.metrics.items()})

    def mean(role: str, metric: str) -> float:
        return float(np.mean([m[metric] for m in by_role[role]]))

    assert sorted(by_role) == ["generic_label", "right", "shuffled_label", "wrong"]
    assert mean("right", "recall") > 0.9 and mean("right", "correlation") > 0.5
    assert mean("generic_label", "recall") > 0.7  # top-k alone would accept "objects"
    for metric in ("f1", "iou", "correlation", "auprc"):
        assert mean("generic_label", metric) < 0.5 * mean("right", metric), metric
        assert mean("wrong", metric) < 0.2 * mean("right", metric), metric


def test_a_demo_loaded_before_the_probe_set_is_kept_under_another_name():
    from annotate.models import Study

    old = Study.objects.create(
        name="Demo: synthetic shapes", target_network="demo", probe_dataset="old", is_demo=True
    )
    Neuron.objects.create(study=old, layer="layer1", unit=40, label="red")
    study = do_load_demo()
    old.refresh_from_db()
    assert old.name.startswith("Demo: synthetic shapes (before the probe set, ")
    assert old.neurons.count() == 1 and old.probe_set_id is None
    assert study.pk != old.pk and study.probe_set.name == "Demo shapes"
