import pytest
from django.utils import timezone

from evaluation import run_actions, runs
from evaluation.models import Judgment, Rater, RunChunk, RunStatus
from tests.doubles import raters as rater_doubles

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def parity_rater(monkeypatch):
    rater_doubles.use_factory(monkeypatch, "openclip_es", "tests.doubles.raters:build")
    rater_doubles.CALLS.clear()
    runs._RATERS.clear()


def _rater(**params):
    return Rater.objects.create(name=f"parity {params}", kind="openclip_es", params=params)


def _run_all(run):
    for chunk_id in run_actions.do_plan_run(run.pk, chunk_pairs=6):
        runs.do_rate_chunk(chunk_id, worker="w1")
    run.refresh_from_db()
    return run


def test_run_rates_every_pair_once_and_records_times(make_study):
    study = make_study(neurons=5, k=3)
    before = timezone.now()
    run = _run_all(run_actions.do_create_run(study, _rater()))
    after = timezone.now()
    assert run.status == RunStatus.DONE and run.error == ""
    assert run.total_pairs == run.done_pairs == 15
    assert sum(rater_doubles.CALLS) == 15  # the rater saw each pair once
    chunks = list(run.chunks.order_by("index"))
    assert [c.pairs for c in chunks] == [6, 6, 3]  # 6 pairs a chunk, neurons never split
    assert {(c.status, c.attempts, c.worker) for c in chunks} == {("done", 1, "w1")}

    judged = Judgment.objects.filter(rater=run.rater).select_related("neuron_image__image")
    assert judged.count() == 15
    for judgment in judged:  # the parity rule of tests.doubles.raters, pair by pair
        sha = judgment.neuron_image.image.sha256
        assert judgment.verdict == ("yes" if int(sha, 16) % 2 else "no")
        assert judgment.score == float(int(sha[:4], 16))

    assert before <= run.started_at <= run.finished_at <= after
    assert run.wall_seconds == pytest.approx(
        (run.finished_at - run.started_at).total_seconds(), abs=0.01
    )
    assert 0 < run.wall_seconds < (after - before).total_seconds()
    assert set(run.stage_seconds) == {"load", "query", "score", "store"}
    for stage, seconds in run.stage_seconds.items():  # each stage summed over the chunks
        summed = sum(c.stage_seconds.get(stage, 0.0) for c in chunks)
        assert seconds == pytest.approx(summed, abs=1e-3)
    assert 0 < sum(run.stage_seconds.values()) <= run.wall_seconds


def test_second_active_run_of_same_rater_is_refused(make_study):
    study = make_study(neurons=1)
    rater = _rater()
    run_actions.do_create_run(study, rater)
    with pytest.raises(run_actions.RunConflict):
        run_actions.do_create_run(study, rater)


def test_crashed_chunk_resumes_without_doubling(make_study, settings):
    study = make_study(neurons=4, k=3)
    rater = _rater(fail_after=4)
    run = run_actions.do_create_run(study, rater, options={"store_every": 2})
    [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
    with pytest.raises(RuntimeError):
        runs.do_rate_chunk(chunk_id, worker="w1")
    stored = Judgment.objects.filter(rater=rater).count()
    assert stored == 4  # the two batches before the crash were kept
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == "RuntimeError: simulated crash" and run.finished_at is not None
    chunk = RunChunk.objects.get(pk=chunk_id)
    assert (chunk.status, chunk.error) == ("failed", "RuntimeError: simulated crash")

    runs._RATERS.clear()
    rater.params = {}
    Rater.objects.filter(pk=rater.pk).update(params={})
    run_actions.do_resume_run(run.pk)
    assert runs.do_rate_chunk(chunk_id, worker="w2").rated == 8
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.done_pairs == 12 and run.error == ""
    assert Judgment.objects.filter(rater=rater).count() == 12
    chunk = RunChunk.objects.get(pk=chunk_id)
    assert (chunk.status, chunk.attempts, chunk.worker) == ("done", 2, "w2")


def test_chunk_of_dead_worker_is_requeued_and_not_claimed_twice(make_study):
    study = make_study(neurons=2, k=2)
    run = run_actions.do_create_run(study, _rater())
    [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
    RunChunk.objects.filter(pk=chunk_id).update(status="running", worker="dead@host")
    assert runs.do_rate_chunk(chunk_id, worker="w2").claimed is False  # still looks alive
    assert run_actions.do_requeue_stale_chunks(dead_worker="dead@host") == [chunk_id]
    assert runs.do_rate_chunk(chunk_id, worker="w2").rated == 4
    assert runs.do_rate_chunk(chunk_id, worker="w3").claimed is False  # done: no double work
    chunk = RunChunk.objects.get(pk=chunk_id)
    assert (chunk.status, chunk.worker, chunk.attempts) == ("done", "w2", 1)
    assert Judgment.objects.filter(rater=run.rater).count() == 4


def test_cancelled_run_stops_between_batches(make_study):
    study = make_study(neurons=3, k=2)
    run = run_actions.do_create_run(study, _rater())
    [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
    assert run_actions.do_cancel_run(run.pk)
    assert runs.do_rate_chunk(chunk_id, worker="w1").claimed is False
    assert Judgment.objects.count() == 0
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.finished_at is not None
    assert not run_actions.do_cancel_run(run.pk)  # only an active run cancels
