"""Finding or creating the study an import goes into."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from annotate.importers.errors import ImportReport, fail
from annotate.importers.labels import do_import_labels
from annotate.importers.results_folder import read_results_folder
from annotate.importers.sources import Source
from annotate.models import ConceptSet, Study


def do_get_or_create_study(
    name: str,
    *,
    target_network: str | None = None,
    probe_dataset: str | None = None,
    method: str | None = None,
    question_type: str | None = None,
    concept_set: str | None = None,
    k: int | None = None,
    notes: str | None = None,
) -> tuple[Study, bool]:
    """The study called `name`; created when missing (then network and probe set are
    needed). Options that contradict an existing study are refused, not silently ignored."""
    wanted = {
        "target_network": target_network,
        "probe_dataset": probe_dataset,
        "method": method,
        "question_type": question_type,
        "k": k,
        "notes": notes,
    }
    wanted = {field: value for field, value in wanted.items() if value is not None}
    if method is not None and method not in Study.Method.values:
        raise fail("study", f"method {method!r} is not one of {', '.join(Study.Method.values)}")
    if question_type is not None and question_type not in Study.QuestionType.values:
        known = ", ".join(Study.QuestionType.values)
        raise fail("study", f"question type {question_type!r} is not one of {known}")
    if k is not None and not 1 <= k <= 100:
        raise fail("study", "k must be between 1 and 100")
    if concept_set is not None:
        found = ConceptSet.objects.filter(name=concept_set).first()
        if found is None:
            raise fail("study", f"no concept set called {concept_set!r}; import it first")
        wanted["concept_set"] = found
    study = Study.objects.filter(name=name).first()
    if study is None:
        missing = [f for f in ("target_network", "probe_dataset") if f not in wanted]
        if missing:
            raise fail("study", f"study {name!r} does not exist; to create it give {missing}")
        return Study.objects.create(name=name, **wanted), True
    clashes = [f for f, value in wanted.items() if getattr(study, f) != value]
    if clashes:
        shown = ", ".join(f"{f}={getattr(study, f)!s}" for f in clashes)
        raise fail("study", f"study {name!r} already exists with {shown}")
    return study, False


def do_import_study_labels(
    name: str,
    source: Source,
    *,
    label_set: str | None = None,
    fmt: str | None = None,
    layer: str | None = None,
    **study_fields,
) -> tuple[Study, ImportReport]:
    """Create the study if needed and import its labels, in one transaction. A folder is
    read as CLIP-Dissect's results: its `args.txt` fills the fields not given."""
    folder_settings = None
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        folder = read_results_folder(Path(source))
        source, folder_settings = folder.descriptions, folder.settings
        _fill_from_results(study_fields, folder, name)
    with transaction.atomic():
        study, created = do_get_or_create_study(name, **study_fields)
        report = do_import_labels(study, source, label_set=label_set, fmt=fmt, layer=layer)
        if folder_settings:
            _keep_settings(study, label_set, folder_settings)
        if created:
            report.notes.append(f"created study {study.name!r}")
    return study, report


def _fill_from_results(fields: dict, folder, name: str) -> None:
    """A new study takes network, probe set, method and (when imported) concept set from
    the run's settings; an existing one keeps its own, the settings go to the label set."""
    if Study.objects.filter(name=name).exists():
        return
    defaults = {
        "method": Study.Method.CLIP_DISSECT,
        "target_network": folder.target_network,
        "probe_dataset": folder.probe_dataset,
    }
    concept = folder.concept_set_name
    if concept and ConceptSet.objects.filter(name=concept).exists():
        defaults["concept_set"] = concept
    for field, value in defaults.items():
        if fields.get(field) is None and value is not None:
            fields[field] = value


def _keep_settings(study: Study, label_set: str | None, settings: dict) -> None:
    from annotate.label_sets import do_get_label_set

    labels, _ = do_get_label_set(study, label_set)
    labels.settings = {**labels.settings, **settings}
    labels.save(update_fields=["settings"])
