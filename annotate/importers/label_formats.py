"""The label files dissection tools write, read into one kind of row.

- `clip_dissect`: CLIP-Dissect's `descriptions.csv`, `layer,unit,description,similarity`.
- `milan`: MILAN's `layer,unit,description` (free text).
- `netdissect`: NetDissect-Lite's `tally.csv`, `unit,category,label,score,...`: no layer in
  the file (one tally per layer, so `--layer`), units numbered from 1, score an IoU.
- `dissect`: davidbau/dissect's `report.json`, `{"units": [{unit, label, cat, iou}]}`: no
  layer, units from 0.
- `export`: NeuronJudge's own `export_labels`, `label_set,layer,unit,label,score`.
- `dnd`: Describe-and-Dissect's `final_results.csv`, `Neuron ID,Label 1,Label 2,Label 3`:
  no layer; label 1 is the label, the others are kept as alternatives.

`detect_format` tells them apart by their header (or JSON keys); an unknown header is named
as such rather than reported as missing columns of one guessed format.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from annotate.importers.errors import Problems, fail
from annotate.importers.sources import iter_rows, parse_float, parse_int

MAX_LAYER_CHARS = 200
MAX_UNIT = 2**31 - 1


@dataclass(frozen=True)
class LabelRow:
    line: int
    layer: str
    unit: int
    label: str
    score: float | None
    score_name: str = ""
    category: str = ""
    alternatives: tuple[str, ...] = field(default_factory=tuple)
    label_set: str | None = None


@dataclass(frozen=True)
class LabelFormat:
    name: str
    title: str
    needs_layer: bool
    read: Callable[[str, str, str | None, Problems], list[LabelRow]]


def check_layer(layer) -> str:
    layer = str(layer or "").strip()
    if not layer or len(layer) > MAX_LAYER_CHARS:
        raise ValueError(f"layer must be 1 to {MAX_LAYER_CHARS} characters")
    return layer


def check_unit(value, *, one_based: bool = False) -> int:
    unit = parse_int(value, "unit")
    if one_based:
        if unit < 1:
            raise ValueError(f"unit {unit}: this format numbers units from 1")
        unit -= 1
    if not 0 <= unit <= MAX_UNIT:
        raise ValueError(f"unit must be between 0 and {MAX_UNIT}")
    return unit


def check_label(value, column: str = "description") -> str:
    label = str(value or "").strip()
    if not label:
        raise ValueError(f"{column} is empty")
    return label


def _rows(parsed, file: str, problems: Problems, build) -> list[LabelRow]:
    rows = []
    for line, values in parsed:
        try:
            rows.append(build(line, *values))
        except ValueError as exc:
            problems.add(file, line, str(exc))
    return rows


def _read_clip_dissect(text, file, layer, problems):
    parsed = iter_rows(text, file, ["layer", "unit", "description", "similarity"], [], problems)
    return _rows(
        parsed,
        file,
        problems,
        lambda line, lay, unit, desc, sim: LabelRow(
            line,
            check_layer(lay),
            check_unit(unit),
            check_label(desc),
            parse_float(sim, "similarity"),
            "similarity",
        ),
    )


def _read_milan(text, file, layer, problems):
    parsed = iter_rows(text, file, ["layer", "unit", "description"], [], problems)
    return _rows(
        parsed,
        file,
        problems,
        lambda line, lay, unit, desc: LabelRow(
            line, check_layer(lay), check_unit(unit), check_label(desc), None
        ),
    )


def _read_netdissect(text, file, layer, problems):
    parsed = iter_rows(text, file, ["unit", "category", "label", "score"], [], problems)
    return _rows(
        parsed,
        file,
        problems,
        lambda line, unit, category, label, score: LabelRow(
            line,
            layer,
            check_unit(unit, one_based=True),
            check_label(label, "label"),
            parse_float(score, "score"),
            "iou",
            str(category or "").strip(),
        ),
    )


def _read_dissect(text, file, layer, problems):
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(file, f"not valid JSON: {exc.msg}", exc.lineno) from None
    units = document.get("units") if isinstance(document, dict) else None
    if not isinstance(units, list):
        raise fail(file, 'expected {"units": [...]} as davidbau/dissect writes it')
    rows = []
    for index, unit in enumerate(units, start=1):
        where = f"units[{index - 1}]"
        try:
            if not isinstance(unit, dict):
                raise ValueError("each unit must be an object")
            rows.append(
                LabelRow(
                    index,
                    layer,
                    check_unit(unit.get("unit")),
                    check_label(unit.get("label"), "label"),
                    parse_float(unit.get("iou"), "iou"),
                    "iou",
                    str(unit.get("cat") or "").strip(),
                )
            )
        except ValueError as exc:
            problems.add(file, None, f"{where}: {exc}")
    return rows


def _read_dnd(text, file, layer, problems):
    parsed = iter_rows(text, file, ["neuron id", "label 1"], ["label 2", "label 3"], problems)
    return _rows(
        parsed,
        file,
        problems,
        lambda line, unit, first, second, third: LabelRow(
            line,
            layer,
            check_unit(unit),
            check_label(first, "Label 1"),
            None,
            alternatives=tuple(s.strip() for s in (second, third) if s and s.strip()),
        ),
    )


def _read_export(text, file, layer, problems):
    parsed = iter_rows(text, file, ["label_set", "layer", "unit", "label", "score"], [], problems)
    return _rows(
        parsed,
        file,
        problems,
        lambda line, label_set, lay, unit, label, score: LabelRow(
            line,
            check_layer(lay),
            check_unit(unit),
            check_label(label, "label"),
            parse_float(score, "score"),
            label_set=check_label(label_set, "label_set"),
        ),
    )


FORMATS: dict[str, LabelFormat] = {
    f.name: f
    for f in (
        LabelFormat("clip_dissect", "CLIP-Dissect descriptions.csv", False, _read_clip_dissect),
        LabelFormat("milan", "MILAN descriptions", False, _read_milan),
        LabelFormat("netdissect", "NetDissect-Lite tally.csv", True, _read_netdissect),
        LabelFormat("dissect", "davidbau/dissect report.json", True, _read_dissect),
        LabelFormat("dnd", "Describe-and-Dissect final_results.csv", True, _read_dnd),
        LabelFormat("export", "NeuronJudge's export_labels", False, _read_export),
    )
}


def _header(text: str) -> list[str]:
    try:
        first = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return []
    return [c.strip().lower() for c in first]


def detect_format(text: str, file: str) -> str:
    """The format whose header (or JSON shape) this file has."""
    stripped = text.lstrip()
    if not stripped:
        raise fail(file, "file is empty: expected a header line", 1)
    if stripped.startswith("{"):
        try:
            whole = json.loads(stripped)
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, dict) and "units" in whole:
            return "dissect"
        try:
            first = json.loads(stripped.split("\n", 1)[0])
        except json.JSONDecodeError:
            first = None
        keys = {str(k).strip().lower() for k in first} if isinstance(first, dict) else set()
        return "clip_dissect" if "similarity" in keys else "milan"
    header = _header(text)
    for name, required in CSV_COLUMNS.items():
        if set(required) <= set(header):
            return name
    raise fail(file, _unknown_format(header), 1)


# Tried in this order: the first whose columns are all in the header wins.
CSV_COLUMNS = {
    "export": ["label_set", "layer", "unit", "label", "score"],
    "dnd": ["neuron id", "label 1"],
    "netdissect": ["unit", "category", "label", "score"],
    "clip_dissect": ["layer", "unit", "description", "similarity"],
    "milan": ["layer", "unit", "description"],
}


def _unknown_format(header: list[str]) -> str:
    columns = set(header)

    def missing(name):
        return [c for c in CSV_COLUMNS[name] if c not in columns]

    closest = min(CSV_COLUMNS, key=lambda name: (len(missing(name)), name != "milan"))
    lacking = missing(closest)
    shown = ", ".join(header) or "nothing"
    return (
        f"unknown label format: the header has {shown}; the closest, {closest} "
        f"({FORMATS[closest].title}), is missing column{'s' if len(lacking) > 1 else ''} "
        f"{', '.join(lacking)}; known formats: {', '.join(FORMATS)}"
    )


def read_label_rows(
    text: str, file: str, fmt: str | None = None, layer: str | None = None
) -> tuple[list[LabelRow], str]:
    """Validated rows of one label file (no layer:unit twice) and the format read."""
    fmt = fmt or detect_format(text, file)
    if fmt not in FORMATS:
        raise fail(file, f"unknown label format {fmt!r}; known: {', '.join(FORMATS)}")
    spec = FORMATS[fmt]
    if spec.needs_layer:
        if not layer:
            raise fail(file, f"{spec.title} does not name the layer: give --layer")
        try:
            layer = check_layer(layer)
        except ValueError as exc:
            raise fail(file, str(exc)) from None
    elif layer:
        raise fail(file, f"{spec.title} names the layer of every row: leave out --layer")
    problems = Problems()
    rows = _unique(spec.read(text, file, layer, problems), file, problems)
    problems.raise_if_any()
    if not rows:
        raise fail(file, "no neurons: the file has a header but no rows")
    return rows, fmt


def _unique(rows: list[LabelRow], file: str, problems: Problems) -> list[LabelRow]:
    first_line: dict[tuple[str | None, str, int], int] = {}
    kept = []
    for row in rows:
        key = (row.label_set, row.layer, row.unit)
        if key in first_line:
            earlier = first_line[key]
            problems.add(file, row.line, f"{row.layer}:{row.unit} is already on line {earlier}")
            continue
        first_line[key] = row.line
        kept.append(row)
    return kept
