"""A real Celery worker runs a dense run of the demo CLIP from the broker to the end."""

from __future__ import annotations

import time

import pytest

from evaluation import rater_configs, run_actions
from evaluation.models import DenseRating, EvaluationRun, RunChunk, RunStatus
from evaluation.raters.clip_spec import DEMO_MODEL
from tests.dense.helpers import probe_study
from tests.doubles.workers import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_scores_the_whole_probe_set_chunk_by_chunk(tmp_path, settings):
    study = probe_study(tmp_path)
    rater = rater_configs.do_get_rater("openclip_cp", {"model": DEMO_MODEL})
    options = {"dense": True, "pairs": False, "dense_neurons": 2}
    worker = start_worker(
        "dense",
        {"MEDIA_ROOT": str(settings.MEDIA_ROOT), "NEURONJUDGE_DEVICE": "cpu",
         "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    try:
        run = run_actions.do_start_run(study, rater, options, user=None)
        deadline = time.monotonic() + 180
        while EvaluationRun.objects.get(pk=run.pk).status in ("queued", "running"):
            assert worker.poll() is None and time.monotonic() < deadline, stop_worker(worker)
            time.sleep(0.2)
    finally:
        log = stop_worker(worker)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, (run.error, log)
    assert run.done_pairs == run.total_pairs == 5 * 48
    chunks = RunChunk.objects.filter(run=run)
    assert sorted(chunks.values_list("kind", "status")) == [("dense", "done")] * 3
    assert DenseRating.objects.filter(rater=rater, neuron__study=study).count() == 5
    assert "embed_images" in run.stage_seconds
