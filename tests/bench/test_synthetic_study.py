"""The benchmark's synthetic study: bulk-written rows are consistent with what the app writes."""

import sys
from pathlib import Path

import pytest

from annotate.models import Assignment, Neuron, NeuronImage, Study, Submission, Unit
from evaluation.models import EvaluationRun, Judgment, Rater

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
synthetic_study = pytest.importorskip("synthetic_study")

pytestmark = pytest.mark.django_db


def test_small_synthetic_study_has_every_row_it_promises():
    study, timings = synthetic_study.generate_study(
        "tiny", neurons=50, k=5, human_share=0.2, images=20
    )
    pairs = NeuronImage.objects.filter(neuron__study=study)
    assert Neuron.objects.filter(study=study, role="real").count() == 50
    assert pairs.count() == 250
    assert pairs.values("neuron_id", "image_id").distinct().count() == 250  # k distinct images
    assert list(pairs.filter(neuron__unit=0).values_list("rank", flat=True)) == [1, 2, 3, 4, 5]

    automatic = Rater.objects.filter(name__startswith="tiny:")
    assert sorted(automatic.values_list("kind", flat=True)) == sorted(synthetic_study.AUTOMATIC)
    for rater in automatic:
        assert Judgment.objects.filter(rater=rater).count() == 250
    assert EvaluationRun.objects.filter(study=study, status="done", done_pairs=250).count() == 4

    humans = Rater.objects.filter(user__username__startswith="tiny-annotator-")
    assert humans.count() == 3
    human_judgments = Judgment.objects.filter(rater__in=humans)
    assert human_judgments.count() == 3 * 10 * 5  # 20% of the neurons, every image
    submitted = set(Submission.objects.filter(study=study).values_list("client_id", flat=True))
    assert set(human_judgments.values_list("submission", flat=True)) == submitted
    assert len(submitted) == 30
    assert Unit.objects.filter(study=study).count() == 50
    assert Unit.objects.filter(study=study, claimed=3, done=3).count() == 10
    assert Assignment.objects.filter(study=study, state="done").count() == 30
    assert timings.steps["total"] > 0

    synthetic_study.delete_study("tiny")
    assert not Study.objects.filter(name="tiny").exists()
    assert not Judgment.objects.exists() and not Rater.objects.filter(kind="human").exists()
