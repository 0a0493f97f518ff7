"""Celery tasks that run automatic raters. Thin: each calls one function of
evaluation.run_actions (planning) or evaluation.runs (rating a chunk)."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from evaluation import run_actions, runs
from tasks.reports import warm_report

# PostgreSQL briefly unreachable: try again rather than lose the run. Both tasks
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
    return run_actions.do_plan_and_queue_run(run_id)


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
