"""The VQA raters through the shared run machinery: killed workers, outages, resumes."""

import pytest

from evaluation import run_actions, runs
from evaluation.models import Judgment, Rater, RunChunk, RunStatus
from evaluation.raters.base import RaterUnavailable
from evaluation.raters.openai_vqa import EndpointError
from tests.doubles.chat_server import chat_server

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Like SIGKILL, it escapes `except Exception`: the chunk is left claimed and running."""


@pytest.fixture(autouse=True)
def _fresh_worker_cache():
    runs._RATERS.clear()
    yield
    runs._RATERS.clear()


def _kill_after_first_batch(progress: dict) -> None:
    raise WorkerKilled


def test_killed_worker_resumes_with_exactly_one_judgment_per_pair(make_study, tiny_dir):
    study = make_study(neurons=4, k=3, labels=["red", "blue striped", "dog", "sky water"])
    rater = Rater.objects.create(
        name="tiny blip2", kind="vqa_blip2", params={"model": str(tiny_dir), "batch_size": 2}
    )
    run = run_actions.do_create_run(study, rater, options={"store_every": 5, "device": "cpu"})
    [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)

    with pytest.raises(WorkerKilled):
        runs.do_rate_chunk(chunk_id, worker="gpu1", on_progress=_kill_after_first_batch)
    assert Judgment.objects.filter(rater=rater).count() == 5
    assert RunChunk.objects.get(pk=chunk_id).status == RunChunk.Status.RUNNING

    runs._RATERS.clear()  # a new worker process loads the model again
    assert run_actions.do_requeue_stale_chunks(dead_worker="gpu1") == [chunk_id]
    assert runs.do_rate_chunk(chunk_id, worker="gpu2").rated == 7

    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.done_pairs == 12
    judged = Judgment.objects.filter(rater=rater)
    assert sorted(judged.values_list("neuron_image_id", flat=True)) == sorted(
        run_actions.study_pairs(study).values_list("id", flat=True)
    )
    assert {j.verdict for j in judged} <= {"yes", "no"}
    assert all(0.0 <= j.score <= 1.0 and set(j.extra) == {"p_yes", "p_no"} for j in judged)
    assert run.notes["blip2_scoring"] == "one_pass"
    assert {"load", "embed_images", "score", "store"} <= set(run.stage_seconds)


def test_resumed_scores_match_an_uninterrupted_run(make_study, tiny_dir):
    study = make_study(neurons=3, k=2, labels=["red", "cat"])
    params = {"model": str(tiny_dir)}
    killed = Rater.objects.create(name="killed", kind="vqa_blip2", params=params)
    steady = Rater.objects.create(
        name="steady", kind="vqa_blip2", params={**params, "batch_size": 3}
    )
    first = run_actions.do_create_run(study, killed, options={"store_every": 2})
    [chunk_id] = run_actions.do_plan_run(first.pk, chunk_pairs=100)
    with pytest.raises(WorkerKilled):
        runs.do_rate_chunk(chunk_id, worker="a", on_progress=_kill_after_first_batch)
    run_actions.do_requeue_stale_chunks(dead_worker="a")
    runs.do_rate_chunk(chunk_id, worker="b")

    second = run_actions.do_create_run(study, steady)
    for chunk in run_actions.do_plan_run(second.pk, chunk_pairs=100):
        runs.do_rate_chunk(chunk, worker="c")

    def scores(rater):
        return dict(Judgment.objects.filter(rater=rater).values_list("neuron_image_id", "score"))

    resumed, uninterrupted = scores(killed), scores(steady)
    assert resumed.keys() == uninterrupted.keys() and len(resumed) == 6
    for pair_id, score in uninterrupted.items():
        assert resumed[pair_id] == pytest.approx(score, abs=1e-5)


def test_missing_weights_fail_the_run_with_the_message(make_study):
    study = make_study(neurons=2, k=2)
    rater = Rater.objects.create(
        name="absent", kind="vqa_blip2", params={"model": "Salesforce/blip2-not-here"}
    )
    run = run_actions.do_create_run(study, rater)
    [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
    with pytest.raises(RaterUnavailable):
        runs.do_rate_chunk(chunk_id, worker="w1")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "RaterUnavailable" in run.error and "Salesforce/blip2-not-here" in run.error
    assert not Judgment.objects.filter(rater=rater).exists()


def test_endpoint_outage_fails_the_run_and_resume_finishes_it(make_study):
    study = make_study(neurons=4, k=3, labels=["dog", "cat"])
    healthy = {"up": True}

    def reply(n, body):
        if n >= 4 and not healthy["up"]:
            return ("status", 503)
        return ("text", "Yes." if "'dog'" in body["messages"][0]["content"][0]["text"] else "No")

    with chat_server(reply) as server:
        params = {"base_url": server.base_url, "model": "llava", "retries": 0, "concurrency": 1}
        rater = Rater.objects.create(name="llava", kind="vqa_openai", params=params)
        run = run_actions.do_create_run(study, rater, options={"store_every": 4})
        [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
        healthy["up"] = False
        with pytest.raises(EndpointError, match="HTTP 503"):
            runs.do_rate_chunk(chunk_id, worker="w1")
        run.refresh_from_db()
        assert run.status == RunStatus.FAILED and "HTTP 503" in run.error
        assert Judgment.objects.filter(rater=rater).count() == 4

        healthy["up"] = True
        run_actions.do_resume_run(run.pk)
        assert runs.do_rate_chunk(chunk_id, worker="w1").rated == 8
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.done_pairs == 12
    verdicts = dict(
        Judgment.objects.filter(rater=rater).values_list("neuron_image__neuron__label", "verdict")
    )
    assert verdicts == {"dog": "yes", "cat": "no"}
    assert Judgment.objects.filter(rater=rater).count() == 12
