"""Starting a run from the API: the run row and its queue message succeed or fail together."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError as BrokerError

from annotate.models import Study
from evaluation.models import EvaluationRun, Rater
from evaluation.runs import do_create_run

log = logging.getLogger(__name__)


class QueueUnavailable(RuntimeError):
    """The task queue (Redis) did not take the run; nothing was kept."""


def do_start_run(study: Study, rater: Rater, options: dict, user) -> EvaluationRun:
    """Create the run, commit it, then publish it. If the broker refuses the message the run
    row is deleted again, so no queued run is left behind that no worker will ever see.

    Call it outside a transaction (API views are not atomic): the worker must find the
    committed row when the message arrives.
    """
    run = do_create_run(study, rater, options, user=user)
    try:
        _publish(run.pk)
    except BrokerError as exc:
        log.warning("run %s not queued, broker unavailable: %s", run.pk, exc)
        EvaluationRun.objects.filter(pk=run.pk).delete()
        raise QueueUnavailable(
            "The task queue is unavailable, so the run was not started. Try again shortly."
        ) from exc
    return run


def _publish(run_id: int) -> None:
    """Send start_run on a connection that fails at once when Redis is down: the default
    policy keeps a user waiting for seconds before an outage is reported. Nobody waits for
    the result, so no result-backend subscription is made (it retries for 20 s when down)."""
    from config.celery_app import app
    from tasks.evaluation import start_run

    options = {**app.conf.broker_transport_options, "max_retries": 0}
    with app.connection_for_write(transport_options=options) as connection:
        start_run.apply_async((run_id,), retry=False, connection=connection, ignore_result=True)
