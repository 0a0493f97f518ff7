"""manage.py resume_runs: queue again every failed or cancelled run (or those given by id),
and every active run's chunks whose worker stopped reporting. Judged pairs are kept."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from evaluation.models import EvaluationRun, RunStatus
from evaluation.run_actions import (
    QueueUnavailable,
    RunRefused,
    do_requeue_stale_chunks,
    do_resume_run,
)


class Command(BaseCommand):
    help = "Resume failed/cancelled runs and re-queue chunks of dead workers."

    def add_arguments(self, parser):
        parser.add_argument("run_ids", nargs="*", type=int)
        parser.add_argument("--failed-only", action="store_true", help="leave cancelled runs")

    def handle(self, *args, **opts):
        statuses = (
            [RunStatus.FAILED] if opts["failed_only"] else [RunStatus.FAILED, RunStatus.CANCELLED]
        )
        todo = EvaluationRun.objects.filter(status__in=statuses)
        if opts["run_ids"]:
            todo = todo.filter(pk__in=opts["run_ids"])
        for run in todo:
            try:
                chunk_ids = do_resume_run(run.pk)
            except RunRefused as exc:
                self.stderr.write(f"run {run.pk} not resumed: {exc}")
                continue
            except QueueUnavailable as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"run {run.pk} resumed ({len(chunk_ids)} chunk(s) to go)")
        stale = do_requeue_stale_chunks()
        self.stdout.write(f"{len(stale)} stale chunk(s) re-queued")
