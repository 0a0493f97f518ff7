from django.core.management.base import BaseCommand

from annotate.demo import DEMO_NEURONS, do_load_demo


class Command(BaseCommand):
    help = "Load the demo study (planted concepts, some labels wrong) and the demo/demo user."

    def handle(self, *args, **options):
        study = do_load_demo()
        wrong = sum(not n.label_is_right for n in DEMO_NEURONS)
        self.stdout.write(
            f"Demo study {study.name!r}: {len(DEMO_NEURONS)} neurons, {wrong} labelled wrong. "
            "Staff login for the local demo: demo / demo"
        )
