"""Describe-and-Dissect's human-evaluation file, read as it is.

One row per neuron: `Layer,Unit`, then for each compared method M `M Label`, `M E1 Rating`,
`M E2 Rating` (1-5), and per evaluator `Uninterpretable E1`, `None E1`, ... (TRUE/FALSE).
Each method becomes a label set (created with the neurons it needs, images shared from the
unit's other label sets), each evaluator a human rater, and each (evaluator, method, unit)
one `label_rating` LabelJudgment carrying the evaluator's two flags for that unit.

A label set that already labels a unit differently is refused by line: the ratings were
given to the file's label. The import is one transaction and idempotent.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from django.db import transaction

from annotate.importers.errors import ImportReport, Problems, fail
from annotate.importers.label_formats import check_label, check_layer, check_unit
from annotate.importers.labels import do_share_images
from annotate.importers.sources import Source, iter_rows, read_text, source_name
from annotate.label_sets import do_get_label_set
from annotate.models import Neuron, Study
from evaluation.importers.label_judgments import (
    LabelJudgmentRow,
    do_store_label_judgments,
    parse_flag,
    parse_rating,
    unique_rows,
)
from evaluation.models import LabelJudgment

FORMAT = "dnd-human-evals"
LABEL = re.compile(r"^(?P<method>.+?)\s+label$", re.IGNORECASE)
RATING = re.compile(r"^(?P<method>.+?)\s+(?P<evaluator>E\d+)\s+rating$", re.IGNORECASE)


@dataclass(frozen=True)
class Layout:
    """The methods and evaluators a header names, in the file's order (original case)."""

    methods: list[str]
    evaluators: list[str]

    def columns(self) -> list[str]:
        names = ["layer", "unit"]
        for method in self.methods:
            names.append(f"{method} label")
            names += [f"{method} {e} rating" for e in self.evaluators]
        for e in self.evaluators:
            names += [f"uninterpretable {e}", f"none {e}"]
        return [n.lower() for n in names]


@dataclass(frozen=True)
class LabelLine:
    line: int
    method: str
    layer: str
    unit: int
    label: str


def check_layout(text: str, file: str) -> Layout:
    try:
        header = [c.strip() for c in next(csv.reader(io.StringIO(text, newline="")), [])]
    except csv.Error as exc:
        raise fail(file, f"malformed CSV header: {exc}", 1) from None
    methods = [m.group("method") for m in map(LABEL.match, header) if m]
    evaluators = list(
        dict.fromkeys(m.group("evaluator").upper() for m in map(RATING.match, header) if m)
    )
    if not methods or not evaluators:
        raise fail(
            file,
            "not a Describe-and-Dissect human-evaluation file: expected Layer,Unit, "
            "'M Label' and 'M E1 Rating' columns for each method M",
            1,
        )
    return Layout(methods, evaluators)


def check_dnd_rows(text: str, file: str) -> tuple[list[LabelLine], list[LabelJudgmentRow]]:
    """The labels and ratings of a DnD file, checked; every problem is listed by line."""
    layout = check_layout(text, file)
    problems, labels, ratings, seen = Problems(), [], [], {}
    for line, values in iter_rows(text, file, layout.columns(), [], problems):
        try:
            unit_labels, unit_ratings = _line(layout, line, values)
        except ValueError as exc:
            problems.add(file, line, str(exc))
            continue
        where = (unit_labels[0].layer, unit_labels[0].unit)
        if where in seen:
            problems.add(file, line, f"{where[0]}:{where[1]} is already on line {seen[where]}")
            continue
        seen[where] = line
        labels += unit_labels
        ratings += unit_ratings
    ratings = unique_rows(ratings, file, problems)
    problems.raise_if_any()
    if not ratings:
        raise fail(file, "no neurons: the file has a header but no rows")
    return labels, ratings


def _line(layout: Layout, line: int, values: tuple):
    fields = dict(zip(layout.columns(), values, strict=True))
    layer, unit = check_layer(fields["layer"]), check_unit(fields["unit"])
    flags = {
        e: (
            parse_flag(fields[f"uninterpretable {e.lower()}"], f"Uninterpretable {e}"),
            parse_flag(fields[f"none {e.lower()}"], f"None {e}"),
        )
        for e in layout.evaluators
    }
    labels, ratings = [], []
    for method in layout.methods:
        name = f"{method} Label"
        labels.append(LabelLine(line, method, layer, unit, check_label(fields[name.lower()], name)))
        for e in layout.evaluators:
            column = f"{method} {e} Rating"
            rating = parse_rating(fields[column.lower()], column)
            if rating is None and not any(flags[e]):
                raise ValueError(f"{column} is blank and neither flag of {e} is set")
            ratings.append(LabelJudgmentRow(line, e, layer, unit, method, rating, *flags[e]))
    return labels, ratings


def do_import_dnd_human_evals(study: Study, source: Source) -> ImportReport:
    """Label sets, neurons, human raters and their ratings from one DnD file.

    Takes a row lock on the study, so imports into one study run one after the other.
    """
    file = source_name(source, "human_evals.csv")
    labels, ratings = check_dnd_rows(read_text(source, file), file)
    report = ImportReport("label judgment", file, format=FORMAT, rows=len(ratings))
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        _ensure_neurons(study, labels, file, report)
        do_store_label_judgments(study, ratings, LabelJudgment.Question.LABEL_RATING, file, report)
    return report


def _ensure_neurons(study: Study, labels: list[LabelLine], file: str, report) -> None:
    stored = {
        (name, layer, unit): label
        for name, layer, unit, label in Neuron.objects.filter(
            study=study, role=Neuron.Role.REAL
        ).values_list("label_set__name", "layer", "unit", "label")
    }
    problems = Problems()
    for row in labels:
        old = stored.get((row.method, row.layer, row.unit))
        if old is not None and old != row.label:
            problems.add(
                file,
                row.line,
                f"label set {row.method!r} labels {row.layer}:{row.unit} {old!r}, the file "
                f"{row.label!r}: the ratings are of the file's label",
            )
    problems.raise_if_any()
    created = 0
    for method in dict.fromkeys(row.method for row in labels):
        label_set, made = do_get_label_set(study, method, method=FORMAT)
        if made:
            report.notes.append(f"created label set {method!r}")
        new = [
            Neuron(study=study, label_set=label_set, layer=r.layer, unit=r.unit, label=r.label)
            for r in labels
            if r.method == method and (method, r.layer, r.unit) not in stored
        ]
        Neuron.objects.bulk_create(new)
        created += len(new)
        if new:
            do_share_images(label_set)
    if created:
        report.notes.append(f"{created:,} neurons created")
    layers = list(dict.fromkeys([*study.layers, *(row.layer for row in labels)]))
    if layers != study.layers:
        study.layers = layers
        study.save(update_fields=["layers"])
