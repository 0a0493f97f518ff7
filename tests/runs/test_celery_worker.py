"""A real Celery worker process against the real Redis broker writes to PostgreSQL."""

import pytest

from evaluation.models import WorkerHeartbeat
from tests.doubles.workers import start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_runs_task_that_writes_to_postgres():
    from tasks.maintenance import heartbeat

    worker = start_worker("itest")
    try:
        result = heartbeat.delay("probe-host", "gpu,default", "cpu")
        row_id = result.get(timeout=60)
    finally:
        log = stop_worker(worker)
    row = WorkerHeartbeat.objects.get(hostname="probe-host")
    assert row.pk == row_id, log
    assert row.queues == "gpu,default"
    # the worker's own start-up heartbeat landed too
    assert WorkerHeartbeat.objects.filter(hostname__startswith="itest@").exists(), log
