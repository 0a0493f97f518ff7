"""Neuron labels: CLIP-Dissect `layer,unit,description,similarity` or MILAN
`layer,unit,description` (told apart by the header), as CSV or JSON Lines.

Bulk: one query reads the study's neurons, new ones go in with COPY, so 100,000 neurons
import in seconds. A label that already has judgments is never changed under them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from annotate.importers.copy import copy_rows
from annotate.importers.errors import ImportReport, Problems, fail
from annotate.importers.sources import (
    Source,
    iter_rows,
    parse_float,
    parse_int,
    read_text,
    source_name,
)
from annotate.models import Neuron, Study

BATCH = 5000
MAX_LAYER_CHARS = 200
MAX_UNIT = 2**31 - 1


@dataclass(frozen=True)
class LabelRow:
    line: int
    layer: str
    unit: int
    label: str
    score: float | None


def check_label_rows(text: str, file: str) -> tuple[list[LabelRow], str]:
    """Validated rows (no repeats of a layer:unit) and the detected format."""
    problems = Problems()
    rows: list[LabelRow] = []
    first_line: dict[tuple[str, int], int] = {}
    has_similarity = False
    raw = iter_rows(text, file, ["layer", "unit", "description"], ["similarity"], problems)
    for line, (layer, unit, description, similarity) in raw:
        has_similarity = has_similarity or similarity is not None
        try:
            row = _label_row(line, layer, unit, description, similarity)
        except ValueError as exc:
            problems.add(file, line, str(exc))
            continue
        key = (row.layer, row.unit)
        if key in first_line:
            problems.add(file, line, f"{row.layer}:{row.unit} is already on line {first_line[key]}")
            continue
        first_line[key] = line
        rows.append(row)
    problems.raise_if_any()
    if not rows:
        raise fail(file, "no neurons: the file has a header but no rows")
    return rows, "clip_dissect" if has_similarity else "milan"


def _label_row(line, layer, unit, description, similarity) -> LabelRow:
    layer = str(layer or "").strip()
    if not layer or len(layer) > MAX_LAYER_CHARS:
        raise ValueError(f"layer must be 1 to {MAX_LAYER_CHARS} characters")
    unit_number = parse_int(unit, "unit")
    if not 0 <= unit_number <= MAX_UNIT:
        raise ValueError(f"unit must be between 0 and {MAX_UNIT}")
    label = str(description or "").strip()
    if not label:
        raise ValueError("description is empty")
    return LabelRow(line, layer, unit_number, label, parse_float(similarity, "similarity"))


def do_import_labels(study: Study, source: Source) -> ImportReport:
    """Create or update `study`'s neurons from a label file; add new layers to study.layers.

    Takes a row lock on the study, so two imports into one study run one after the other.
    """
    file = source_name(source, "labels.csv")
    rows, fmt = check_label_rows(read_text(source, file), file)
    report = ImportReport("neuron", file, format=fmt, rows=len(rows))
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        existing = {
            (layer, unit): (pk, label, score)
            for pk, layer, unit, label, score in Neuron.objects.filter(
                study=study, role=Neuron.Role.REAL
            ).values_list("pk", "layer", "unit", "label", "method_score")
        }
        new, changed = [], []
        for row in rows:
            old = existing.get((row.layer, row.unit))
            if old is None:
                new.append(row)
            elif (old[1], old[2]) != (row.label, row.score):
                changed.append((row, old[0]))
        _refuse_relabelling_judged(changed, file)
        copy_rows(
            Neuron,
            ["study", "layer", "unit", "label", "method_score", "role"],
            ((study.pk, r.layer, r.unit, r.label, r.score, Neuron.Role.REAL) for r in new),
        )
        Neuron.objects.bulk_update(
            [Neuron(pk=pk, label=row.label, method_score=row.score) for row, pk in changed],
            ["label", "method_score"],
            batch_size=BATCH,
        )
        layers = list(dict.fromkeys([*study.layers, *(row.layer for row in rows)]))
        if layers != study.layers:
            study.layers = layers
            study.save(update_fields=["layers"])
    report.created, report.updated = len(new), len(changed)
    report.unchanged = len(rows) - len(new) - len(changed)
    return report


def _refuse_relabelling_judged(changed: list[tuple[LabelRow, int]], file: str) -> None:
    from evaluation.models import Judgment

    if not changed:
        return
    rows_by_pk = {pk: row for row, pk in changed}
    judged = set(
        Judgment.objects.filter(neuron_image__neuron_id__in=list(rows_by_pk))
        .values_list("neuron_image__neuron_id", flat=True)
        .distinct()
    )
    problems = Problems()
    for pk in sorted(judged, key=lambda pk: rows_by_pk[pk].line):
        row = rows_by_pk[pk]
        problems.add(
            file,
            row.line,
            f"{row.layer}:{row.unit} already has judgments for its current label; "
            "import changed labels into a new study",
        )
    problems.raise_if_any()
