from pathlib import Path

from django.core.management.base import BaseCommand

from annotate.importers import ImportFailed
from annotate.importers.exemplars import do_import_exemplars
from annotate.management.commands._importing import failed, find_study


class Command(BaseCommand):
    help = (
        "Import MILAN's exemplars of one layer (results/exemplars/{model}/{dataset}/{layer}/: "
        "ids.csv and activations.csv, one row per unit, k columns best first) as each "
        "neuron's top-k images from an imported probe set (k from the study; the first k "
        "columns are used). Creates missing neurons, unlabelled until import_labels."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path, help="the layer's exemplars folder")
        parser.add_argument("--study", required=True, help="study name")
        parser.add_argument("--probe-set", required=True, help="probe set name (import_probe_set)")
        parser.add_argument("--layer", help="layer name (default: the folder's name)")

    def handle(self, *args, dir, study, probe_set, layer, **options):
        try:
            report = do_import_exemplars(find_study(study), dir, probe_set, layer)
        except ImportFailed as exc:
            raise failed(exc) from None
        self.stdout.write(f"Study {study!r}, layer {layer or dir.name}: {report.summary()}")
