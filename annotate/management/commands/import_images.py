from django.core.management.base import BaseCommand

from annotate.importers import ImportFailed
from annotate.importers.images import do_import_images
from annotate.management.commands._importing import failed, find_study


class Command(BaseCommand):
    help = (
        "Import neurons' top-k images: a manifest (CSV or JSONL: layer,unit,rank,path"
        "[,activation]) and a folder or zip holding the files it names; without the folder, "
        "a manifest of stored images by sha256 (what export_images prints)."
    )

    def add_arguments(self, parser):
        parser.add_argument("manifest")
        parser.add_argument(
            "images", nargs="?", help="folder or .zip; manifest paths are relative to it"
        )
        parser.add_argument("--study", required=True, help="study name")

    def handle(self, *args, manifest, images, study, **options):
        try:
            report = do_import_images(find_study(study), manifest, images)
        except ImportFailed as exc:
            raise failed(exc) from None
        self.stdout.write(f"Study {study!r}: {report.summary()}")
