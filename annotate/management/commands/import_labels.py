from django.core.management.base import BaseCommand

from annotate.importers import ImportFailed
from annotate.importers.label_formats import FORMATS
from annotate.importers.studies import do_import_study_labels
from annotate.management.commands._importing import failed, find_owner
from annotate.models import Study
from annotate.ownership import do_make_owner


class Command(BaseCommand):
    help = (
        "Import neuron labels into a study (creating the study if needed): CLIP-Dissect's "
        "descriptions.csv or its whole results folder (args.txt fills the study's fields), "
        "MILAN, NetDissect-Lite tally.csv, davidbau/dissect report.json or "
        "Describe-and-Dissect final_results.csv; the format is detected from the header."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="label file (CSV, JSON Lines, JSON) or results folder")
        parser.add_argument("--study", required=True, help="study name")
        parser.add_argument("--label-set", help="label set to import into (default: the first)")
        parser.add_argument("--format", choices=sorted(FORMATS), help="default: detected")
        parser.add_argument("--layer", help="the layer, for formats that do not name it")
        parser.add_argument("--network", help="target network, e.g. resnet50 (new studies)")
        parser.add_argument("--probe-dataset", help="probe dataset, e.g. broden (new studies)")
        parser.add_argument("--method", choices=Study.Method.values)
        parser.add_argument(
            "--question-type",
            choices=Study.QuestionType.values,
            help="what humans are asked (new studies; default pair_yes_no)",
        )
        parser.add_argument("--concept-set", help="name of an imported concept set")
        parser.add_argument("--k", type=int, help="top images per neuron (default 5)")
        parser.add_argument("--notes")
        parser.add_argument("--owner", help="staff username to make an owner of the study")

    def handle(self, *args, **o):
        owner = find_owner(o["owner"]) if o["owner"] else None
        try:
            study, report = do_import_study_labels(
                o["study"],
                o["file"],
                label_set=o["label_set"],
                fmt=o["format"],
                layer=o["layer"],
                target_network=o["network"],
                probe_dataset=o["probe_dataset"],
                method=o["method"],
                question_type=o["question_type"],
                concept_set=o["concept_set"],
                k=o["k"],
                notes=o["notes"],
            )
        except ImportFailed as exc:
            raise failed(exc) from None
        if owner is not None:
            do_make_owner(study, owner)
        self.stdout.write(f"Study {study.name!r} ({report.format}): {report.summary()}")
