import csv

from django.core.management.base import BaseCommand

from annotate.exports import image_rows
from annotate.management.commands._importing import find_study


class Command(BaseCommand):
    help = "Print a study's top-k images as CSV: layer,unit,rank,sha256,activation."

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True)

    def handle(self, *args, **o):
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(["layer", "unit", "rank", "sha256", "activation"])
        writer.writerows(image_rows(find_study(o["study"])))
