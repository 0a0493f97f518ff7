from django.core.management.base import BaseCommand

from annotate.demo import DEMO_NEURONS, do_load_demo


class Command(BaseCommand):
    help = (
        "Load the demo study (planted concepts, some labels wrong), its sanity probes and gold "
        "units, the demo/demo user, and queue the demo OpenCLIP runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-runs", action="store_true", help="Do not queue the demo OpenCLIP runs."
        )

    def handle(self, *args, no_runs=False, **options):
        from annotate.demo import do_prepare_demo_study

        study = do_load_demo()
        summary = do_prepare_demo_study(study, start_runs=not no_runs)
        wrong = sum(not n.label_is_right for n in DEMO_NEURONS)
        self.stdout.write(
            f"Demo study {study.name!r}: {len(DEMO_NEURONS)} neurons, {wrong} labelled wrong; "
            f"{summary}. Staff login for the local demo: demo / demo"
        )
