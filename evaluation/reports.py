"""Study reports: load the long judgment table from PostgreSQL in one read, compute, cache.

The cache key holds the study's judgment count, latest judgment id and latest creation time,
so any new (or deleted) judgment makes the next request compute afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import pandas as pd
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max
from django.shortcuts import get_object_or_404

from annotate.models import Study
from evaluation.agreement import ReportOptions, build_report
from evaluation.models import Judgment, Rater

log = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 3600
CACHE_VERSION = 1
LONG_COLUMNS = ["rater_id", "neuron", "layer", "item", "verdict", "score", "role"]


@dataclass(frozen=True)
class ReportRequest:
    """Options a report page or export accepts; `check_report_request` builds it from GET."""

    rule: str = "any"
    reference: str = "dawid_skene"
    exclude: tuple[str, ...] = ()  # annotator names left out of the consensus
    min_gold: float | None = None  # leave out annotators whose gold accuracy is under this
    n_boot: int = 500


def check_report_request(params) -> ReportRequest:
    """Validate GET parameters; raises ValueError with a message a person can act on."""
    try:
        n_boot = int(params.get("n_boot", 500))
        min_gold = params.get("min_gold")
        min_gold = float(min_gold) if min_gold not in (None, "") else None
    except ValueError:
        raise ValueError("n_boot must be an integer and min_gold a number") from None
    if min_gold is not None and not 0 <= min_gold <= 1:
        raise ValueError("min_gold must be between 0 and 1")
    request = ReportRequest(
        rule=params.get("rule", "any"),
        reference=params.get("reference", "dawid_skene"),
        exclude=tuple(sorted(set(params.getlist("exclude")))) if hasattr(params, "getlist") else (),
        min_gold=min_gold,
        n_boot=n_boot,
    )
    ReportOptions(neuron_rule=request.rule, reference=request.reference, n_boot=n_boot).check()
    return request


def access_reports(user) -> None:
    """Reports show every rater's verdicts, so they are for staff only."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise PermissionDenied("Reports are for staff.")


def access_study_report(user, study_id: int) -> Study:
    access_reports(user)
    return get_object_or_404(Study, pk=study_id)


def load_long_table(study: Study) -> pd.DataFrame:
    """Every judgment of the study's real and probe pairs, distractors left out: one query."""
    rows = Judgment.objects.filter(
        neuron_image__neuron__study=study, neuron_image__is_distractor=False
    ).values_list(
        "rater_id",
        "neuron_image__neuron_id",
        "neuron_image__neuron__layer",
        "neuron_image_id",
        "verdict",
        "score",
        "neuron_image__neuron__role",
    )
    return pd.DataFrame.from_records(list(rows), columns=LONG_COLUMNS)


def study_raters(study: Study) -> dict[int, Rater]:
    ids = Judgment.objects.filter(neuron_image__neuron__study=study).values("rater_id").distinct()
    found = sorted(Rater.objects.filter(pk__in=ids), key=lambda r: (not r.is_human, r.kind, r.name))
    return {r.pk: r for r in found}


def judgment_fingerprint(study: Study) -> str:
    agg = Judgment.objects.filter(neuron_image__neuron__study=study).aggregate(
        n=Count("id"), last=Max("id"), when=Max("created")
    )
    when = agg["when"].timestamp() if agg["when"] else 0
    return f"{agg['n']}:{agg['last']}:{when}"


def _gold_by_name(study: Study, raters: dict[int, Rater]):
    """Gold accuracy from the annotation area when it is installed; {} if not."""
    try:
        from annotate.annotation.quality import gold_accuracy, gold_counts
    except ImportError:
        return {}
    try:
        accuracy, counts = gold_accuracy(study), gold_counts(study)
    except Exception:  # the annotation schema may be absent or mid-migration
        log.warning("gold accuracy unavailable for study %s", study.pk, exc_info=True)
        return {}
    return {raters[i].name: (acc, counts.get(i, 0)) for i, acc in accuracy.items() if i in raters}


def _excluded(request: ReportRequest, gold: dict[str, tuple[float, int]]) -> frozenset[str]:
    names = set(request.exclude)
    if request.min_gold is not None:
        names |= {name for name, (acc, _) in gold.items() if acc < request.min_gold}
    return frozenset(names)


def cache_key(study: Study, request: ReportRequest, fingerprint: str) -> str:
    digest = hashlib.sha256(json.dumps(request.__dict__, sort_keys=True).encode()).hexdigest()
    return f"report:v{CACHE_VERSION}:{study.pk}:{fingerprint}:{digest[:16]}"


def compute_study_report(study: Study, request: ReportRequest) -> dict:
    raters = study_raters(study)
    table = load_long_table(study)
    names = {pk: r.name for pk, r in raters.items()}
    table["rater"] = table.pop("rater_id").map(names)
    gold = _gold_by_name(study, raters)
    options = ReportOptions(
        neuron_rule=request.rule,
        reference=request.reference,
        n_boot=request.n_boot,
        exclude_raters=_excluded(request, gold),
    )
    report = build_report(
        table,
        kinds={r.name: r.kind for r in raters.values()},
        options=options,
        gold=gold,
        layer_order=list(study.layers),
        rater_order=[r.name for r in raters.values()],
    )
    return report.to_dict()


def get_study_report(study: Study, request: ReportRequest | None = None) -> dict:
    """The report as plain data (JSON-ready), from the cache while no judgment has changed."""
    request = request or ReportRequest()
    key = cache_key(study, request, judgment_fingerprint(study))
    report = cache.get(key)
    if report is None:
        report = compute_study_report(study, request)
        cache.set(key, report, CACHE_SECONDS)
    return report
