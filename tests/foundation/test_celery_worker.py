"""A real Celery worker process against the real Redis broker writes to PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.models import WorkerHeartbeat

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def start_worker(name: str, extra_env: dict | None = None) -> subprocess.Popen:
    """A worker on both queues, using the test database that pytest-django created."""
    from django.db import connection

    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(
                **{
                    **connection.settings_dict,
                    "HOST": connection.settings_dict["HOST"] or "127.0.0.1",
                    "PORT": connection.settings_dict["PORT"] or 5432,
                }
            ),
            **(extra_env or {}),
        }
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "gpu,default",
            "--concurrency",
            "1",
            "--pool",
            "solo",
            "-n",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop_worker(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


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
