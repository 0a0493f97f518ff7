from pathlib import Path

from django.core.management.base import BaseCommand

from annotate.importers import ImportFailed
from annotate.importers.probe_sets import do_import_probe_set
from annotate.importers.progress import tqdm_progress
from annotate.management.commands._importing import failed


class Command(BaseCommand):
    help = (
        "Import an ordered probe set: its images in torchvision ImageFolder order (class "
        "folders sorted, files sorted within), or in the order of --order. Several folders "
        "are concatenated in the order given. Run it again after an interruption: stored "
        "images are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="probe set name, e.g. broden")
        parser.add_argument("dirs", nargs="+", metavar="DIR", help="image folder(s), in order")
        parser.add_argument(
            "--order",
            type=Path,
            help="file of relative image paths, one a line in row order (with several "
            "folders, each path starts with its folder's name)",
        )

    def handle(self, *args, name, dirs, order, **options):
        try:
            probe_set, report = do_import_probe_set(
                name, [Path(d) for d in dirs], order, progress=tqdm_progress
            )
        except ImportFailed as exc:
            raise failed(exc) from None
        self.stdout.write(f"Probe set {probe_set.name!r} ({probe_set.size:,} images): "
                          f"{report.summary()}")  # fmt: skip
