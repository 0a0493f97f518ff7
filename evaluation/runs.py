"""Rating one chunk of a run on a worker: claim it, rate its pairs (or, for a dense chunk,
score its neurons on the whole probe set: `evaluation.dense_runs`), store, fail or finish.

Starting, planning, resuming and cancelling a run live in `evaluation.run_actions`.

Every step is safe to repeat. A chunk is claimed with a conditional UPDATE; judgments are
inserted with ON CONFLICT DO NOTHING against the unique (rater, pair) constraint; a chunk
whose worker died is re-queued, and its pairs already judged are skipped on the re-run.
A run of a label-rating kind goes through the same steps with labels for pairs
(`evaluation.label_runs`, chosen in `_steps_for`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from evaluation import label_runs
from evaluation.dense_runs import rate_dense_chunk
from evaluation.models import (
    ACTIVE_STATUSES,
    EvaluationRun,
    Judgment,
    RunChunk,
    RunStatus,
    stale_heartbeat_before,
)
from evaluation.rater_configs import rater_site
from evaluation.raters.base import (
    Pair,
    PairRater,
    PairVerdict,
    RaterContext,
    StageTimer,
    rate_label_chunk,
)
from evaluation.raters.registry import build_rater
from evaluation.run_actions import do_finish_run, study_pairs
from evaluation.sources import DatabaseVectorCache, StorageImageSource

log = logging.getLogger(__name__)

# Built raters, kept per worker process: a model loads once, not once per chunk.
_RATERS: dict[tuple[str, str, str], PairRater] = {}


@dataclass(frozen=True)
class ChunkResult:
    chunk_id: int
    claimed: bool
    rated: int = 0
    cancelled: bool = False
    finished_study: int | None = None  # set for the one chunk whose end finished its run


def _claim(chunk_id: int, worker: str) -> bool:
    claimable = Q(status=RunChunk.Status.PENDING) | Q(
        status=RunChunk.Status.RUNNING, heartbeat__lt=stale_heartbeat_before()
    )
    claimed = RunChunk.objects.filter(
        claimable, pk=chunk_id, run__status__in=ACTIVE_STATUSES
    ).update(
        status=RunChunk.Status.RUNNING,
        worker=worker,
        heartbeat=timezone.now(),
        attempts=F("attempts") + 1,
        error="",
    )
    if claimed:
        EvaluationRun.objects.filter(
            pk=RunChunk.objects.get(pk=chunk_id).run_id, status=RunStatus.QUEUED
        ).update(status=RunStatus.RUNNING, started_at=timezone.now())
    return bool(claimed)


def _pending_pairs(chunk: RunChunk) -> list[Pair]:
    rows = (
        study_pairs(chunk.run.study)
        .filter(neuron__id__gte=chunk.first_neuron_id, neuron__id__lte=chunk.last_neuron_id)
        .exclude(judgments__rater_id=chunk.run.rater_id)
        .order_by("image_id", "id")  # same image next to itself: better cache locality
        .values_list("id", "image__sha256", "neuron__label")
    )
    return [Pair(pair_id, sha, label) for pair_id, sha, label in rows]


def _rater_for(run: EvaluationRun, timer: StageTimer) -> PairRater:
    device = run.options.get("device") or settings.NEURONJUDGE_DEVICE
    key = (run.rater.kind, run.rater.params_sha256, device)
    if key not in _RATERS:
        with timer.stage("load"):
            _RATERS[key] = build_rater(run.rater.kind, run.rater.params, device, rater_site())
    return _RATERS[key]


def _store(rater_id: int, verdicts: list[PairVerdict]) -> int:
    rows = [
        Judgment(
            rater_id=rater_id,
            neuron_image_id=v.pair_id,
            verdict=v.verdict,
            score=v.score,
            extra=v.extra,
        )
        for v in verdicts
    ]
    before = Judgment.objects.filter(
        rater_id=rater_id, neuron_image_id__in=[v.pair_id for v in verdicts]
    ).count()
    Judgment.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows) - before


@dataclass(frozen=True)
class _Steps:
    """What a chunk rates, per its kind's question: the items not judged yet, how to rate a
    batch of them, how to store the results (returning how many were new), and how many
    items to rate between stores."""

    pending: Callable[[RunChunk], list[Any]]
    rate: Callable[[list[Any], RaterContext], list[Any]]
    store: Callable[[int, list[Any]], int]
    store_every: int


def _steps_for(run: EvaluationRun, timer: StageTimer) -> _Steps:
    if label_runs.rates_labels(run.rater):
        rater = label_runs.label_rater_for(run, timer)
        return _Steps(
            label_runs.pending_labels,
            partial(rate_label_chunk, rater),
            label_runs.store_ratings,
            label_runs.store_every(run),
        )
    step = int(run.options.get("store_every") or label_runs.PAIRS_PER_STORE)
    return _Steps(_pending_pairs, _rater_for(run, timer).rate, _store, step)


def _run_is_cancelled(run_id: int) -> bool:
    return EvaluationRun.objects.filter(pk=run_id, status=RunStatus.CANCELLED).exists()


def do_rate_chunk(
    chunk_id: int, worker: str, on_progress: Callable[[dict], None] | None = None
) -> ChunkResult:
    """Claim one chunk and rate its pairs (or labels) not judged yet. Safe to call again
    after a crash."""
    if not _claim(chunk_id, worker):
        return ChunkResult(chunk_id, claimed=False)
    chunk = RunChunk.objects.select_related(
        "run__rater", "run__study__concept_set", "run__study__probe_set"
    ).get(pk=chunk_id)
    run = chunk.run
    timer = StageTimer()
    started = time.perf_counter()
    try:
        concept_set = run.study.concept_set
        context = RaterContext(
            images=StorageImageSource(),
            timer=timer,
            cache=DatabaseVectorCache(),
            concepts=concept_set.concepts if concept_set else None,
            device=run.options.get("device") or settings.NEURONJUDGE_DEVICE,
            batch_size=run.options.get("batch_size"),
        )
        if chunk.kind == RunChunk.Kind.DENSE:
            rated, cancelled = rate_dense_chunk(chunk, _rater_for(run, timer), context, on_progress)
        else:
            rated, cancelled = _rate_items(chunk, _steps_for(run, timer), context, on_progress)
    except Exception as exc:
        _fail(chunk, exc)
        raise
    if cancelled:
        return ChunkResult(chunk_id, claimed=True, rated=rated, cancelled=True)
    RunChunk.objects.filter(pk=chunk_id).update(
        status=RunChunk.Status.DONE,
        heartbeat=timezone.now(),
        seconds=time.perf_counter() - started,
        stage_seconds=timer.as_dict(),
    )
    if context.notes:
        _merge_notes(run.pk, context.notes)
    finished = do_finish_run(run.pk)
    return ChunkResult(
        chunk_id, claimed=True, rated=rated, finished_study=run.study_id if finished else None
    )


def _rate_items(
    chunk: RunChunk,
    steps: _Steps,
    context: RaterContext,
    on_progress: Callable[[dict], None] | None,
) -> tuple[int, bool]:
    """Rate the chunk's pairs (or labels) not judged yet; (judgments stored, cancelled)."""
    run = chunk.run
    with context.timer.stage("query"):
        items = steps.pending(chunk)
    rated = 0
    for start in range(0, len(items), steps.store_every):
        if _run_is_cancelled(run.pk):
            return rated, True
        results = steps.rate(items[start : start + steps.store_every], context)
        with context.timer.stage("store"):
            stored = steps.store(run.rater_id, results)
        rated += stored
        EvaluationRun.objects.filter(pk=run.pk).update(done_pairs=F("done_pairs") + stored)
        RunChunk.objects.filter(pk=chunk.pk).update(heartbeat=timezone.now())
        if on_progress:
            on_progress({"run": run.pk, "chunk": chunk.pk, "rated": rated, "of": len(items)})
    return rated, False


def _merge_notes(run_id: int, notes: dict) -> None:
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        for key, value in notes.items():
            if isinstance(value, list):
                merged = list(dict.fromkeys([*run.notes.get(key, []), *value]))
                run.notes[key] = merged
            else:
                run.notes[key] = value
        run.save(update_fields=["notes"])


def _fail(chunk: RunChunk, exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}"
    RunChunk.objects.filter(pk=chunk.pk).update(status=RunChunk.Status.FAILED, error=message)
    EvaluationRun.objects.filter(pk=chunk.run_id, status__in=ACTIVE_STATUSES).update(
        status=RunStatus.FAILED, error=message, finished_at=timezone.now()
    )
