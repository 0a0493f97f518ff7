from django.core.management.base import BaseCommand, CommandError

from annotate.importers import ImportFailed
from annotate.management.commands._importing import failed, find_study
from evaluation.importers.judgments import do_import_judgments
from evaluation.models import Rater


class Command(BaseCommand):
    help = (
        "Import judgments made elsewhere: CSV or JSON Lines with "
        "rater,layer,unit,rank,verdict[,score][,label_set] (verdict yes/no/skip). "
        "Importing the same file twice changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--study", required=True)
        parser.add_argument(
            "--rater-kind",
            default=Rater.Kind.HUMAN,
            help="human (default) or the automatic kind that made the judgments",
        )
        parser.add_argument("--notes", default="", help="provenance of automatic judgments")

    def handle(self, *args, **o):
        study = find_study(o["study"])
        try:
            report = do_import_judgments(
                study, o["file"], rater_kind=o["rater_kind"], notes=o["notes"]
            )
        except ImportFailed as exc:
            raise failed(exc) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(report.summary())
