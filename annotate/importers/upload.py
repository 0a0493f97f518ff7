"""The staff upload form's import: a new study with its concept set, labels and images,
all in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from annotate.importers.concepts import do_import_concept_set
from annotate.importers.errors import ImportReport, fail
from annotate.importers.images import do_import_images
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
            k=upload.k,
            notes=upload.notes,
            concept_set=concept_set,
            owner=owner,
        )
        do_grant_owner(study, owner)
        reports.append(do_import_labels(study, upload.labels))
        if upload.manifest is not None and upload.images is not None:
            reports.append(do_import_images(study, upload.manifest, upload.images))
    return study, reports
