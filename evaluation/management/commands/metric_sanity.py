"""manage.py metric_sanity [--json] [--seed N]: the missing-labels and extra-labels sanity
tests, computed on generated neurons with known concepts, for every whole-probe metric."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from evaluation.probe_metrics import EPSILON, PASS_SHARE, run_sanity_tests


class Command(BaseCommand):
    help = "Share of neurons whose score falls under each perturbation, and pass/fail."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **opts):
        rows = run_sanity_tests(seed=opts["seed"])
        if opts["json"]:
            self.stdout.write(json.dumps([row.as_dict() for row in rows]))
            return
        self.stdout.write(
            f"score fell by more than {EPSILON} for the share of neurons; "
            f"pass above {PASS_SHARE:.0%}"
        )
        self.stdout.write(f"{'metric':<12}{'missing labels':>22}{'extra labels':>22}")
        for r in rows:
            miss = f"{r.missing_labels_share:7.2%} {'pass' if r.missing_labels_pass else 'FAIL'}"
            more = f"{r.extra_labels_share:7.2%} {'pass' if r.extra_labels_pass else 'FAIL'}"
            self.stdout.write(f"{r.metric:<12}{miss:>22}{more:>22}")
