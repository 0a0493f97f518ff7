"""Neuron labels into one of a study's label sets, from any format `label_formats` reads.

Bulk: one query reads the label set's neurons, new ones go in with COPY, so 100,000 neurons
import in seconds. A label that already has judgments is never changed under them. A new
label set's neurons get the images their units already have in the study's other label
sets, so images are imported once per unit whatever the number of label sets.
"""

from __future__ import annotations

from django.db import connection, transaction

from annotate.importers.copy import copy_rows
from annotate.importers.errors import ImportReport, Problems, fail
from annotate.importers.label_formats import LabelRow, read_label_rows
from annotate.importers.sources import Source, read_text, source_name
from annotate.label_sets import do_get_label_set
from annotate.models import LabelSet, Neuron, Study

BATCH = 5000
FIELDS = ("label", "method_score", "score_name", "category", "alternatives")


def _values(row: LabelRow) -> tuple:
    return (row.label, row.score, row.score_name, row.category, list(row.alternatives))


def do_import_labels(
    study: Study,
    source: Source,
    *,
    label_set: str | None = None,
    fmt: str | None = None,
    layer: str | None = None,
) -> ImportReport:
    """Create or update the neurons of `label_set` (the study's first when not named, a
    new one when the name is new) from a label file; new layers go into study.layers.

    Takes a row lock on the study, so two imports into one study run one after the other.
    """
    file = source_name(source, "labels.csv")
    rows, fmt = read_label_rows(read_text(source, file), file, fmt, layer)
    report = ImportReport("neuron", file, format=fmt, rows=len(rows))
    groups: dict[str | None, list[LabelRow]] = {}
    for row in rows:
        groups.setdefault(row.label_set or label_set, []).append(row)
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        for name, group in groups.items():
            _import_label_set(study, name, group, fmt, file, report)
        layers = list(dict.fromkeys([*study.layers, *(row.layer for row in rows)]))
        if layers != study.layers:
            study.layers = layers
            study.save(update_fields=["layers"])
    report.unchanged = len(rows) - report.created - report.updated
    return report


def _import_label_set(study, name, rows, fmt, file, report) -> None:
    try:
        labels, created_set = do_get_label_set(study, name, method=fmt)
    except ValueError as exc:
        raise fail(file, str(exc)) from None
    new, changed = _plan(labels, rows)
    _refuse_relabelling_judged(changed, file)
    copy_rows(
        Neuron,
        ["study", "label_set", "layer", "unit", "role", *FIELDS],
        ((study.pk, labels.pk, r.layer, r.unit, Neuron.Role.REAL, *_values(r)) for r in new),
    )
    Neuron.objects.bulk_update(
        [Neuron(pk=pk, **dict(zip(FIELDS, _values(row), strict=True))) for row, pk in changed],
        list(FIELDS),
        batch_size=BATCH,
    )
    report.created += len(new)
    report.updated += len(changed)
    if created_set:
        report.notes.append(f"created label set {labels.name!r}")
    shared = do_share_images(labels) if new else 0
    if shared:
        report.notes.append(f"{shared:,} images shared from the study's other label sets")


def _plan(labels: LabelSet, rows: list[LabelRow]):
    existing = {
        (layer, unit): (pk, values)
        for pk, layer, unit, *values in Neuron.objects.filter(
            label_set=labels, role=Neuron.Role.REAL
        ).values_list("pk", "layer", "unit", *FIELDS)
    }
    new, changed = [], []
    for row in rows:
        old = existing.get((row.layer, row.unit))
        if old is None:
            new.append(row)
        elif tuple(old[1]) != _values(row):
            changed.append((row, old[0]))
    return new, changed


def do_share_images(labels: LabelSet) -> int:
    """Give this label set's neurons that have no images yet the ranked images of the same
    unit in the study's first other label set that has them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO annotate_neuronimage (neuron_id, image_id, rank, activation, is_distractor)
            SELECT DISTINCT ON (mine.id, ni.rank)
                   mine.id, ni.image_id, ni.rank, ni.activation, false
            FROM annotate_neuron mine
            JOIN annotate_neuron other
              ON other.study_id = mine.study_id AND other.layer = mine.layer
             AND other.unit = mine.unit AND other.role = 'real'
             AND other.label_set_id <> mine.label_set_id
            JOIN annotate_neuronimage ni ON ni.neuron_id = other.id
             AND NOT ni.is_distractor AND NOT ni.is_sampled
            WHERE mine.label_set_id = %s AND mine.role = 'real'
              AND NOT EXISTS (SELECT 1 FROM annotate_neuronimage x WHERE x.neuron_id = mine.id)
            ORDER BY mine.id, ni.rank, other.label_set_id
            """,
            [labels.pk],
        )
        return cursor.rowcount


def _refuse_relabelling_judged(changed: list[tuple[LabelRow, int]], file: str) -> None:
    from evaluation.models import Judgment, LabelJudgment

    if not changed:
        return
    rows_by_pk = {pk: row for row, pk in changed}
    judged = set(
        Judgment.objects.filter(neuron_image__neuron_id__in=list(rows_by_pk))
        .values_list("neuron_image__neuron_id", flat=True)
        .distinct()
    )
    judged |= set(
        LabelJudgment.objects.filter(neuron_id__in=list(rows_by_pk)).values_list(
            "neuron_id", flat=True
        )
    )
    judged |= set(
        LabelJudgment.objects.filter(chosen_id__in=list(rows_by_pk)).values_list(
            "chosen_id", flat=True
        )
    )
    problems = Problems()
    for pk in sorted(judged, key=lambda pk: rows_by_pk[pk].line):
        row = rows_by_pk[pk]
        problems.add(
            file,
            row.line,
            f"{row.layer}:{row.unit} already has judgments for its current label; "
            "import changed labels into a new label set (--label-set)",
        )
    problems.raise_if_any()
