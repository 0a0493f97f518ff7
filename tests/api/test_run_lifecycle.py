"""Starting and resuming runs: published after commit, a refused publish changes nothing, and
runs whose work was lost (broker outage, dead worker) can be resumed."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.celery_app import app as celery_app
from evaluation import run_actions
from evaluation.models import EvaluationRun, Rater, RunChunk, RunStatus

RATE_CHUNK = "tasks.evaluation.rate_chunk"


@pytest.fixture
def sent(monkeypatch):
    messages: list[tuple[str, int]] = []
    monkeypatch.setattr(run_actions, "_send", messages.extend)
    return messages


def _rater() -> Rater:
    return Rater.objects.create(name="es", kind="openclip_es")


def _failed_run(study, chunks: int = 2) -> EvaluationRun:
    run = run_actions.do_create_run(study, _rater())
    run_actions.do_plan_run(run.pk, chunk_pairs=1)
    done, *rest = run.chunks.order_by("index")[: chunks + 1]
    RunChunk.objects.filter(pk=done.pk).update(status="done")
    RunChunk.objects.filter(pk__in=[c.pk for c in rest]).update(status="failed", error="boom")
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED, error="RuntimeError: boom", finished_at=timezone.now()
    )
    return EvaluationRun.objects.get(pk=run.pk)


def _snapshot(run: EvaluationRun) -> tuple:
    run.refresh_from_db()
    chunks = tuple(run.chunks.order_by("index").values_list("status", "error"))
    return run.status, run.error, run.finished_at, chunks


@pytest.mark.django_db(transaction=True)
def test_start_is_published_only_after_the_transaction_commits(make_study, sent):
    study = make_study(neurons=2, k=1)
    with transaction.atomic():
        run = run_actions.do_start_run(study, _rater(), {}, user=None)
        assert sent == []  # a worker could not see the row yet
    assert sent == [("tasks.evaluation.start_run", run.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_start_rolled_back_is_never_published(make_study, sent):
    study = make_study(neurons=2, k=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        run_actions.do_start_run(study, _rater(), {}, user=None)
        raise RuntimeError("the caller's transaction fails")
    assert sent == [] and EvaluationRun.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_resume_without_redis_is_a_fast_503_and_leaves_the_run_as_it_was(
    staff_api, make_study, broker_down
):
    run = _failed_run(make_study(neurons=3, k=1))
    before = _snapshot(run)
    staff_api.get("/api/runs/")  # the first request imports every URL module: not timed
    started = time.perf_counter()
    response = staff_api.post(f"/api/runs/{run.pk}/resume/")
    assert time.perf_counter() - started < 5
    assert response.status_code == 503
    assert _snapshot(run) == before  # not "queued" with nothing queued
    assert response.json() == {
        "detail": f"The task queue is unavailable, so run {run.pk} was not resumed. "
        "Try again shortly."
    }
    assert before[0] == RunStatus.FAILED and before[3][1] == ("failed", "boom")


@pytest.mark.django_db(transaction=True)
def test_resume_without_redis_from_the_page_says_so_and_changes_nothing(
    client, staff, make_study, broker_down
):
    run = _failed_run(make_study(neurons=3, k=1))
    before = _snapshot(run)
    client.force_login(staff)
    page = client.post(reverse("run-resume", args=[run.pk]), follow=True)
    assert page.status_code == 200
    assert f"The task queue is unavailable, so run {run.pk} was not resumed." in page.text
    assert _snapshot(run) == before


@pytest.mark.django_db(transaction=True)
def test_resume_republishes_the_unfinished_chunks(staff_api, make_study, sent):
    run = _failed_run(make_study(neurons=3, k=1))
    unfinished = list(run.chunks.exclude(status="done").order_by("id").values_list("id", flat=True))
    response = staff_api.post(f"/api/runs/{run.pk}/resume/")
    assert response.status_code == 200
    assert response.json()["status"] == "queued" and response.json()["error"] == ""
    assert sorted(sent) == [(RATE_CHUNK, chunk_id) for chunk_id in unfinished]
    assert set(run.chunks.values_list("status", flat=True)) == {"done", "pending"}


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_whose_message_was_lost_can_be_resumed(staff_api, make_study, sent):
    run = run_actions.do_create_run(make_study(neurons=2, k=1), _rater())  # never published
    response = staff_api.post(f"/api/runs/{run.pk}/resume/")
    assert response.status_code == 200, response.json()
    assert sent == [("tasks.evaluation.start_run", run.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_running_run_whose_worker_vanished_can_be_resumed(staff_api, make_study, sent):
    run = run_actions.do_create_run(make_study(neurons=2, k=1), _rater())
    [chunk_id] = run_actions.do_plan_run(run.pk)
    old = timezone.now() - timedelta(hours=1)
    RunChunk.objects.filter(pk=chunk_id).update(status="running", worker="w1@a", heartbeat=old)
    EvaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    response = staff_api.post(f"/api/runs/{run.pk}/resume/")
    assert response.status_code == 200, response.json()
    assert sent == [(RATE_CHUNK, chunk_id)]


@pytest.mark.django_db(transaction=True)
def test_a_run_a_live_worker_holds_is_not_resumed(staff_api, make_study, sent):
    run = run_actions.do_create_run(make_study(neurons=2, k=1), _rater())
    [chunk_id] = run_actions.do_plan_run(run.pk)
    RunChunk.objects.filter(pk=chunk_id).update(
        status="running", worker="w1@a", heartbeat=timezone.now()
    )
    EvaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    response = staff_api.post(f"/api/runs/{run.pk}/resume/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Run {run.pk} is running; only a failed or cancelled run, or one whose "
        "chunks no live worker holds, resumes."
    }
    assert sent == []


def test_the_beat_schedule_requeues_stale_chunks_with_a_registered_task(settings):
    import tasks  # noqa: F401  registers the tasks with the app

    [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if "stale" in e["task"]]
    assert entry["task"] == "tasks.maintenance.requeue_stale_chunks"
    assert entry["task"] in celery_app.tasks
    assert 0 < entry["schedule"] <= settings.NEURONJUDGE_STALE_CHUNK_SECONDS


@pytest.mark.django_db(transaction=True)
def test_the_periodic_requeue_takes_stale_chunks_of_any_worker_name(make_study, sent):
    from tasks.maintenance import requeue_stale_chunks

    run = run_actions.do_create_run(make_study(neurons=4, k=1), _rater())
    stale, fresh, *_ = run_actions.do_plan_run(run.pk, chunk_pairs=1)
    old = timezone.now() - timedelta(hours=1)
    RunChunk.objects.filter(pk=stale).update(status="running", worker="gone@a", heartbeat=old)
    RunChunk.objects.filter(pk=fresh).update(
        status="running", worker="alive@b", heartbeat=timezone.now()
    )
    assert requeue_stale_chunks.apply().get() == [stale]
    assert sent == [(RATE_CHUNK, stale)]
    assert RunChunk.objects.get(pk=stale).status == "pending"
    assert RunChunk.objects.get(pk=fresh).status == "running"


@pytest.mark.django_db(transaction=True)
def test_the_periodic_requeue_without_redis_keeps_the_chunks_stale(make_study, broker_down):
    run = run_actions.do_create_run(make_study(neurons=2, k=1), _rater())
    [chunk_id] = run_actions.do_plan_run(run.pk)
    old = timezone.now() - timedelta(hours=1)
    RunChunk.objects.filter(pk=chunk_id).update(status="running", worker="gone@a", heartbeat=old)
    with pytest.raises(run_actions.QueueUnavailable):
        run_actions.do_requeue_stale_chunks()
    assert RunChunk.objects.get(pk=chunk_id).status == "running"  # found again next time


NO_IMAGES = "has no images to rate: import its top images first, then start the run."


@pytest.fixture
def study_without_images(make_study):
    from annotate.models import NeuronImage

    study = make_study("empty", neurons=2, k=1)
    NeuronImage.objects.filter(neuron__study=study).delete()  # labels imported, images not
    return study


@pytest.mark.django_db
def test_a_run_on_a_study_without_images_is_refused_in_the_api(staff_api, study_without_images):
    study = study_without_images
    response = staff_api.post("/api/runs/", {"study": study.pk, "rater": _rater().pk})
    assert response.status_code == 400
    assert response.json() == {"detail": f"empty {NO_IMAGES}"}
    assert EvaluationRun.objects.count() == 0


@pytest.mark.django_db
def test_a_run_on_a_study_without_images_is_refused_on_the_page(
    client, staff, study_without_images
):
    study = study_without_images
    client.force_login(staff)
    page = client.post(
        reverse("run-start", args=[study.pk]),
        {"kind": "openclip_es", "model": "x", "precision": "fp32"},
        follow=True,
    )
    assert f"Run not started: empty {NO_IMAGES}" in page.text
    assert EvaluationRun.objects.count() == 0


@pytest.mark.django_db
def test_a_run_on_a_study_without_images_is_refused_by_the_command(study_without_images):
    with pytest.raises(CommandError, match=f"empty {NO_IMAGES}"):
        call_command("start_run", "--study", "empty", "--kind", "openclip_es")
    assert EvaluationRun.objects.count() == 0
