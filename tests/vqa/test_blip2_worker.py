"""A real Celery worker rating with BLIP-2 is killed (SIGKILL) mid-run and started again."""

import time

import pytest

from evaluation import run_actions
from evaluation.models import EvaluationRun, Judgment, Rater, RunStatus, WorkerHeartbeat
from tasks.evaluation import start_run
from tests.doubles.workers import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_killed_worker_restarts_and_finishes_with_one_judgment_per_pair(
    make_study, tiny_dir, settings
):
    study = make_study(name="kill-me", neurons=5, k=4, labels=["red", "dog", "blue sky"])
    params = {"model": str(tiny_dir), "batch_size": 1}
    rater = Rater.objects.create(name="tiny blip2", kind="vqa_blip2", params=params)
    run = run_actions.do_create_run(study, rater, options={"store_every": 1, "device": "cpu"})
    [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=1000)
    env = {"MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    judged = Judgment.objects.filter(rater=rater)

    first = start_worker("vqa-kill", env)
    try:
        start_run.delay(run.pk)
        _wait_for(lambda: judged.count() >= 2 or first.poll() is not None, 120, "first verdicts")
        first.kill()  # SIGKILL: no clean-up, the chunk stays claimed and running
        first.wait(timeout=20)
    finally:
        log = stop_worker(first)
    done_before = judged.count()
    assert 2 <= done_before < 20, log
    assert run.chunks.get().status == "running"

    second = start_worker("vqa-kill", env)  # same name: takes back what it held
    try:
        _wait_for(
            lambda: (
                EvaluationRun.objects.get(pk=run.pk).status != RunStatus.RUNNING
                or second.poll() is not None
            ),
            120,
            "the restarted worker to finish the run",
        )
    finally:
        log = stop_worker(second)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, (run.error, log)
    pair_ids = sorted(run_actions.study_pairs(study).values_list("id", flat=True))
    assert sorted(judged.values_list("neuron_image_id", flat=True)) == pair_ids
    assert run.done_pairs == 20
    chunk = run.chunks.get()
    assert chunk.attempts == 2 and chunk.status == "done"
    assert set(judged.values_list("verdict", flat=True)) <= {"yes", "no"}
    assert WorkerHeartbeat.objects.filter(hostname__startswith="vqa-kill@").exists()
