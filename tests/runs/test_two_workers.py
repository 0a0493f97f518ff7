"""Two real Celery worker processes share one run: every pair judged once, totals add up."""

import subprocess
import time
from pathlib import Path

import pytest

from evaluation import run_actions
from evaluation.models import EvaluationRun, Judgment, Rater, RunStatus, WorkerHeartbeat
from tasks.evaluation import rate_chunk, start_run
from tests.doubles.workers import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _start(name: str, media_root: Path) -> subprocess.Popen:
    worker = "tests.doubles.worker_with_test_raters"
    return start_worker(name, {"MEDIA_ROOT": str(media_root)}, module=worker)


def _wait_for(predicate, timeout: float, what: str, logs=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{logs()}")
        time.sleep(0.2)


@pytest.fixture
def two_workers(settings):
    procs = {name: _start(name, settings.MEDIA_ROOT) for name in ("scale-a", "scale-b")}
    logs: dict[str, str] = {}
    try:
        _wait_for(
            lambda: (
                all(
                    WorkerHeartbeat.objects.filter(hostname__startswith=f"{name}@").exists()
                    for name in procs
                )
                or any(p.poll() is not None for p in procs.values())
            ),
            60,
            "both workers to start",
        )
        dead = [name for name, p in procs.items() if p.poll() is not None]
        assert not dead, {name: stop_worker(procs[name]) for name in dead}
        yield logs
    finally:
        for name, proc in procs.items():
            logs[name] = stop_worker(proc)


def test_two_workers_split_one_run_without_doubling(make_study, two_workers):
    study = make_study(name="two-workers", neurons=24, k=3)
    rater = Rater.objects.create(name="storage-hash", kind="openclip_es", params={"delay": 0.4})
    run = run_actions.do_create_run(study, rater)
    chunk_ids = run_actions.do_plan_run(run.pk, chunk_pairs=6)
    assert len(chunk_ids) == 12
    start_run.delay(run.pk)
    for chunk_id in chunk_ids:  # every chunk delivered twice, as after a re-queue race
        rate_chunk.delay(chunk_id)

    def finished() -> bool:
        return EvaluationRun.objects.get(pk=run.pk).status not in (
            RunStatus.QUEUED,
            RunStatus.RUNNING,
        )

    _wait_for(finished, 120, "the run to finish", logs=lambda: str(two_workers))
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error

    pair_ids = set(run_actions.study_pairs(study).values_list("id", flat=True))
    judged = list(Judgment.objects.filter(rater=rater).values_list("neuron_image_id", "extra"))
    assert sorted(pid for pid, _ in judged) == sorted(pair_ids)  # each pair exactly once
    assert all(extra["bytes_match"] for _, extra in judged)  # images read via storage
    assert len({extra["pid"] for _, extra in judged}) == 2
    assert run.total_pairs == run.done_pairs == 72

    chunks = list(
        run.chunks.values("worker", "status", "attempts", "pairs", "seconds", "stage_seconds")
    )
    assert {c["worker"].split("@")[0] for c in chunks} == {"scale-a", "scale-b"}
    assert all(c["status"] == "done" and c["attempts"] == 1 for c in chunks)
    assert sum(c["pairs"] for c in chunks) == 72
    for stage in ("read", "score"):
        total = sum(c["stage_seconds"][stage] for c in chunks)
        assert run.stage_seconds[stage] == pytest.approx(total, abs=1e-3)
    assert run.stage_seconds["score"] >= 12 * 0.4 * 0.9  # every chunk slept once
    # The two workers overlapped: the run took less than its chunks' times end to end.
    assert run.wall_seconds < sum(c["seconds"] for c in chunks)
