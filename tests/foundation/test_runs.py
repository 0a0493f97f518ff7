import pytest

from evaluation import run_actions, runs
from evaluation.models import EvaluationRun, Judgment, Rater, RunChunk, RunStatus
from evaluation.raters import registry
from tests import rater_doubles

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def parity_rater(monkeypatch):
    monkeypatch.setitem(registry.FACTORIES, "openclip_es", "tests.rater_doubles:build")
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
    run = _run_all(run_actions.do_create_run(study, _rater()))
    assert run.status == RunStatus.DONE
    assert run.total_pairs == run.done_pairs == 15
    assert Judgment.objects.filter(rater=run.rater).count() == 15
    assert run.chunks.count() == 3  # 6 pairs a chunk, neurons never split: 6, 6, 3
    assert "score" in run.stage_seconds and run.wall_seconds >= 0


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
    assert run.status == RunStatus.FAILED and "simulated crash" in run.error

    runs._RATERS.clear()
    rater.params = {}
    Rater.objects.filter(pk=rater.pk).update(params={})
    run_actions.do_resume_run(run.pk)
    assert runs.do_rate_chunk(chunk_id, worker="w2").rated == 8
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.done_pairs == 12
    assert Judgment.objects.filter(rater=rater).count() == 12


def test_chunk_of_dead_worker_is_requeued_and_not_claimed_twice(make_study):
    study = make_study(neurons=2, k=2)
    run = run_actions.do_create_run(study, _rater())
    [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
    RunChunk.objects.filter(pk=chunk_id).update(status="running", worker="dead@host")
    assert runs.do_rate_chunk(chunk_id, worker="w2").claimed is False  # still looks alive
    assert run_actions.do_requeue_stale_chunks(dead_worker="dead@host") == [chunk_id]
    assert runs.do_rate_chunk(chunk_id, worker="w2").rated == 4
    assert runs.do_rate_chunk(chunk_id, worker="w3").claimed is False  # done: no double work


def test_cancelled_run_stops_between_batches(make_study):
    study = make_study(neurons=3, k=2)
    run = run_actions.do_create_run(study, _rater())
    [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
    assert run_actions.do_cancel_run(run.pk)
    assert runs.do_rate_chunk(chunk_id, worker="w1").claimed is False
    assert Judgment.objects.count() == 0
    assert EvaluationRun.objects.get(pk=run.pk).status == RunStatus.CANCELLED
