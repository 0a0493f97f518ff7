"""Which kind of judgment file this is, told by its header, and the importer for it.

- `pairs`: `rater,layer,unit,rank,verdict[,score][,label_set]`, a yes/no per image;
- `ratings`: `rater,layer,unit,label_set,rating[,uninterpretable,none_fits]`, a rating 1-5
  per label;
- `best-of`: `rater,layer,unit,chosen[,none_fits,uninterpretable]`, the best label per unit;
- `dnd-human-evals`: Describe-and-Dissect's human-evaluation file, as it is.
"""

from __future__ import annotations

import csv
import io
import json

from annotate.importers.errors import ImportReport, fail
from annotate.importers.sources import Source, is_jsonl, read_text, source_name
from annotate.models import Study
from evaluation.importers.dnd_human_evals import FORMAT as DND
from evaluation.importers.dnd_human_evals import do_import_dnd_human_evals
from evaluation.importers.judgments import do_import_judgments
from evaluation.importers.label_judgments import do_import_label_judgments
from evaluation.models import LabelJudgment, Rater

FORMATS = ("pairs", "ratings", "best-of", DND)


def _header(text: str, file: str) -> set[str]:
    first = text.lstrip().split("\n", 1)[0]
    if is_jsonl(file, text):
        try:
            record = json.loads(first)
        except json.JSONDecodeError:
            return set()
        return {str(k).strip().lower() for k in record} if isinstance(record, dict) else set()
    try:
        return {c.strip().lower() for c in next(csv.reader(io.StringIO(first)), [])}
    except csv.Error:
        return set()


def detect_judgment_format(text: str, file: str) -> str:
    header = _header(text, file)
    if {"rank", "verdict"} <= header:
        return "pairs"
    if "rating" in header:
        return "ratings"
    if "chosen" in header:
        return "best-of"
    if any(c.endswith(" e1 rating") for c in header):
        return DND
    shown = ", ".join(sorted(header)) or "nothing"
    raise fail(
        file,
        f"unknown judgment file: the header has {shown}; expected rank and verdict (pairs), "
        f"rating (ratings), chosen (best-of), or --format {DND}",
        1,
    )


def do_import_judgment_file(
    study: Study,
    source: Source,
    *,
    fmt: str | None = None,
    rater_kind: str = Rater.Kind.HUMAN,
    notes: str = "",
) -> ImportReport:
    """Import any judgment file; `fmt` None: told by its header (the file is read twice,
    which an upload allows: the reader seeks back to its start)."""
    file = source_name(source, "judgments.csv")
    fmt = fmt or detect_judgment_format(read_text(source, file), file)
    if fmt not in FORMATS:
        raise fail(file, f"unknown judgment format {fmt!r}; known: {', '.join(FORMATS)}")
    if fmt == "pairs":
        return do_import_judgments(study, source, rater_kind=rater_kind, notes=notes)
    if fmt == DND:
        if rater_kind != Rater.Kind.HUMAN:
            raise fail(file, f"{DND} files hold human evaluators' ratings: leave out the kind")
        return do_import_dnd_human_evals(study, source)
    question = "label_rating" if fmt == "ratings" else LabelJudgment.Question.BEST_OF
    return do_import_label_judgments(study, source, question, rater_kind=rater_kind, notes=notes)
