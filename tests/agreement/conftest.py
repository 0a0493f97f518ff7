"""Report fixtures: a small rated study (alice, bob, two models) and a helper that stores
judgments."""

import pytest

from annotate.models import Neuron, NeuronImage
from evaluation.models import EvaluationRun, Judgment, Rater, RunStatus


def judge(rater, pairs, verdicts, scores=None, extra=None):
    Judgment.objects.bulk_create(
        Judgment(
            rater=rater,
            neuron_image=p,
            verdict=v,
            score=None if scores is None else scores[i],
            extra=extra or {},
        )
        for i, (p, v) in enumerate(zip(pairs, verdicts, strict=True))
    )


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


def slip_a_distractor(study, right: str, wrong: str) -> None:
    """One distractor image (a known "no"): `right` answers no, `wrong` answers yes."""
    neuron = Neuron.objects.filter(study=study).order_by("unit").first()
    donor = NeuronImage.objects.filter(neuron__study=study).exclude(neuron=neuron).first()
    distractor = NeuronImage.objects.create(
        neuron=neuron, image=donor.image, rank=99, is_distractor=True
    )
    judge(Rater.objects.get(name=right), [distractor], ["no"])
    judge(Rater.objects.get(name=wrong), [distractor], ["yes"])
