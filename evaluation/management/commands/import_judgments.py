from django.core.management.base import BaseCommand, CommandError

from annotate.importers import ImportFailed
from annotate.management.commands._importing import failed, find_study
from evaluation.importers.formats import FORMATS, do_import_judgment_file
from evaluation.models import Rater


class Command(BaseCommand):
    help = (
        "Import judgments made elsewhere, CSV or JSON Lines: per image "
        "rater,layer,unit,rank,verdict[,score][,label_set] (verdict yes/no/skip); per label "
        "rater,layer,unit,label_set,rating[,uninterpretable,none_fits] (rating 1-5); best of "
        "rater,layer,unit,chosen[,none_fits,uninterpretable]; or, with --format "
        "dnd-human-evals, Describe-and-Dissect's human-evaluation CSV as it is. "
        "Importing the same file twice changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--study", required=True)
        parser.add_argument(
            "--format", choices=FORMATS, default=None, help="default: told by the header"
        )
        parser.add_argument(
            "--rater-kind",
            default=Rater.Kind.HUMAN,
            help="human (default) or the automatic kind that made the judgments",
        )
        parser.add_argument("--notes", default="", help="provenance of automatic judgments")

    def handle(self, *args, **o):
        study = find_study(o["study"])
        try:
            report = do_import_judgment_file(
                study, o["file"], fmt=o["format"], rater_kind=o["rater_kind"], notes=o["notes"]
            )
        except ImportFailed as exc:
            raise failed(exc) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(report.summary())
