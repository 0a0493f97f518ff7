import csv

from django.core.management.base import BaseCommand

from annotate.exports import label_rows
from annotate.management.commands._importing import find_study


class Command(BaseCommand):
    help = "Print a study's labels as CSV: label_set,layer,unit,label,score."

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True)

    def handle(self, *args, **o):
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(["label_set", "layer", "unit", "label", "score"])
        writer.writerows(label_rows(find_study(o["study"])))
