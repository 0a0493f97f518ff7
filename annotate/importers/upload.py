"""The staff upload forms' imports: a new study with its concept set, labels and images, or
labels and images added to a study; each in one transaction.

When a label file is refused, the image files are still checked, so the person fixing the
files sees every problem at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from annotate.importers.concepts import do_import_concept_set
from annotate.importers.errors import ImportFailed, ImportReport, Problems, fail
from annotate.importers.images import (
    add_problems,
    check_image_files,
    do_import_images,
    raise_sorted,
)
from annotate.importers.labels import do_import_labels
from annotate.importers.sources import Source
from annotate.models import ConceptSet, Study
from annotate.ownership import do_grant_owner


@dataclass
class StudyUpload:
    name: str
    target_network: str
    probe_dataset: str
    method: str
    k: int
    notes: str
    labels: Source
    concept_set: ConceptSet | None = None
    concept_file: Source | None = None
    concept_set_name: str = ""
    manifest: Source | None = None
    images: Source | None = None
    question_type: str = Study.QuestionType.PAIR_YES_NO


def do_import_study_upload(upload: StudyUpload, owner=None) -> tuple[Study, list[ImportReport]]:
    reports: list[ImportReport] = []
    with transaction.atomic():
        if Study.objects.filter(name=upload.name).exists():
            raise fail("study", f"a study called {upload.name!r} already exists")
        concept_set = upload.concept_set
        if upload.concept_file is not None:
            report = ImportReport("concept", "")
            concept_set = do_import_concept_set(
                upload.concept_set_name, upload.concept_file, report
            )
            reports.append(report)
        study = Study.objects.create(
            name=upload.name,
            target_network=upload.target_network,
            probe_dataset=upload.probe_dataset,
            method=upload.method,
            question_type=upload.question_type,
            k=upload.k,
            notes=upload.notes,
            concept_set=concept_set,
            owner=owner,
        )
        do_grant_owner(study, owner)
        reports += _import_files(
            study, StudyFiles(upload.labels, manifest=upload.manifest, images=upload.images)
        )
    return study, reports


@dataclass
class StudyFiles:
    """A label file (into `label_set`, read as `fmt`, `layer` for formats without one) and
    a manifest with its images; either may be left out."""

    labels: Source | None = None
    label_set: str | None = None
    fmt: str | None = None
    layer: str | None = None
    manifest: Source | None = None
    images: Source | None = None


def do_import_into_study(study: Study, files: StudyFiles) -> list[ImportReport]:
    """Add labels and images to an existing study; refused as a whole, changing nothing."""
    with transaction.atomic():
        return _import_files(study, files)


def _import_files(study: Study, files: StudyFiles) -> list[ImportReport]:
    reports = []
    if files.labels is not None:
        try:
            reports.append(
                do_import_labels(
                    study,
                    files.labels,
                    label_set=files.label_set or None,
                    fmt=files.fmt or None,
                    layer=files.layer or None,
                )
            )
        except ImportFailed as failure:
            _refuse_with_image_problems(failure, study.k, files)
    if files.manifest is not None:
        reports.append(do_import_images(study, files.manifest, files.images))
    return reports


def _refuse_with_image_problems(failure: ImportFailed, k: int, files: StudyFiles):
    """Raise the label file's problems together with those the image files have on their
    own (which neurons exist is not known while the labels are refused)."""
    if files.manifest is None:
        raise failure
    checked = check_image_files(files.manifest, files.images, k)
    checked.close()
    problems = Problems()
    add_problems(problems, failure)
    add_problems(problems, ImportFailed(checked.problems.items, checked.problems.more))
    raise_sorted(problems)
