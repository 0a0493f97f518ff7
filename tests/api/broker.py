"""The real broker in tests that publish: empty its queues so that no message outlives the
test (a later test's worker would take it for one of its own runs)."""

from __future__ import annotations

QUEUES = ("gpu", "default")


def purge_queues() -> int:
    """Drop every message waiting on the project's queues; returns how many there were."""
    from config.celery_app import app

    dropped = 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in QUEUES:
            dropped += channel.queue_purge(queue) or 0
    return dropped
