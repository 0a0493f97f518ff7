"""MILAN's exemplars of one layer (`results/exemplars/{model}/{dataset}/{layer}/`) as each
neuron's top-k images from an imported probe set.

MILAN writes `ids.csv` and `activations.csv` with `numpy.savetxt(..., delimiter=",")`: no
header, one row per unit (0-based by row), k columns best first; ids index the
`ImageFolder` the exemplars were computed on. When only some units were dissected,
`units.npy` lists the unit of each row. `images.npy` and `masks.npy` are not read: the
images come from the probe set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from django.db import transaction

from annotate.importers.errors import ImportReport, Problems, fail
from annotate.importers.sources import read_text
from annotate.importers.top_images import (
    Top,
    check_study_probe_set,
    do_replace_top_images,
    find_probe_set,
)
from annotate.models import ProbeSet, ProbeSetImage, Study

IDS, ACTIVATIONS, UNITS = "ids.csv", "activations.csv", "units.npy"
MAX_LAYER_CHARS = 200


def do_import_exemplars(
    study: Study, folder: Path, probe_set_name: str, layer: str | None = None
) -> ImportReport:
    """Set the top-k images (k from the study) of `layer`'s neurons (default: the folder's
    name) from the folder's ids and activations. Takes a row lock on the study."""
    folder = Path(folder)
    layer = (layer or folder.name).strip()
    if not 1 <= len(layer) <= MAX_LAYER_CHARS:
        raise fail(folder.name, f"--layer must be 1 to {MAX_LAYER_CHARS} characters")
    for name in (IDS, ACTIVATIONS):
        if not (folder / name).is_file():
            raise fail(folder.name, f"no {name} in this folder: is it a MILAN exemplars layer?")
    probe_set = find_probe_set(probe_set_name, IDS)
    check_study_probe_set(study, probe_set, IDS)
    ids = _read_table(folder / IDS, int, study.k)
    acts = _read_table(folder / ACTIVATIONS, float, study.k)
    if len(acts) != len(ids):
        raise fail(ACTIVATIONS, f"has {len(acts):,} rows but {IDS} has {len(ids):,}")
    units = _read_units(folder / UNITS, len(ids))
    tops = _tops(ids, acts, units, probe_set, study.k)
    report = ImportReport("unit", IDS, format="milan-exemplars", rows=len(ids))
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        check_study_probe_set(locked, probe_set, IDS)
        do_replace_top_images(locked, layer, tops, IDS, report)
        fields = {"probe_set": probe_set, "layers": list(dict.fromkeys([*locked.layers, layer]))}
        if (locked.probe_set_id, locked.layers) != (probe_set.pk, fields["layers"]):
            Study.objects.filter(pk=locked.pk).update(**fields)
    return report


def _read_table(path: Path, kind: type, k: int) -> list[list]:
    """Rows of `kind` numbers, the first k of each; every row as wide as the first."""
    text = read_text(path, path.name)
    problems = Problems()
    rows: list[list] = []
    width = None
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split(",")
        width = width or len(fields)
        if len(fields) != width:
            problems.add(path.name, line, f"expected {width} values, found {len(fields)}")
        elif len(fields) < k:
            problems.add(
                path.name, line, f"has {len(fields)} values, fewer than the study's k = {k}"
            )
        else:
            try:
                rows.append([_number(field, kind) for field in fields[:k]])
            except ValueError as exc:
                problems.add(path.name, line, str(exc))
    if not rows and not problems:
        problems.add(path.name, None, "file is empty: expected one row per unit")
    problems.raise_if_any()
    return rows


def _number(text: str, kind: type):
    text = text.strip()
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number (an image id)" if kind is int else "a number"
        raise ValueError(f"{text[:40]!r} is not {what}") from None
    if kind is float and not np.isfinite(value):
        raise ValueError(f"{text[:40]!r} is not a finite number")
    return value


def _read_units(path: Path, n_rows: int) -> list[int]:
    if not path.is_file():
        return list(range(n_rows))
    try:
        units = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise fail(UNITS, f"not a numpy array file: {exc}") from None
    if units.ndim != 1 or units.dtype.kind not in "iu":
        raise fail(UNITS, f"expected a 1-d array of unit numbers, not {units.dtype} {units.shape}")
    if len(units) != n_rows:
        raise fail(UNITS, f"lists {len(units):,} units but {IDS} has {n_rows:,} rows")
    if (units < 0).any() or len(set(units.tolist())) != len(units):
        raise fail(UNITS, "unit numbers must be distinct and not negative")
    return units.tolist()


def _tops(ids, acts, units, probe_set: ProbeSet, k: int) -> dict[int, Top]:
    image_ids = dict(
        ProbeSetImage.objects.filter(probe_set=probe_set).values_list("index", "image_id")
    )
    problems = Problems()
    tops: dict[int, Top] = {}
    for line, (unit, row_ids, row_acts) in enumerate(zip(units, ids, acts, strict=True), 1):
        top: Top = []
        for column, (index, activation) in enumerate(zip(row_ids, row_acts, strict=True), 1):
            image = image_ids.get(index)
            if image is None:
                problems.add(
                    IDS, line, f"column {column}: id {index} is not in probe set "
                    f"{probe_set.name!r} (ids 0..{probe_set.size - 1})",
                )  # fmt: skip
            elif image in {shown for shown, _ in top}:
                problems.add(IDS, line, f"column {column}: id {index} shows an image given twice")
            else:
                top.append((image, activation))
        tops[unit] = top
    problems.raise_if_any()
    return tops
