"""Judgments of labels, not of images, from a file, as LabelJudgment rows.

- ratings: `rater,layer,unit,label_set,rating[,uninterpretable,none_fits]`, one rating 1-5
  of one label set's label a row (a blank rating only with a flag set);
- best-of choices: `rater,layer,unit,chosen[,none_fits,uninterpretable]`, `chosen` the name
  of the label set whose label fits best, blank with none_fits.

`label_set` may be blank for the study's first. Raters are made as `judgments` makes them.
One transaction, idempotent: a stored row given again is unchanged, a different value (in
the file, or against what is stored) is refused by file and line, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from annotate.importers.errors import ImportReport, Problems, fail
from annotate.importers.label_formats import check_layer, check_unit
from annotate.importers.sources import Source, iter_rows, read_text, source_name
from annotate.models import Neuron, Study
from evaluation.importers.judgments import (
    check_rater_kind,
    check_rater_name,
    do_get_imported_rater,
)
from evaluation.models import LabelJudgment, Rater

TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0", ""}
RATINGS = range(1, 6)
UNIT = object()  # the key of a unit's neuron whatever its label set (names are strings)


@dataclass(frozen=True)
class LabelJudgmentRow:
    """One rater's rating of one label, or choice for one unit (`chosen` a label set)."""

    line: int
    rater: str
    layer: str
    unit: int
    label_set: str | None
    rating: int | None = None
    uninterpretable: bool = False
    none_fits: bool = False
    chosen: str | None = None

    @property
    def value(self) -> tuple:
        return (self.rating, self.uninterpretable, self.none_fits, self.chosen)


def parse_flag(value, column: str) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{column} must be TRUE or FALSE, not {str(value)[:40]!r}")


def parse_rating(value, column: str = "rating") -> int | None:
    """A whole rating 1-5 ("4" or "4.0"); blank means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{column} must be a whole number 1 to 5, not {value!r}") from None
    if not number.is_integer() or int(number) not in RATINGS:
        raise ValueError(f"{column} must be a whole number 1 to 5, not {value!r}")
    return int(number)


def _name(value) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _rating_row(line, rater, layer, unit, label_set, rating, uninterpretable, none_fits):
    row = LabelJudgmentRow(
        line,
        check_rater_name(rater),
        check_layer(layer),
        check_unit(unit),
        _name(label_set),
        parse_rating(rating),
        parse_flag(uninterpretable, "uninterpretable"),
        parse_flag(none_fits, "none_fits"),
    )
    if row.rating is None and not (row.uninterpretable or row.none_fits):
        raise ValueError("rating is blank: give 1 to 5, or set uninterpretable or none_fits")
    return row


def _choice_row(line, rater, layer, unit, chosen, none_fits, uninterpretable):
    row = LabelJudgmentRow(
        line,
        check_rater_name(rater),
        check_layer(layer),
        check_unit(unit),
        None,
        none_fits=parse_flag(none_fits, "none_fits"),
        uninterpretable=parse_flag(uninterpretable, "uninterpretable"),
        chosen=_name(chosen),
    )
    if row.chosen and row.none_fits:
        raise ValueError("chosen names a label set and none_fits is set: give one")
    if not row.chosen and not (row.none_fits or row.uninterpretable):
        raise ValueError("chosen is blank: name a label set, or set none_fits")
    return row


def check_rows(text: str, file: str, question: str) -> list[LabelJudgmentRow]:
    """Validated rows of a ratings or choices file; a (rater, label) given twice with two
    different values is refused by line."""
    if question == LabelJudgment.Question.LABEL_RATING:
        columns, optional = ["rater", "layer", "unit", "label_set", "rating"], ["uninterpretable"]
        optional, build = [*optional, "none_fits"], _rating_row
    else:
        columns, optional = ["rater", "layer", "unit", "chosen"], ["none_fits", "uninterpretable"]
        build = _choice_row
    problems, rows = Problems(), []
    for line, values in iter_rows(text, file, columns, optional, problems):
        try:
            rows.append(build(line, *values))
        except ValueError as exc:
            problems.add(file, line, str(exc))
    rows = unique_rows(rows, file, problems)
    problems.raise_if_any()
    if not rows:
        raise fail(file, "no judgments: the file has a header but no rows")
    return rows


def unique_rows(rows: list[LabelJudgmentRow], file: str, problems: Problems):
    """Rows without repeats; a repeat with another value is a problem of its line."""
    first: dict[tuple, LabelJudgmentRow] = {}
    kept = []
    for row in rows:
        earlier = first.setdefault((row.rater, row.label_set, row.layer, row.unit), row)
        if earlier is row:
            kept.append(row)
        elif earlier.value != row.value:
            problems.add(
                file,
                row.line,
                f"{row.rater} judged {_where(row)} {_shown(earlier)} on line {earlier.line} "
                f"and {_shown(row)} here",
            )
    return kept


def _where(row: LabelJudgmentRow) -> str:
    suffix = f" in label set {row.label_set!r}" if row.label_set else ""
    return f"{row.layer}:{row.unit}{suffix}"


def _shown(row: LabelJudgmentRow) -> str:
    if row.chosen is not None or row.rating is None:
        parts = [f"chosen={row.chosen!r}"] if row.chosen else []
    else:
        parts = [f"rating={row.rating}"]
    parts += [flag for flag in ("uninterpretable", "none_fits") if getattr(row, flag)]
    return "(" + ", ".join(parts) + ")"


def do_import_label_judgments(
    study: Study,
    source: Source,
    question: str,
    *,
    rater_kind: str = Rater.Kind.HUMAN,
    notes: str = "",
) -> ImportReport:
    """Import a ratings (`label_rating`) or best-of choices (`best_of`) file."""
    file = source_name(source, "label_judgments.csv")
    rows = check_rows(read_text(source, file), file, question)
    check_rater_kind(rater_kind, file)
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        fmt = "ratings" if question == LabelJudgment.Question.LABEL_RATING else "best-of"
        report = ImportReport("label judgment", file, format=fmt, rows=len(rows))
        do_store_label_judgments(study, rows, question, file, report, rater_kind, notes)
    return report


def do_store_label_judgments(
    study: Study,
    rows: list[LabelJudgmentRow],
    question: str,
    file: str,
    report: ImportReport,
    rater_kind: str = Rater.Kind.HUMAN,
    notes: str = "",
) -> None:
    """Store checked rows (their label sets and neurons must exist); the caller holds the
    study's row lock inside a transaction."""
    neurons = _neurons(study)
    _check_known(rows, neurons, file)
    raters = {
        name: do_get_imported_rater(study, name, rater_kind, notes)
        for name in dict.fromkeys(r.rater for r in rows)
    }
    new, unchanged = _plan(study, rows, question, neurons, raters, file)
    LabelJudgment.objects.bulk_create(new)
    report.created, report.unchanged = len(new), unchanged
    report.notes.append(f"{len(raters)} rater{'s' if len(raters) != 1 else ''}")


def _neurons(study: Study) -> dict[tuple, int]:
    """Real neuron ids by (label set name, layer, unit), and by (None, ...) for the study's
    first label set's (as `judgments` reads a blank label set); `(UNIT, layer, unit)` is the
    unit's neuron in the first label set that labels it."""
    found: dict[tuple, int] = {}
    first_set = study.label_sets.order_by("pk").values_list("pk", flat=True).first()
    queryset = Neuron.objects.filter(study=study, role=Neuron.Role.REAL).order_by("label_set_id")
    for pk, set_id, name, layer, unit in queryset.values_list(
        "pk", "label_set_id", "label_set__name", "layer", "unit"
    ):
        found[(name, layer, unit)] = pk
        found.setdefault((UNIT, layer, unit), pk)
        if set_id == first_set:
            found[(None, layer, unit)] = pk
    return found


def _check_known(rows, neurons, file) -> None:
    problems = Problems()
    for row in rows:
        if (row.label_set, row.layer, row.unit) not in neurons:
            problems.add(file, row.line, f"no neuron {_where(row)}")
        elif row.chosen and (row.chosen, row.layer, row.unit) not in neurons:
            problems.add(
                file, row.line, f"label set {row.chosen!r} has no label for {row.layer}:{row.unit}"
            )
    problems.raise_if_any()


def _key(question: str, rater_id: int, row_or_judgment) -> tuple:
    if question == LabelJudgment.Question.BEST_OF:
        return (rater_id, row_or_judgment.layer, row_or_judgment.unit)
    return (rater_id, row_or_judgment.neuron_id)


def _plan(study, rows, question, neurons, raters, file):
    stored = {
        _key(question, j.rater_id, j): j
        for j in LabelJudgment.objects.filter(
            study=study, question=question, rater__in=list(raters.values())
        )
    }
    problems, new, unchanged = Problems(), [], 0
    for row in rows:
        judgment = LabelJudgment(
            rater=raters[row.rater],
            neuron_id=neurons[(row.label_set, row.layer, row.unit)],
            question=question,
            rating=row.rating,
            uninterpretable=row.uninterpretable,
            none_fits=row.none_fits,
            chosen_id=neurons[(row.chosen, row.layer, row.unit)] if row.chosen else None,
            extra={"imported_from": file},
            layer=row.layer,
            unit=row.unit,
        )
        if question == LabelJudgment.Question.BEST_OF:
            judgment.neuron_id = neurons[(UNIT, row.layer, row.unit)]
        key = _key(question, judgment.rater_id, judgment)
        old = stored.get(key)
        if old is None:
            stored[key] = judgment
            judgment.line = row.line
            new.append(judgment)
        # The first label set named on one line and left blank on another: one label.
        elif old.pk is None and _value(old) != _value(judgment):
            problems.add(
                file, row.line, f"{row.rater} judged {_where(row)} differently on line {old.line}"
            )
        elif _value(old) == _value(judgment):
            unchanged += 1
        else:
            problems.add(
                file,
                row.line,
                f"{row.rater} already has {_stored(old)} for {_where(row)}; "
                "a stored judgment is never changed by an import",
            )
    problems.raise_if_any()
    return new, unchanged


def _value(judgment: LabelJudgment) -> tuple:
    return (judgment.rating, judgment.uninterpretable, judgment.none_fits, judgment.chosen_id)


def _stored(judgment: LabelJudgment) -> str:
    if judgment.question == LabelJudgment.Question.BEST_OF:
        text = f"chosen={judgment.chosen.label_set.name!r}" if judgment.chosen_id else "no choice"
    else:
        text = f"rating={judgment.rating}"
    flags = [f for f in ("uninterpretable", "none_fits") if getattr(judgment, f)]
    return "(" + ", ".join([text, *flags]) + ")"
