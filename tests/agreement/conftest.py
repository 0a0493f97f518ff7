"""Report fixtures: a small rated study (alice, bob, two models) and a helper that stores
judgments."""

import pytest

from annotate.models import Neuron, NeuronImage
from evaluation.models import EvaluationRun, Rater, RunStatus
from tests.helpers import judge


@pytest.fixture
def rated_study(make_study, annotators):
    """6 neurons x 3 images in two layers; alice and bob, an ES model, a yes-to-all model."""
    study = make_study(name="rated", neurons=6, k=3, labels=["red", "green", "blue"])
    Neuron.objects.filter(study=study, unit__gte=3).update(layer="layer2")
    study.layers = ["layer1", "layer2"]
    study.save()
    pairs = list(NeuronImage.objects.filter(neuron__study=study).order_by("neuron_id", "rank"))
    truth = ["yes", "no", "yes"] * 6
    alice = Rater.objects.create(name="alice", kind="human", user=annotators["alice"])
    bob = Rater.objects.create(name="bob", kind="human", user=annotators["bob"])
    judge(alice, pairs, truth)
    judge(bob, pairs, truth[:-2] + ["yes", "no"])  # truth ends no, yes
    es = Rater.objects.create(name="OpenCLIP ES", kind="openclip_es", params={"t": 0.25})
    es_scores = [(0.3 if v == "yes" else 0.2) + i / 1000 for i, v in enumerate(truth)]
    judge(es, pairs, ["yes" if s >= 0.25 else "no" for s in es_scores], es_scores)
    blip = Rater.objects.create(name="=BLIP", kind="vqa_blip2", params={})
    judge(blip, pairs, ["yes"] * 18, [0.9] * 18, extra={"answer": "yes, it does"})
    EvaluationRun.objects.create(
        rater=es, study=study, status=RunStatus.DONE, done_pairs=18, total_pairs=18,
        wall_seconds=2.5, stage_seconds={"encode": 2.0},
    )  # fmt: skip
    return study
