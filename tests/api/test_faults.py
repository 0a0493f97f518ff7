"""Backing services down: users get a 503 that says so, and nothing is left half-done."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.urls import reverse

from evaluation.models import EvaluationRun, Rater, RunChunk


@pytest.mark.django_db(transaction=True)  # the publish waits for a real commit
def test_starting_a_run_without_redis_is_a_clear_503_and_leaves_no_run(
    staff_api, make_study, broker_down
):
    study = make_study("f", neurons=2, k=1)
    rater = Rater.objects.create(name="es", kind="openclip_es")
    staff_api.get("/api/runs/")  # the first request imports every URL module: not timed
    started = time.perf_counter()
    response = staff_api.post("/api/runs/", {"study": study.pk, "rater": rater.pk}, format="json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert elapsed < 5  # the outage is reported at once, not after a long retry loop
    assert response.json() == {
        "detail": "The task queue is unavailable, so the run was not started. Try again shortly."
    }
    assert response["Retry-After"] == "30"
    assert EvaluationRun.objects.count() == 0
    assert RunChunk.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_run_starts_once_redis_is_back(staff_api, make_study):
    study = make_study("g", neurons=1, k=1)
    rater = Rater.objects.create(name="es", kind="openclip_es")
    response = staff_api.post("/api/runs/", {"study": study.pk, "rater": rater.pk}, format="json")
    assert response.status_code == 201
    assert EvaluationRun.objects.get().status == "queued"


@pytest.mark.django_db(transaction=True)
def test_api_answers_503_when_postgresql_is_unreachable(staff, make_study):
    from rest_framework.test import APIClient

    make_study("h", neurons=1, k=1)
    client = APIClient()
    client.force_authenticate(staff)  # no session lookup: the view's own query hits the outage
    with _outage():
        response = client.get("/api/neurons/")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database is unavailable right now; nothing was saved. Try again shortly."
    }
    assert client.get("/api/neurons/").status_code == 200  # and it recovers


@pytest.mark.django_db(transaction=True)
def test_pages_answer_503_not_a_traceback(client, annotators, make_study):
    study = make_study("i", neurons=1, k=1)
    client.force_login(annotators["alice"])
    with _outage():
        response = client.get(reverse("annotation-page", args=[study.pk]))
    assert response.status_code == 503
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "The database is unavailable right now; nothing was saved. Try again shortly."
    )


class _outage:
    def __enter__(self):
        self.saved = connection.settings_dict["PORT"]
        connection.close()
        connection.settings_dict["PORT"] = 9

    def __exit__(self, *exc):
        connection.close()
        connection.settings_dict["PORT"] = self.saved


@pytest.mark.django_db(transaction=True)
def test_a_submission_refused_during_an_outage_is_stored_once_when_resent(annotators, make_study):
    from rest_framework.test import APIClient

    from annotate.annotation.units import do_sync_units
    from annotate.models import StudyAnnotator
    from evaluation.models import Judgment

    study = make_study("j", neurons=1, k=2)
    do_sync_units(study)
    StudyAnnotator.objects.create(study=study, user=annotators["alice"])
    client = APIClient()
    client.force_authenticate(annotators["alice"])
    unit = client.post(f"/api/annotate/{study.pk}/next/", {"prefetch": 0}).json()["units"][0]
    ids = [image["id"] for image in unit["images"]]
    body = {
        "client_id": "7d3f6a2e-0c1b-4d8e-9a65-3b2f1c0d9e8f",
        "neuron": unit["neuron"],
        "answers": {str(i): "yes" for i in ids},
        "order_shown": ids,
        "ms_spent": 900,
    }
    with _outage():
        refused = client.post(f"/api/annotate/{study.pk}/submit/", body, format="json")
    assert refused.status_code == 503
    assert Judgment.objects.count() == 0
    for _ in range(2):  # the client resends until it is told the answers are stored
        stored = client.post(f"/api/annotate/{study.pk}/submit/", body, format="json")
        assert stored.status_code == 200
        assert stored.json()["client_id"] == body["client_id"]
    pairs = study.neurons.get().images.values_list("pk", flat=True)  # the ids shown are opaque
    assert sorted(Judgment.objects.values_list("neuron_image_id", flat=True)) == sorted(pairs)


@pytest.mark.django_db
def test_cache_outage_is_a_clear_503(staff_api, make_study, settings):
    from evaluation.models import Judgment

    study = make_study("c", neurons=1, k=1)
    rater = Rater.objects.create(name="es", kind="openclip_es")
    Judgment.objects.create(
        rater=rater, neuron_image=study.neurons.get().images.get(), verdict="yes"
    )
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }
    response = staff_api.get(f"/api/reports/{study.pk}/?n_boot=0")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The task queue or cache is unavailable right now. Try again shortly."
    }


@pytest.mark.django_db
def test_run_tasks_retry_when_postgresql_drops(monkeypatch, settings):
    """A database error in a run task is retried (eagerly here), not dropped."""
    from django.db import OperationalError

    from evaluation.runs import ChunkResult
    from tasks import evaluation as run_tasks

    settings.CELERY_TASK_ALWAYS_EAGER = True
    calls: list[int] = []

    def flaky(chunk_id, worker, on_progress=None):
        calls.append(chunk_id)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return ChunkResult(chunk_id, claimed=True, rated=4)

    monkeypatch.setattr(run_tasks.runs, "do_rate_chunk", flaky)
    result = run_tasks.rate_chunk.apply(args=[7]).get()
    assert calls == [7, 7, 7]
    assert result == {"chunk": 7, "claimed": True, "rated": 4, "cancelled": False}

    planned: list[int] = []

    def flaky_plan(run_id):
        planned.append(run_id)
        if len(planned) < 2:
            raise OperationalError("could not connect to server")
        return []

    monkeypatch.setattr(run_tasks.run_actions, "do_plan_and_queue_run", flaky_plan)
    assert run_tasks.start_run.apply(args=[3]).get() == []
    assert planned == [3, 3]


@pytest.mark.django_db
def test_sign_in_and_sessions_survive_a_cache_outage(client, annotators, make_study, settings):
    from annotate.models import StudyAnnotator

    study = make_study("s", neurons=1, k=1)
    StudyAnnotator.objects.create(study=study, user=annotators["alice"])
    page = reverse("annotation-page", args=[study.pk])
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }
    signed_in = client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-pass", "next": page}
    )
    assert (signed_in.status_code, signed_in["Location"]) == (302, page)
    assert client.get(page).status_code == 200  # the session is read back without Redis
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(page).status_code == 302  # and logging out ends it
