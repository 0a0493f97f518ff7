"""Study reports: load the long judgment table from PostgreSQL in one read, compute, cache.

The cache key holds the study's judgment count, latest judgment id and latest creation time,
so any new (or deleted) judgment makes the next request compute afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.shortcuts import get_object_or_404

from annotate.annotation import quality
from annotate.models import NeuronImage, Study
from evaluation.agreement import ReportOptions, build_report
from evaluation.judgment_arrays import VERDICTS, read_study_arrays
from evaluation.models import Rater

CACHE_SECONDS = 24 * 3600
CACHE_VERSION = 3  # bump whenever the report's shape changes: cached reports of the old shape


@dataclass(frozen=True)
class ReportRequest:
    """Options a report page or export accepts; `check_report_request` builds it from GET."""

    rule: str = "any"
    reference: str = "dawid_skene"
    exclude: tuple[str, ...] = ()  # annotator names left out of the consensus
    exclude_rater_ids: tuple[int, ...] = ()  # the same by Rater id (e.g. excluded_rater_ids())
    min_gold: float | None = None  # leave out annotators whose gold accuracy is under this
    n_boot: int = 500


def check_report_request(params) -> ReportRequest:
    """Validate GET parameters; raises ValueError with a message a person can act on."""
    try:
        n_boot = int(params.get("n_boot", 500))
        min_gold = params.get("min_gold")
        min_gold = float(min_gold) if min_gold not in (None, "") else None
        getlist = params.getlist if hasattr(params, "getlist") else (lambda key: [])
        ids = tuple(sorted({int(i) for i in getlist("exclude_id")}))
    except ValueError:
        raise ValueError("n_boot and exclude_id must be integers, min_gold a number") from None
    if min_gold is not None and not 0 <= min_gold <= 1:
        raise ValueError("min_gold must be between 0 and 1")
    request = ReportRequest(
        rule=params.get("rule", "any"),
        reference=params.get("reference", "dawid_skene"),
        exclude=tuple(sorted(set(getlist("exclude")))),
        exclude_rater_ids=ids,
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
    """Every judgment of the study's real and probe pairs, distractors left out.

    Columns: rater_id, neuron, item (the pair), verdict, score, layer, role; verdict, layer
    and role are categoricals. Neuron, layer and role come from the study's pairs and
    neurons, read apart and joined in numpy.
    """
    arrays = read_study_arrays(study.pk)
    position = np.searchsorted(arrays.pair_ids, arrays.item)
    kept = position < len(arrays.pair_ids)
    kept[kept] = arrays.pair_ids[position[kept]] == arrays.item[kept]  # not a distractor
    neuron_ids = arrays.pair_neurons[position[kept]]
    neurons = pd.DataFrame.from_records(
        list(study.neurons.values_list("id", "layer", "role")), columns=["id", "layer", "role"]
    ).set_index("id")
    neuron_rows = neurons.index.get_indexer(neuron_ids)
    return pd.DataFrame(
        {
            "rater_id": arrays.rater_id[kept],
            "neuron": neuron_ids,
            "item": arrays.item[kept],
            "verdict": pd.Categorical.from_codes(arrays.verdict[kept], VERDICTS),
            "score": arrays.score[kept],
            "layer": _take_categorical(neurons["layer"], neuron_rows),
            "role": _take_categorical(neurons["role"], neuron_rows),
        }
    )


def _take_categorical(values: pd.Series, rows: np.ndarray) -> pd.Categorical:
    """values[rows] as a categorical: codes are copied, not 2 million Python strings."""
    categorical = pd.Categorical(values)
    return pd.Categorical.from_codes(categorical.codes[rows], categories=categorical.categories)


def study_raters(ids) -> dict[int, Rater]:
    """The raters with these ids, humans first, then by kind and name."""
    found = sorted(Rater.objects.filter(pk__in=ids), key=lambda r: (not r.is_human, r.kind, r.name))
    return {r.pk: r for r in found}


def judgment_fingerprint(study: Study) -> str:
    """Changes whenever a judgment is added, changed or deleted, in any study.

    Two O(1) lookups: the highest judgment id and the change counter that a trigger bumps at
    each commit (migration 0002). Counting the study's own judgments instead joined the whole
    judgment table and took 2 s at 500,000 pairs. Read it before the judgments themselves.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT max(id) FROM evaluation_judgment),"
            " (SELECT last_value FROM evaluation_judgment_changes)"
        )
        last_id, changes = cursor.fetchone()
    return f"{last_id or 0}:{changes}"


def _gold_by_name(study: Study, raters: dict[int, Rater]) -> dict[str, tuple[float, int]]:
    """name -> (gold accuracy, known pairs answered); {} when the study has no known answers."""
    if not _has_known_answers(study):
        return {}
    tally = quality.gold_tally(study)  # rater id -> (right, answered)
    return {
        raters[i].name: (right / total, total)
        for i, (right, total) in tally.items()
        if i in raters and total
    }


def _has_known_answers(study: Study) -> bool:
    """Distractors or gold answers exist: worth the gold-accuracy queries (slow on big studies)."""
    pairs = NeuronImage.objects.filter(neuron__study=study)
    return (
        pairs.filter(is_distractor=True).exists()
        or pairs.filter(gold_answer__isnull=False).exists()
    )


def _excluded(request: ReportRequest, gold, raters: dict[int, Rater]) -> frozenset[str]:
    names = set(request.exclude)
    names |= {raters[i].name for i in request.exclude_rater_ids if i in raters}
    if request.min_gold is not None:
        names |= {name for name, (acc, _) in gold.items() if acc < request.min_gold}
    return frozenset(names)


def cache_key(study: Study, request: ReportRequest, fingerprint: str) -> str:
    digest = hashlib.sha256(json.dumps(request.__dict__, sort_keys=True).encode()).hexdigest()
    return f"report:v{CACHE_VERSION}:{study.pk}:{fingerprint}:{digest[:16]}"


def compute_study_report(study: Study, request: ReportRequest) -> dict:
    table = load_long_table(study)
    raters = study_raters(table["rater_id"].unique().tolist())
    ids = np.array(list(raters), dtype=np.int64)
    order = np.argsort(ids)
    codes = order[np.searchsorted(ids[order], table.pop("rater_id").to_numpy())]
    table["rater"] = pd.Categorical.from_codes(codes, categories=[r.name for r in raters.values()])
    gold = _gold_by_name(study, raters)
    options = ReportOptions(
        neuron_rule=request.rule,
        reference=request.reference,
        n_boot=request.n_boot,
        exclude_raters=_excluded(request, gold, raters),
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


def cached_json(key: str, build) -> bytes:
    """`build()` encoded as compact JSON, kept in the cache as bytes: a cached report read
    as bytes skips unpickling and re-encoding 1-2 MB of figures (0.2 s at 500,000 pairs)."""

    def encode() -> bytes:
        return json.dumps(build(), default=str, separators=(",", ":")).encode()

    return cache.get_or_set(key, encode, CACHE_SECONDS)


def report_cache_key(study: Study, request: ReportRequest) -> str:
    """The key the report is cached under now; pages key their rendered fragments by it."""
    return cache_key(study, request, judgment_fingerprint(study))


def get_study_report_json(study: Study, request: ReportRequest | None = None) -> bytes:
    """The report of `get_study_report` as JSON bytes, cached the same way."""
    request = request or ReportRequest()
    key = report_cache_key(study, request) + ":json"
    return cached_json(key, lambda: get_study_report(study, request))


def get_study_report(study: Study, request: ReportRequest | None = None) -> dict:
    """The report as plain data (JSON-ready), from the cache while no judgment has changed."""
    request = request or ReportRequest()
    key = report_cache_key(study, request)
    report = cache.get(key)
    if report is None:
        report = compute_study_report(study, request)
        cache.set(key, report, CACHE_SECONDS)
    return report


def warm_study_report(study_id: int) -> str:
    """Fill the cache with the study's default report; returns its cache key."""
    study = Study.objects.get(pk=study_id)
    get_study_report(study)
    return report_cache_key(study, ReportRequest())
