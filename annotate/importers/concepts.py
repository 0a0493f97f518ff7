"""Concept sets: a text file, one concept a line (CLIP-Dissect's `concept_sets/*.txt`).

Lines are stripped and blank lines dropped; order is kept. A concept listed twice is kept
once, at its first place, and the drop is reported: real sets repeat words
(broden_labels_clean.txt repeats 44), and refusing them would only make users edit files.
Concept sets are content-addressed like images: the same concepts under a second name
return the set already stored.
"""

from __future__ import annotations

import hashlib

from django.db import transaction

from annotate.importers.errors import ImportReport, Problems, fail
from annotate.importers.sources import Source, read_text, source_name
from annotate.models import ConceptSet

MAX_CONCEPT_CHARS = 200


def concepts_sha256(concepts: list[str]) -> str:
    return hashlib.sha256("\n".join(concepts).encode()).hexdigest()


def check_concepts(text: str, name: str) -> tuple[list[str], int]:
    """The ordered, de-duplicated concepts and how many repeats were dropped."""
    problems = Problems()
    concepts: list[str] = []
    seen: set[str] = set()
    for line_no, line in enumerate(text.splitlines(), start=1):
        concept = line.strip()
        if not concept:
            continue
        if len(concept) > MAX_CONCEPT_CHARS:
            problems.add(name, line_no, f"concept is over {MAX_CONCEPT_CHARS} characters")
        elif concept not in seen:
            seen.add(concept)
            concepts.append(concept)
    problems.raise_if_any()
    if not concepts:
        raise fail(name, "no concepts: expected one concept a line")
    return concepts, sum(1 for line in text.splitlines() if line.strip()) - len(concepts)


def do_import_concept_set(
    name: str, source: Source, report: ImportReport | None = None
) -> ConceptSet:
    """Store the concept set `name` (or return it unchanged when imported before)."""
    file = source_name(source, "concepts.txt")
    name = name.strip()
    if not name:
        raise fail(file, "a concept set needs a name")
    concepts, repeats = check_concepts(read_text(source, file), file)
    sha = concepts_sha256(concepts)
    report = report if report is not None else ImportReport("concept", file)
    report.file = file
    report.rows = len(concepts)
    if repeats:
        report.notes.append(f"{repeats:,} repeated concepts kept once")
    with transaction.atomic():
        existing = ConceptSet.objects.select_for_update().filter(name=name).first()
        if existing and existing.sha256 != sha:
            raise fail(
                file,
                f"concept set {name!r} already exists with different concepts; "
                "import this file under a new name",
            )
        existing = existing or ConceptSet.objects.filter(sha256=sha).first()
        if existing:
            report.unchanged = len(concepts)
            if existing.name != name:
                report.notes.append(f"these concepts are already stored as {existing.name!r}")
            return existing
        concept_set = ConceptSet.objects.create(name=name, concepts=concepts, sha256=sha)
    report.created = len(concepts)
    return concept_set
