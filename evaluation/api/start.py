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
    from tasks.evaluation import start_run

    run = do_create_run(study, rater, options, user=user)
    try:
        start_run.apply_async((run.pk,), retry=False)
    except BrokerError as exc:
        log.warning("run %s not queued, broker unavailable: %s", run.pk, exc)
        EvaluationRun.objects.filter(pk=run.pk).delete()
        raise QueueUnavailable(
            "The task queue is unavailable, so the run was not started. Try again shortly."
        ) from exc
    return run
