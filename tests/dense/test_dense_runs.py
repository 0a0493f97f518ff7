"""Runs with the dense option: pair chunks and dense chunks in one run, scores equal to the
pair rater's, nothing embedded twice, resumable, refused where it cannot work."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.models import Neuron, ProbeSetImage
from evaluation.dense_scores import dense_scores
from evaluation.models import DenseRating, EvaluationRun, Judgment, Rater, RunChunk
from evaluation.run_actions import RunRefused, do_create_run
from evaluation.runs import do_rate_chunk
from tests.dense.helpers import (
    chunk_kinds,
    encoder,
    new_worker,
    probe_study,
    raters,
    run_in_process,
    use_tiny_clip,
)

pytestmark = pytest.mark.django_db


def _row_of(study) -> dict[int, int]:
    return dict(
        ProbeSetImage.objects.filter(probe_set=study.probe_set)
        .order_by("-index")
        .values_list("image_id", "index")
    )


@pytest.mark.parametrize("which", ["es", "cp"])
def test_dense_run_scores_the_whole_probe_set_as_the_pair_run_does(tmp_path, monkeypatch, which):
    use_tiny_clip(monkeypatch)
    study = probe_study(tmp_path)
    rater = dict(zip(["es", "cp"], raters(), strict=True))[which]
    run_id = run_in_process(study, rater, {"dense": True, "dense_neurons": 2}, monkeypatch)
    run = EvaluationRun.objects.get(pk=run_id)
    assert run.status == "done", run.error
    assert chunk_kinds(run_id) == ["pairs", "dense", "dense", "dense"]
    n_neurons = Neuron.objects.filter(study=study).count()
    assert DenseRating.objects.filter(rater=rater).count() == n_neurons == 5
    assert run.total_pairs == run.done_pairs == n_neurons * 3 + n_neurons * 48

    row_of, compared = _row_of(study), 0
    for ids, scores in dense_scores(study, rater).values():
        assert scores.shape == (48, len(ids))
        for column, neuron_id in enumerate(ids):
            for image_id, score in Judgment.objects.filter(
                rater=rater, neuron_image__neuron_id=neuron_id
            ).values_list("neuron_image__image_id", "score"):
                stored = scores[row_of[image_id], column]
                assert stored == pytest.approx(score, abs=3e-4 if which == "es" else 1e-7)
                compared += 1
    assert compared == n_neurons * 3


def test_a_second_run_embeds_no_image_again(tmp_path, monkeypatch):
    use_tiny_clip(monkeypatch)
    study = probe_study(tmp_path)
    es, cp = raters()
    run_in_process(study, es, {"dense": True, "pairs": False}, monkeypatch)
    embedded = encoder().calls["images"]
    assert embedded >= 1
    new_worker()  # another worker process: only the database cache is shared
    run_id = run_in_process(study, cp, {"dense": True, "pairs": False}, monkeypatch)
    assert EvaluationRun.objects.get(pk=run_id).status == "done"
    assert chunk_kinds(run_id) == ["dense"]
    assert encoder().calls["images"] == embedded
    assert DenseRating.objects.filter(rater=cp).count() == 5
    assert not Judgment.objects.filter(rater=cp).exists()


def test_a_dense_chunk_run_again_scores_only_neurons_not_scored(tmp_path, monkeypatch):
    use_tiny_clip(monkeypatch)
    study = probe_study(tmp_path)
    es, _ = raters()
    run_id = run_in_process(study, es, {"dense": True, "pairs": False}, monkeypatch)
    first = DenseRating.objects.filter(rater=es).order_by("neuron_id").first()
    DenseRating.objects.filter(rater=es).exclude(pk=first.pk).delete()
    EvaluationRun.objects.filter(pk=run_id).update(status="running")
    chunk = RunChunk.objects.get(run_id=run_id)
    RunChunk.objects.filter(pk=chunk.pk).update(status="pending")
    scored = []
    monkeypatch.setattr(
        "evaluation.raters.openclip.EmbeddingSimilarityRater.score_probe_set",
        lambda self, labels, images, context: (
            scored.extend(labels) or np.zeros((len(labels), len(images)), dtype=np.float32)
        ),
    )
    result = do_rate_chunk(chunk.pk, worker="again")
    assert result.rated == 4 * 48 and len(scored) == 4
    assert DenseRating.objects.get(pk=first.pk).scores == first.scores
    assert EvaluationRun.objects.get(pk=run_id).status == "done"


def test_dense_is_refused_where_it_cannot_work(tmp_path, monkeypatch):
    use_tiny_clip(monkeypatch)
    study = probe_study(tmp_path)
    es, _ = raters()
    vqa = Rater.objects.create(name="blip", kind="vqa_blip2", params={"model": "x"})
    with pytest.raises(RunRefused, match="rates sampled images only"):
        do_create_run(study, vqa, {"dense": True})
    with pytest.raises(RunRefused, match="dense must be true or false"):
        do_create_run(study, es, {"dense": "yes"})
    with pytest.raises(RunRefused, match="would rate nothing"):
        do_create_run(study, es, {"pairs": False})
    study.probe_set = None
    study.save(update_fields=["probe_set"])
    with pytest.raises(RunRefused, match="has no probe set"):
        do_create_run(study, es, {"dense": True})
    assert not EvaluationRun.objects.exists()
