"""Reports kept in the cache until a judgment changes, and the one document that report.json
and the API both serve.

What the key is made of (`report_cache_key`):

    report:v<CACHE_VERSION>:<study id>:<judgment fingerprint>:<digest of the options>

- the judgment fingerprint (`read.judgment_fingerprint`) is the highest judgment id and a
  change counter, both over *every* study: a judgment written in any study makes every
  study's report compute afresh (cheap to read; a per-study count cost seconds);
- the options are those in force, the study's gold bar filled in, so changing
  AnnotationSettings.min_gold_accuracy changes the key of the default report;
- the label set asked for is in the options by name (`label_sets.label_set_in_force`), so
  `?label_set=3` and `?label_set=<its name>` share one entry;
- the study's `probe_alpha`, the cut of the whole-probe section;
- not in the key: gold answers, distractor images, neurons and layers, rater names and
  parameters (the short names), label set names and methods. Changing
  those without writing a judgment keeps the cached report until CACHE_SECONDS pass.

The document served as report.json and by the API adds the study and its run times, so its
key adds a stamp of the study's finished runs (`read.finished_runs_stamp`).
"""

from __future__ import annotations

import hashlib
import json

from django.core.cache import cache

from annotate.models import AnnotationSettings, Study
from evaluation.reports.compute import compute_study_report
from evaluation.reports.label_sets import label_set_in_force
from evaluation.reports.options import ReportOptions
from evaluation.reports.read import (
    annotation_spans,
    finished_runs_stamp,
    judgment_fingerprint,
    run_times,
)

CACHE_SECONDS = 24 * 3600
CACHE_VERSION = 6  # bump whenever the report's shape changes: cached reports of the old shape


def options_in_force(study: Study, options: ReportOptions | None = None) -> ReportOptions:
    """`options` (default: the defaults) with the study's gold bar where none was asked for
    and the label set by name; ValueError for a label set the study does not have."""
    options = label_set_in_force(study, options or ReportOptions())
    if options.min_gold is not None:
        return options
    return options.with_study_defaults(study_gold_bar(study))


def study_gold_bar(study: Study) -> float:
    """AnnotationSettings.min_gold_accuracy, read without creating the settings row."""
    bar = AnnotationSettings.objects.filter(study=study).values_list("min_gold_accuracy")
    found = bar.first()
    return found[0] if found else AnnotationSettings._meta.get_field("min_gold_accuracy").default


def cache_key(study: Study, options: ReportOptions, fingerprint: str) -> str:
    """The key for options already in force (see `options_in_force`)."""
    digest = hashlib.sha256(json.dumps(options.as_dict(), sort_keys=True).encode()).hexdigest()
    return f"report:v{CACHE_VERSION}:{study.pk}:a{study.probe_alpha!r}:{fingerprint}:{digest[:16]}"


def report_cache_key(study: Study, options: ReportOptions | None = None) -> str:
    """The key the report is cached under now; pages key their rendered fragments by it.
    Read it before the report, so a fragment is never newer than its key."""
    return cache_key(study, options_in_force(study, options), judgment_fingerprint(study))


def cached_json(key: str, build) -> bytes:
    """`build()` encoded as compact JSON, kept in the cache as bytes: a cached report read
    as bytes skips unpickling and re-encoding 1-2 MB of figures (0.2 s at 500,000 pairs)."""

    def encode() -> bytes:
        return json.dumps(build(), default=str, separators=(",", ":")).encode()

    return cache.get_or_set(key, encode, CACHE_SECONDS)


def get_study_report(study: Study, options: ReportOptions | None = None) -> dict:
    """The report as plain data (JSON-ready), from the cache while no judgment has changed."""
    options = options_in_force(study, options)
    key = cache_key(study, options, judgment_fingerprint(study))
    report = cache.get(key)
    if report is None:
        report = compute_study_report(study, options)
        cache.set(key, report, CACHE_SECONDS)
    return report


def cached_timings(study: Study) -> dict[str, list[dict]]:
    """`runs` (`read.run_times`) and `annotation_spans`, cached until a judgment changes
    (the spans aggregate every human judgment of the study) or a run finishes."""
    key = f"timings:{study.pk}:{judgment_fingerprint(study)}:{finished_runs_stamp(study)}"
    return cache.get_or_set(
        key,
        lambda: {"runs": run_times(study), "annotation_spans": annotation_spans(study)},
        CACHE_SECONDS,
    )


def report_document(study: Study, options: ReportOptions | None = None) -> dict:
    """The report with the study, its runs and its annotators' spans: the document of
    report.json and the API."""
    return (
        get_study_report(study, options)
        | {"study": {"id": study.pk, "name": study.name}}
        | cached_timings(study)
    )


def report_document_json(study: Study, options: ReportOptions | None = None) -> bytes:
    """`report_document` as JSON bytes, cached until a judgment changes or a run finishes."""
    options = options_in_force(study, options)
    key = cache_key(study, options, judgment_fingerprint(study))
    key += f":document:{finished_runs_stamp(study)}"
    return cached_json(key, lambda: report_document(study, options))


def warm_study_report(study_id: int) -> str:
    """Fill the cache with the study's default report; returns its cache key."""
    study = Study.objects.get(pk=study_id)
    get_study_report(study)
    return report_cache_key(study)
