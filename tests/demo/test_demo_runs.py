"""The demo CLIP through the real run machinery: real signal, stored verdicts, shared cache."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.demo_images import COLORS, SHAPES, TEXTURES, render
from annotate.images import do_store_image
from annotate.models import ConceptSet, Neuron, NeuronImage, Study
from evaluation import rater_configs, run_actions, runs
from evaluation.demo import do_setup_demo_raters
from evaluation.models import Embedding, EvaluationRun, Judgment, RunStatus
from evaluation.raters import clip_encoder
from evaluation.raters.clip_spec import DEMO_MODEL

pytestmark = pytest.mark.django_db
VOCABULARY = [*COLORS, *SHAPES, *TEXTURES]


@pytest.fixture(autouse=True)
def _fresh_raters():
    runs._RATERS.clear()


def _study(name="demo-like", concepts=VOCABULARY) -> Study:
    """Two neurons labelled "red": one shows red shapes, the other blue ones (seed 7: images
    the demo model never saw in training)."""
    concept_set = ConceptSet.objects.create(name=f"{name} words", concepts=concepts, sha256=name)
    study = Study.objects.create(
        name=name, target_network="demo", probe_dataset="shapes", concept_set=concept_set
    )
    for unit, color in enumerate(["red", "blue"]):
        neuron = Neuron.objects.create(study=study, layer="layer1", unit=unit, label="red")
        for rank, (shape, texture) in enumerate(zip(SHAPES, TEXTURES, strict=True), start=1):
            image = do_store_image(render(shape, color, texture, variant=rank, seed=7).png)
            NeuronImage.objects.create(neuron=neuron, image=image, rank=rank)
    return study


def _run(study, kind, **params):
    rater = rater_configs.do_get_rater(kind, {"model": DEMO_MODEL, **params})
    run = run_actions.do_create_run(study, rater)
    for chunk_id in run_actions.do_plan_run(run.pk):
        runs.do_rate_chunk(chunk_id, worker="test")
    run.refresh_from_db()
    return run


def _verdicts(run, unit):
    return list(
        Judgment.objects.filter(rater=run.rater, neuron_image__neuron__unit=unit)
        .order_by("neuron_image__rank")
        .values_list("verdict", flat=True)
    )


def test_demo_es_says_yes_to_red_on_red_images_and_no_on_blue():
    study = _study()
    run = _run(study, "openclip_es")
    assert run.status == RunStatus.DONE and run.done_pairs == 8
    assert _verdicts(run, 0) == ["yes"] * 4
    assert _verdicts(run, 1) == ["no"] * 4
    assert run.rater.params["description"] == "demo model trained on synthetic shapes"
    assert {"load", "embed_images", "embed_text", "score"} <= set(run.stage_seconds)
    assert run.notes["encoder"]["preprocess"]["size"] == [64, 64]
    assert run.notes["encoder"]["device"] == "cpu"


def test_demo_cp_says_yes_to_red_on_red_images_and_no_on_blue():
    study = _study()
    run = _run(study, "openclip_cp", proportion=0.25)  # rank <= 3.5 of 14 concepts
    assert _verdicts(run, 0) == ["yes"] * 4
    assert _verdicts(run, 1) == ["no"] * 4
    ranks = Judgment.objects.filter(rater=run.rater).values_list("extra__rank", flat=True)
    assert all(1 <= r <= 14 for r in ranks)


def test_demo_model_ranks_the_right_colour_first():
    from evaluation.raters.base import RaterContext, StageTimer
    from evaluation.raters.openclip import build_concept_proportion
    from tests.doubles.tiny_clip import MemoryImages

    rater = build_concept_proportion({"model": DEMO_MODEL, "proportion": 1 / 6}, "cpu")
    images = MemoryImages()
    pairs = []
    from evaluation.raters.base import Pair

    for color in COLORS:
        for j, shape in enumerate(SHAPES):
            sha = images.add(render(shape, color, TEXTURES[j], variant=3, seed=11).png)
            pairs.append(Pair(len(pairs), sha, color))
    context = RaterContext(images=images, timer=StageTimer(), concepts=list(COLORS))
    verdicts = rater.rate(pairs, context)
    ranks = np.array([v.extra["rank"] for v in verdicts])
    assert (ranks == 1).mean() >= 0.9, ranks
    assert all(v.verdict == "yes" for v, r in zip(verdicts, ranks, strict=True) if r == 1)


def test_label_outside_concept_set_is_noted_on_the_run():
    study = _study(name="no-red", concepts=[c for c in VOCABULARY if c != "red"])
    run = _run(study, "openclip_cp", proportion=0.25)
    assert run.notes["labels_added_to_concept_set"] == ["red"]
    assert set(Judgment.objects.filter(rater=run.rater).values_list("extra__of", flat=True)) == {14}


def test_cp_and_es_share_the_database_cache_and_a_rerun_recomputes_nothing():
    clip_encoder._ENCODERS.clear()
    study = _study()
    _run(study, "openclip_es")
    images = Embedding.objects.filter(kind="image").count()
    assert images == 8
    encoder = next(iter(clip_encoder._ENCODERS.values()))
    calls = dict(encoder.calls)
    _run(study, "openclip_cp", proportion=0.25)
    assert encoder.calls["images"] == calls["images"]  # CP reused ES's image embeddings
    assert Embedding.objects.filter(kind="image").count() == 8

    # a new worker process: nothing in memory, everything from PostgreSQL
    clip_encoder._ENCODERS.clear()
    runs._RATERS.clear()
    EvaluationRun.objects.all().delete()
    Judgment.objects.all().delete()
    _run(study, "openclip_es")
    _run(study, "openclip_cp", proportion=0.25)
    fresh = next(iter(clip_encoder._ENCODERS.values()))
    assert fresh.calls == {"images": 0, "texts": 0}


def test_setup_demo_raters_is_idempotent(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("evaluation.run_actions._send", sent.extend)
    study = _study()
    with django_capture_on_commit_callbacks(execute=True):
        raters = do_setup_demo_raters(study)
    assert {r.kind for r in raters} == {"openclip_es", "openclip_cp"}
    assert all(r.params["model"] == DEMO_MODEL for r in raters)
    assert len(sent) == 2 and EvaluationRun.objects.filter(study=study).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        again = do_setup_demo_raters(study)
    assert [r.pk for r in again] == [r.pk for r in raters]
    assert len(sent) == 2 and EvaluationRun.objects.filter(study=study).count() == 2


def test_demo_raters_agree_with_the_planted_truth_of_the_demo_study():
    """On the demo study's own neurons and vocabulary (313 words), with the demo parameters."""
    from annotate.demo import DEMO_NEURONS, demo_concepts, demo_probe_set
    from evaluation.demo import demo_rater_params
    from evaluation.raters.base import Pair, RaterContext, StageTimer
    from evaluation.raters.registry import build_rater
    from tests.doubles.tiny_clip import MemoryImages

    probe, images, pairs, truth = demo_probe_set(), MemoryImages(), [], []
    for neuron in DEMO_NEURONS:
        for index in neuron.images:
            pairs.append(Pair(len(pairs), images.add(probe[index].png), neuron.label))
            truth.append(neuron.label in probe[index].concepts)
    context = RaterContext(images=images, timer=StageTimer(), concepts=demo_concepts())
    for kind, wanted in (("openclip_es", 0.95), ("openclip_cp", 0.85)):
        verdicts = build_rater(kind, demo_rater_params(kind), "cpu").rate(pairs, context)
        agreement = np.mean(
            [(v.verdict == "yes") == t for v, t in zip(verdicts, truth, strict=True)]
        )
        assert agreement >= wanted, (kind, agreement)
