"""Housekeeping: worker heartbeats and re-queueing chunks whose worker died."""

import socket

from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from evaluation.models import WorkerHeartbeat
from evaluation.run_actions import do_requeue_stale_chunks


@shared_task(name="tasks.maintenance.heartbeat")
def heartbeat(hostname: str, queues: str, device: str = "") -> int:
    row, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"queues": queues, "device": device, "seen": timezone.now()}
    )
    return row.pk


@shared_task(name="tasks.maintenance.requeue_stale_chunks")
def requeue_stale_chunks(dead_worker: str | None = None) -> list[int]:
    """On the beat schedule (CELERY_BEAT_SCHEDULE), and for its own name when a worker starts."""
    return do_requeue_stale_chunks(dead_worker)


@worker_ready.connect
def _on_worker_ready(sender=None, **_kwargs) -> None:
    """A worker that starts again after a crash takes back the chunks it held when it died."""
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    queues = ",".join(sorted(q.name for q in sender.app.amqp.queues.values())) if sender else ""
    requeue_stale_chunks.apply(kwargs={"dead_worker": hostname})
    heartbeat.apply(args=[hostname, queues])
