"""Real Celery workers run a demo-model run; one is SIGKILLed mid-run and the run still ends
with exactly one judgment per pair."""

from __future__ import annotations

import signal
import time

import pytest
from django.core.cache import cache

from annotate.demo_images import COLORS, SHAPES, TEXTURES, render
from annotate.images import do_store_image
from annotate.models import Neuron, NeuronImage, Study
from evaluation import rater_configs, run_actions
from evaluation.models import EvaluationRun, Judgment, RunStatus
from evaluation.raters.clip_spec import DEMO_MODEL
from evaluation.reports.cache import report_cache_key
from tests.doubles.workers import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ENV = {"NEURONJUDGE_STALE_CHUNK_SECONDS": "2", "NEURONJUDGE_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}


def _study(neurons: int, k: int = 4) -> Study:
    study = Study.objects.create(name="worker study", target_network="demo", probe_dataset="shapes")
    combos = [(s, c, t) for s in SHAPES for c in COLORS for t in TEXTURES]
    for unit in range(neurons):
        neuron = Neuron.objects.create(study=study, layer="layer1", unit=unit, label="red")
        for rank in range(1, k + 1):
            shape, color, texture = combos[(unit * k + rank) % len(combos)]
            image = do_store_image(render(shape, color, texture, variant=unit, seed=5).png)
            NeuronImage.objects.create(neuron=neuron, image=image, rank=rank)
    return study


def _wait(condition, timeout: float, worker) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.poll() is not None:
            raise AssertionError(worker.stdout.read().decode(errors="replace"))
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; worker log:\n{stop_worker(worker)}")
        time.sleep(0.05)


def _judged(run) -> int:
    return Judgment.objects.filter(rater=run.rater).count()


def _judged_or_failed(run, at_least: int):
    def check() -> bool:
        status, error = EvaluationRun.objects.values_list("status", "error").get(pk=run.pk)
        assert status != RunStatus.FAILED, error
        return _judged(run) >= at_least

    return check


def test_killed_worker_restarts_and_the_run_finishes_exactly_once(settings):
    from tasks.evaluation import start_run

    env = {**ENV, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}  # the test's own media folder

    study = _study(neurons=40)
    rater = rater_configs.do_get_rater("openclip_es", {"model": DEMO_MODEL})
    run = run_actions.do_create_run(study, rater, options={"store_every": 1, "batch_size": 1})
    first = start_worker("killme", env)
    start_run.delay(run.pk)
    try:
        _wait(_judged_or_failed(run, 5), 120, first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    at_kill = _judged(run)
    assert 5 <= at_kill < 160, at_kill  # really killed mid-run

    # The same worker name comes back (as after a crash): it takes back the chunk it held.
    second = start_worker("killme", env)
    try:
        _wait(_judged_or_failed(run, 160), 120, second)
        _wait(lambda: EvaluationRun.objects.get(pk=run.pk).status == RunStatus.DONE, 20, second)
        # The chunk that finished the run queued the study's report: a page reads it cached.
        report_key = report_cache_key(study)
        _wait(lambda: cache.get(report_key) is not None, 60, second)
    finally:
        log = stop_worker(second)
    run.refresh_from_db()
    assert run.done_pairs == run.total_pairs == 160, log
    assert _judged(run) == 160
    per_pair = Judgment.objects.filter(rater=rater).values("neuron_image").distinct().count()
    assert per_pair == 160
    assert run.chunks.get().attempts == 2
