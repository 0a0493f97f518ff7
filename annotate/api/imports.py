"""Uploads handed to the importers; a refused import becomes a 400 listing its problems.

The importers (annotate.importers) run in one transaction and change nothing on error, so
the API only has to translate their outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, is_dataclass

from rest_framework import status
from rest_framework.response import Response

from annotate.images import ImageRejected
from annotate.importers.errors import ImportFailed


def run_import(func: Callable, *args):
    """The importer's result, or a 400 Response naming each problem (file, line, message)."""
    try:
        return func(*args)
    except ImportFailed as exc:
        problems = [{"file": p.file, "line": p.line, "message": p.message} for p in exc.problems]
        detail = f"Import refused, nothing was changed: {len(problems)} problem(s)"
        if exc.more:
            detail += f" (and {exc.more:,} more)"
        return Response({"detail": detail, "problems": problems}, status.HTTP_400_BAD_REQUEST)
    except ImageRejected as exc:
        problem = {"file": "", "line": None, "message": str(exc)}
        body = {"detail": f"Import refused, nothing was changed: {exc}", "problems": [problem]}
        return Response(body, status.HTTP_400_BAD_REQUEST)


def respond(func: Callable, *args) -> Response:
    outcome = run_import(func, *args)
    if isinstance(outcome, Response):
        return outcome
    return Response(report_dict(outcome))


def report_dict(report) -> dict:
    if hasattr(report, "as_dict"):
        return report.as_dict()
    return asdict(report) if is_dataclass(report) else dict(report)


def import_labels(study, upload, options: dict):
    from annotate.importers.labels import do_import_labels

    return do_import_labels(
        study, upload, label_set=options["label_set"], fmt=options["format"], layer=options["layer"]
    )


def import_judgments(study, upload, rater_kind: str, notes: str, fmt: str | None = None):
    from evaluation.importers.formats import do_import_judgment_file

    return do_import_judgment_file(study, upload, fmt=fmt, rater_kind=rater_kind, notes=notes)


def import_concept_set(name: str, upload):
    """(concept set, report): the report says whether it was created or already stored."""
    from annotate.importers.concepts import do_import_concept_set
    from annotate.importers.errors import ImportReport

    report = ImportReport("concept", upload.name or "concepts.txt")
    return do_import_concept_set(name, upload, report), report


def import_images(study, manifest, archive):
    from annotate.importers.images import do_import_images

    return do_import_images(study, manifest, archive)
