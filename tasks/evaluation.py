"""Celery tasks that run automatic raters. Thin: each calls one function of evaluation.runs."""

from celery import shared_task

from evaluation import runs


@shared_task(name="tasks.evaluation.start_run")
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

    result = runs.do_rate_chunk(
        chunk_id, worker=self.request.hostname or "local", on_progress=report
    )
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


def requeue_chunks(chunk_ids: list[int]) -> None:
    for chunk_id in chunk_ids:
        rate_chunk.delay(chunk_id)
