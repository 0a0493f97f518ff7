"""Start a run from the command line:

manage.py start_run --study "Demo: synthetic shapes" --kind openclip_es --param threshold=0.3

--dense adds the whole-probe-set scores to the pairs, --dense-only makes only those.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Study
from evaluation.models import EvaluationRun
from evaluation.rater_configs import do_get_rater
from evaluation.raters.registry import RATER_KINDS
from evaluation.run_actions import QueueUnavailable, RunRefused, do_start_run


def parse_param(text: str) -> tuple[str, object]:
    """name=value; the value is read as JSON when it parses (numbers, true, null), else text."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise CommandError(f"--param wants name=value, got {text!r}")
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value


class Command(BaseCommand):
    help = "Start an automatic rater's run over a study (queued to the workers)."

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="study name or id")
        parser.add_argument("--kind", required=True, help=", ".join(RATER_KINDS))
        parser.add_argument("--param", action="append", default=[], help="name=value (repeat)")
        parser.add_argument("--device", help="auto, cpu, cuda, cuda:1")
        parser.add_argument("--batch-size", type=int)
        parser.add_argument(
            "--dense",
            action="store_true",
            help="also score every label on the whole probe set (OpenCLIP raters only)",
        )
        parser.add_argument(
            "--dense-only", action="store_true", help="score the whole probe set, not the pairs"
        )
        parser.add_argument("--wait", action="store_true", help="print progress until it ends")
        parser.add_argument("--timeout", type=float, default=0, help="with --wait: give up after s")

    def handle(self, *args, **opts):
        study = self._study(opts["study"])
        params = dict(parse_param(p) for p in opts["param"])
        try:
            rater = do_get_rater(opts["kind"], params)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        options = {"device": opts["device"], "batch_size": opts["batch_size"]}
        options = {k: v for k, v in options.items() if v}
        if opts["dense"] or opts["dense_only"]:
            options["dense"] = True
        if opts["dense_only"]:
            options["pairs"] = False
        try:
            run = do_start_run(study, rater, options, user=None)
        except (RunRefused, QueueUnavailable) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"run {run.pk} queued: {rater.name} on {study.name}")
        if opts["wait"]:
            self._wait(run.pk, opts["timeout"])

    def _study(self, ref: str) -> Study:
        found = Study.objects.filter(pk=int(ref)) if ref.isdigit() else Study.objects.none()
        study = found.first() or Study.objects.filter(name=ref).first()
        if study is None:
            raise CommandError(f"no study named {ref!r}")
        return study

    def _wait(self, run_id: int, timeout: float) -> None:
        started = time.monotonic()
        last = None
        while True:
            run = EvaluationRun.objects.get(pk=run_id)
            line = f"{run.status} {run.done_pairs}/{run.total_pairs}"
            if line != last:
                self.stdout.write(line)
                last = line
            if not run.is_active:
                break
            if timeout and time.monotonic() - started > timeout:
                raise CommandError(f"run {run_id} still {run.status} after {timeout:.0f} s")
            time.sleep(1)
        self.stdout.write(json.dumps({"wall_seconds": run.wall_seconds, **run.stage_seconds}))
        for name, value in run.notes.items():
            self.stdout.write(f"note {name}: {value}")
        if run.status != "done":
            raise CommandError(f"run {run_id} {run.status}: {run.error}")
