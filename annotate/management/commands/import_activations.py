from pathlib import Path

from django.core.management.base import BaseCommand

from annotate.importers import ImportFailed
from annotate.importers.activations import do_import_activations
from annotate.importers.progress import tqdm_progress
from annotate.management.commands._importing import failed, find_study


class Command(BaseCommand):
    help = (
        "Import one layer's activations over the study's probe set: a [N_images, n_units] "
        "float tensor saved with torch.save (CLIP-Dissect saved_activations/*.pt, Linear "
        "Explanations all_{pool}.pt) or a .npy. Stores them per unit, creates missing "
        "neurons and sets each neuron's top-k images (k from the study)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--study", required=True, help="study name")
        parser.add_argument("--probe-set", required=True, help="probe set name (import_probe_set)")
        parser.add_argument("--layer", required=True, help="layer name, e.g. layer4")

    def handle(self, *args, file, study, probe_set, layer, **options):
        try:
            report = do_import_activations(
                find_study(study), probe_set, layer, file, progress=tqdm_progress
            )
        except ImportFailed as exc:
            raise failed(exc) from None
        self.stdout.write(f"Study {study!r}, layer {layer}: {report.summary()}")
