from django.core.management.base import BaseCommand

from annotate.importers import ImportFailed, ImportReport
from annotate.importers.concepts import do_import_concept_set
from annotate.management.commands._importing import failed


class Command(BaseCommand):
    help = "Import a concept set: a UTF-8 text file, one concept a line."

    def add_arguments(self, parser):
        parser.add_argument("file", help="e.g. concept_sets/10k.txt")
        parser.add_argument("--name", help="concept set name (default: the file name)")

    def handle(self, *args, file, name, **options):
        report = ImportReport("concept", file)
        name = name or file.rsplit("/", 1)[-1].removesuffix(".txt")
        try:
            concept_set = do_import_concept_set(name, file, report)
        except ImportFailed as exc:
            raise failed(exc) from None
        self.stdout.write(f"Concept set {concept_set.name!r}: {report.summary()}")
