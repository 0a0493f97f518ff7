"""Real Celery worker processes for integration tests, on the test database pytest created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER_ARGS = ["-Q", "gpu,default", "--concurrency", "1", "--pool", "solo"]
QUIET = ["--without-mingle", "--without-gossip", "--loglevel", "WARNING"]


def test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


def start_worker(
    name: str, extra_env: dict | None = None, module: str | None = None
) -> subprocess.Popen:
    """A worker on both queues. `module` runs `python -m module ARGS` instead of Celery's own
    command, for a worker that registers test raters before it starts."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        **(extra_env or {}),
    }
    command = ["-m", module] if module else ["-m", "celery", "-A", "config", "worker"]
    return subprocess.Popen(
        [sys.executable, *command, *WORKER_ARGS, "-n", f"{name}@%h", *QUIET],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop_worker(proc: subprocess.Popen) -> str:
    """Stop a worker (SIGTERM, then SIGKILL after 20 s) and return what it printed."""
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")
