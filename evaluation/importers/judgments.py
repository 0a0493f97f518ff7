"""Judgments from a file: `rater,layer,unit,rank,verdict[,score][,label_set]`, CSV or JSON
Lines, one (rater, pair) a row.

Humans (the default) become inactive accounts `imported-{study}-{rater}` with a human
rater each, so their judgments sit beside the annotation page's; with `rater_kind` the
raters are automatic configurations named by the file, with the provenance notes in their
parameters. The import is one transaction and idempotent: a row that is already stored is
unchanged, a (rater, pair) given two different verdicts (in the file, or against what is
stored) is refused by file and line, and then nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from annotate.importers.errors import ImportReport, Problems, fail
from annotate.importers.label_formats import check_layer, check_unit
from annotate.importers.sources import (
    Source,
    iter_rows,
    parse_float,
    parse_int,
    read_text,
    source_name,
)
from annotate.models import TOP_K, NeuronImage, Study
from evaluation.models import Judgment, Rater, Verdict

VERDICTS = (Verdict.YES, Verdict.NO, Verdict.SKIP)
MAX_RATER_CHARS = 100


@dataclass(frozen=True)
class JudgmentRow:
    line: int
    rater: str
    layer: str
    unit: int
    rank: int
    verdict: str
    score: float | None
    label_set: str | None


def check_judgment_rows(text: str, file: str) -> list[JudgmentRow]:
    problems = Problems()
    rows: list[JudgmentRow] = []
    first: dict[tuple, JudgmentRow] = {}
    columns = ["rater", "layer", "unit", "rank", "verdict"]
    for line, values in iter_rows(text, file, columns, ["score", "label_set"], problems):
        try:
            row = _row(line, *values)
        except ValueError as exc:
            problems.add(file, line, str(exc))
            continue
        key = (row.rater, row.label_set, row.layer, row.unit, row.rank)
        earlier = first.setdefault(key, row)
        if earlier is not row:
            if (earlier.verdict, earlier.score) != (row.verdict, row.score):
                problems.add(
                    file,
                    line,
                    f"{row.rater} judged {row.layer}:{row.unit} rank {row.rank} "
                    f"{earlier.verdict!r} on line {earlier.line} and {row.verdict!r} here",
                )
            continue
        rows.append(row)
    problems.raise_if_any()
    if not rows:
        raise fail(file, "no judgments: the file has a header but no rows")
    return rows


def check_rater_name(rater) -> str:
    rater = str(rater or "").strip()
    if not rater or len(rater) > MAX_RATER_CHARS or not rater.isascii():
        raise ValueError(f"rater must be 1 to {MAX_RATER_CHARS} ASCII characters")
    return rater


def _row(line, rater, layer, unit, rank, verdict, score, label_set) -> JudgmentRow:
    rater = check_rater_name(rater)
    verdict = str(verdict or "").strip().lower()
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    rank_number = parse_int(rank, "rank")
    if rank_number < 1:
        raise ValueError("rank must be 1 or more")
    label_set = str(label_set).strip() if label_set not in (None, "") else None
    return JudgmentRow(
        line,
        rater,
        check_layer(layer),
        check_unit(unit),
        rank_number,
        verdict,
        parse_float(score, "score"),
        label_set,
    )


def do_import_judgments(
    study: Study, source: Source, *, rater_kind: str = Rater.Kind.HUMAN, notes: str = ""
) -> ImportReport:
    file = source_name(source, "judgments.csv")
    rows = check_judgment_rows(read_text(source, file), file)
    check_rater_kind(rater_kind, file)
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        pairs = _pairs(study, rows, file)
        raters = {
            name: do_get_imported_rater(study, name, rater_kind, notes)
            for name in {r.rater for r in rows}
        }
        new, unchanged = _plan(rows, pairs, raters, file)
        Judgment.objects.bulk_create(
            Judgment(
                rater=raters[r.rater],
                neuron_image_id=pairs[_pair_key(r)],
                verdict=r.verdict,
                score=r.score,
                extra={"imported_from": file},
            )
            for r in new
        )
    report = ImportReport("judgment", file, format=rater_kind, rows=len(rows))
    report.created, report.unchanged = len(new), unchanged
    report.notes.append(f"{len(raters)} rater{'s' if len(raters) != 1 else ''}")
    return report


def check_rater_kind(kind: str, file: str) -> None:
    if kind not in Rater.Kind.values or kind == Rater.Kind.CONSENSUS:
        known = ", ".join(k for k in Rater.Kind.values if k != Rater.Kind.CONSENSUS)
        raise fail(file, f"rater kind {kind!r} is not one of {known}")


def _pair_key(row: JudgmentRow) -> tuple:
    return (row.label_set, row.layer, row.unit, row.rank)


def _pairs(study: Study, rows: list[JudgmentRow], file: str) -> dict[tuple, int]:
    """Pair ids by (label set or None for the first, layer, unit, rank)."""
    first_set = study.label_sets.order_by("pk").values_list("name", flat=True).first()
    found: dict[tuple, int] = {}
    for pk, name, layer, unit, rank in NeuronImage.objects.filter(
        TOP_K, neuron__study=study, neuron__role="real"
    ).values_list("pk", "neuron__label_set__name", "neuron__layer", "neuron__unit", "rank"):
        found[(name, layer, unit, rank)] = pk
        if name == first_set:
            found[(None, layer, unit, rank)] = pk
    problems = Problems()
    for row in rows:
        if _pair_key(row) not in found:
            where = f" in label set {row.label_set!r}" if row.label_set else ""
            problems.add(
                file, row.line, f"no image at rank {row.rank} of {row.layer}:{row.unit}{where}"
            )
    problems.raise_if_any()
    return found


def do_get_imported_rater(study: Study, name: str, kind: str, notes: str = "") -> Rater:
    """The rater an import names: a human as an inactive account of the study, or an
    automatic configuration with the import's provenance; created on first use."""
    if kind == Rater.Kind.HUMAN:
        username = f"imported-{study.pk}-{name}"[:150]
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_active": False}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        rater, _ = Rater.objects.get_or_create(
            user=user, defaults={"name": f"human:{username}", "kind": kind}
        )
        return rater
    params = {"imported": True, "source_name": name, "study": study.pk, "notes": notes}
    rater = (
        Rater.objects.filter(kind=kind, user__isnull=True, params__source_name=name)
        .filter(params__study=study.pk, params__imported=True)
        .first()
    )
    if rater is None:
        label = Rater.Kind(kind).label
        rater = Rater.objects.create(name=f"{label} · imported {name} · study {study.pk}"[:200],
                                     kind=kind, params=params)  # fmt: skip
    return rater


def _plan(rows, pairs, raters, file) -> tuple[list[JudgmentRow], int]:
    stored = {
        (rater_id, pair_id): (verdict, score)
        for rater_id, pair_id, verdict, score in Judgment.objects.filter(
            rater__in=raters.values(), neuron_image_id__in={pairs[_pair_key(r)] for r in rows}
        ).values_list("rater_id", "neuron_image_id", "verdict", "score")
    }
    problems, new, unchanged = Problems(), [], 0
    for row in rows:
        old = stored.get((raters[row.rater].pk, pairs[_pair_key(row)]))
        if old is None:
            new.append(row)
        elif old == (row.verdict, row.score):
            unchanged += 1
        else:
            problems.add(
                file,
                row.line,
                f"{row.rater} already has {old[0]!r} for {row.layer}:{row.unit} rank "
                f"{row.rank}; a stored judgment is never changed by an import",
            )
    problems.raise_if_any()
    return new, unchanged
