from django.core.management.base import BaseCommand, CommandError

from annotate.management.commands._importing import find_study
from annotate.sampling import SamplingError, do_sample_probe_images
from evaluation.probe_metrics.sampling import SampleDesign


class Command(BaseCommand):
    help = (
        "Add to every neuron images drawn from the study's probe set beyond its top-k: M "
        "uniform from the rest, and --per-stratum from each of Q activation strata that halve "
        "towards the top (annotate/sampling.py states the design). Each stores its inclusion "
        "probability; the same seed again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="study name")
        parser.add_argument("--random", type=int, default=0, help="M: uniform draws (default 0)")
        parser.add_argument("--strata", type=int, default=0, help="Q: activation strata")
        parser.add_argument("--per-stratum", type=int, default=1, help="draws per stratum")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, study, random, strata, per_stratum, seed, **options):
        design = SampleDesign(random, strata, per_stratum, seed)
        try:
            report = do_sample_probe_images(find_study(study), design)
        except SamplingError as exc:
            raise CommandError(f"sampling refused, nothing was changed: {exc}") from None
        self.stdout.write(f"Study {study!r} ({design.label}): {report.summary()}")
