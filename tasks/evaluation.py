"""Celery tasks that run automatic raters. Thin: each calls one function of evaluation.runs."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from evaluation import runs
from tasks.reports import warm_report

# PostgreSQL briefly unreachable: try again rather than lose the run (issue 7). Both tasks
# are safe to repeat: planning is idempotent and rating skips pairs already judged.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DB_RETRIES = 5


@shared_task(
    name="tasks.evaluation.start_run",
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=DB_RETRIES,
)
def start_run(run_id: int) -> list[int]:
    chunk_ids = runs.do_plan_run(run_id)
    for chunk_id in chunk_ids:
        rate_chunk.delay(chunk_id)
    return chunk_ids


@shared_task(
    bind=True, name="tasks.evaluation.rate_chunk", acks_late=True, reject_on_worker_lost=True
)
def rate_chunk(self, chunk_id: int) -> dict:
    def report(meta: dict) -> None:
        if self.request.id:
            self.update_state(state="PROGRESS", meta=meta)

    try:
        result = runs.do_rate_chunk(
            chunk_id, worker=self.request.hostname or "local", on_progress=report
        )
    except DATABASE_ERRORS as exc:
        # The chunk may still read "running" (the outage kept it from being marked): retry
        # once it counts as stale, so the claim takes it back and judged pairs are skipped.
        countdown = settings.NEURONJUDGE_STALE_CHUNK_SECONDS + 5
        raise self.retry(exc=exc, countdown=countdown, max_retries=DB_RETRIES) from exc
    if result.finished_study is not None:
        warm_report.delay(result.finished_study)
    return {
        "chunk": result.chunk_id,
        "claimed": result.claimed,
        "rated": result.rated,
        "cancelled": result.cancelled,
    }


def enqueue_run(run_id: int) -> None:
    """Send a run to the workers once the transaction that created it has committed."""
    from django.db import transaction

    transaction.on_commit(lambda: start_run.delay(run_id))


def resume_run(run_id: int) -> list[int]:
    """Put a failed or cancelled run back to work: its unfinished chunks to the workers, or
    the run to planning if it was cancelled before a worker planned it. Returns the chunks."""
    planned = runs.run_is_planned(run_id)
    chunk_ids = runs.do_resume_run(run_id)
    if planned:
        requeue_chunks(chunk_ids)
    else:
        start_run.delay(run_id)
    return chunk_ids


def requeue_chunks(chunk_ids: list[int]) -> None:
    for chunk_id in chunk_ids:
        rate_chunk.delay(chunk_id)
