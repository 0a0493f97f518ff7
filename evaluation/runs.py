"""Running an automatic rater over a study: plan chunks, claim, rate, resume, cancel.

Every step is safe to repeat. A chunk is claimed with a conditional UPDATE; judgments are
inserted with ON CONFLICT DO NOTHING against the unique (rater, pair) constraint; a chunk
whose worker died is re-queued, and its pairs already judged are skipped on the re-run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from annotate.models import NeuronImage, Study
from evaluation.models import ACTIVE_STATUSES, EvaluationRun, Judgment, Rater, RunChunk, RunStatus
from evaluation.rater_configs import rater_site
from evaluation.raters.base import Pair, PairRater, PairVerdict, RaterContext, StageTimer
from evaluation.raters.registry import build_rater, is_automatic
from evaluation.sources import DatabaseVectorCache, StorageImageSource

log = logging.getLogger(__name__)

# Built raters, kept per worker process: a model loads once, not once per chunk.
_RATERS: dict[tuple[str, str, str], PairRater] = {}


class RunConflict(ValueError):
    """A run of this rater on this study is already queued or running."""


@dataclass(frozen=True)
class ChunkResult:
    chunk_id: int
    claimed: bool
    rated: int = 0
    cancelled: bool = False
    finished_study: int | None = None  # set for the one chunk whose end finished its run


def study_pairs(study: Study):
    return NeuronImage.objects.filter(neuron__study=study)


def do_create_run(
    study: Study, rater: Rater, options: dict | None = None, user=None
) -> EvaluationRun:
    if not is_automatic(rater.kind):
        raise ValueError(f"{rater.name} is not an automatic rater")
    try:
        with transaction.atomic():
            return EvaluationRun.objects.create(
                study=study,
                rater=rater,
                options=options or {},
                created_by=user,
                total_pairs=study_pairs(study).count(),
            )
    except IntegrityError:
        raise RunConflict(
            f"{rater.name} already has a queued or running run on {study.name}"
        ) from None


def do_plan_run(run_id: int, chunk_pairs: int | None = None) -> list[int]:
    """Split the run into chunks of about `chunk_pairs` pairs by neuron id; idempotent."""
    run = EvaluationRun.objects.get(pk=run_id)
    existing = list(run.chunks.order_by("index").values_list("id", flat=True))
    if existing or not run.is_active:
        return existing
    size = chunk_pairs or run.options.get("chunk_pairs") or settings.NEURONJUDGE_CHUNK_PAIRS
    per_neuron = (
        study_pairs(run.study).values("neuron_id").annotate(n=Count("id")).order_by("neuron_id")
    )
    chunks: list[RunChunk] = []
    first = last = None
    pairs = 0
    for row in per_neuron.iterator(chunk_size=10000):
        first = row["neuron_id"] if first is None else first
        last, pairs = row["neuron_id"], pairs + row["n"]
        if pairs >= size:
            chunks.append(
                RunChunk(
                    run=run,
                    index=len(chunks),
                    first_neuron_id=first,
                    last_neuron_id=last,
                    pairs=pairs,
                )
            )
            first, pairs = None, 0
    if first is not None:
        chunks.append(
            RunChunk(
                run=run, index=len(chunks), first_neuron_id=first, last_neuron_id=last, pairs=pairs
            )
        )
    with transaction.atomic():
        RunChunk.objects.bulk_create(chunks, ignore_conflicts=True)
        EvaluationRun.objects.filter(pk=run.pk).update(total_pairs=sum(c.pairs for c in chunks))
    return list(run.chunks.order_by("index").values_list("id", flat=True))


def _claim(chunk_id: int, worker: str) -> bool:
    stale = timezone.now() - timedelta(seconds=settings.NEURONJUDGE_STALE_CHUNK_SECONDS)
    claimable = Q(status=RunChunk.Status.PENDING) | Q(
        status=RunChunk.Status.RUNNING, heartbeat__lt=stale
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


def _run_is_cancelled(run_id: int) -> bool:
    return EvaluationRun.objects.filter(pk=run_id, status=RunStatus.CANCELLED).exists()


def do_rate_chunk(
    chunk_id: int, worker: str, on_progress: Callable[[dict], None] | None = None
) -> ChunkResult:
    """Claim one chunk and rate its pairs not judged yet. Safe to call again after a crash."""
    if not _claim(chunk_id, worker):
        return ChunkResult(chunk_id, claimed=False)
    chunk = RunChunk.objects.select_related("run__rater", "run__study__concept_set").get(
        pk=chunk_id
    )
    run = chunk.run
    timer = StageTimer()
    started = time.perf_counter()
    rated = 0
    try:
        rater = _rater_for(run, timer)
        concept_set = run.study.concept_set
        context = RaterContext(
            images=StorageImageSource(),
            timer=timer,
            cache=DatabaseVectorCache(),
            concepts=concept_set.concepts if concept_set else None,
            device=run.options.get("device") or settings.NEURONJUDGE_DEVICE,
            batch_size=run.options.get("batch_size"),
        )
        with timer.stage("query"):
            pairs = _pending_pairs(chunk)
        step = int(run.options.get("store_every") or 1024)
        for start in range(0, len(pairs), step):
            if _run_is_cancelled(run.pk):
                return ChunkResult(chunk_id, claimed=True, rated=rated, cancelled=True)
            verdicts = rater.rate(pairs[start : start + step], context)
            with timer.stage("store"):
                stored = _store(run.rater_id, verdicts)
            rated += stored
            EvaluationRun.objects.filter(pk=run.pk).update(done_pairs=F("done_pairs") + stored)
            RunChunk.objects.filter(pk=chunk_id).update(heartbeat=timezone.now())
            if on_progress:
                on_progress({"run": run.pk, "chunk": chunk_id, "rated": rated, "of": len(pairs)})
    except Exception as exc:
        _fail(chunk, exc)
        raise
    RunChunk.objects.filter(pk=chunk_id).update(
        status=RunChunk.Status.DONE,
        heartbeat=timezone.now(),
        seconds=time.perf_counter() - started,
        stage_seconds=timer.as_dict(),
    )
    if context.notes:
        _merge_notes(run.pk, context.notes)
    finished = _finish_if_complete(run.pk)
    return ChunkResult(
        chunk_id, claimed=True, rated=rated, finished_study=run.study_id if finished else None
    )


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


def _finish_if_complete(run_id: int) -> bool:
    """Mark the run done once every chunk is; True for the one caller that did it."""
    if RunChunk.objects.filter(run_id=run_id).exclude(status=RunChunk.Status.DONE).exists():
        return False
    run = EvaluationRun.objects.get(pk=run_id)
    done = Judgment.objects.filter(rater_id=run.rater_id, study_id=run.study_id).count()
    stages: dict[str, float] = {}
    for chunk_stages in run.chunks.values_list("stage_seconds", flat=True):
        for name, seconds in chunk_stages.items():
            stages[name] = round(stages.get(name, 0.0) + seconds, 4)
    span = run.chunks.aggregate(first=Min("heartbeat"), last=Max("heartbeat"))
    now = timezone.now()
    finished = EvaluationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.DONE,
        finished_at=now,
        done_pairs=done,
        stage_seconds=stages,
        wall_seconds=(now - (run.started_at or span["first"] or now)).total_seconds(),
    )
    return bool(finished)


def do_cancel_run(run_id: int) -> bool:
    cancelled = EvaluationRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now()
    )
    return bool(cancelled)


def run_is_planned(run_id: int) -> bool:
    return RunChunk.objects.filter(run_id=run_id).exists()


def do_resume_run(run_id: int) -> list[int]:
    """Put a failed or cancelled run back in the queue; pairs already judged are kept."""
    EvaluationRun.objects.filter(
        pk=run_id, status__in=[RunStatus.FAILED, RunStatus.CANCELLED]
    ).update(status=RunStatus.QUEUED, error="", finished_at=None)
    RunChunk.objects.filter(run_id=run_id).exclude(status=RunChunk.Status.DONE).update(
        status=RunChunk.Status.PENDING
    )
    return unfinished_chunk_ids(run_id)


def unfinished_chunk_ids(run_id: int) -> list[int]:
    return list(
        RunChunk.objects.filter(run_id=run_id, run__status__in=ACTIVE_STATUSES)
        .exclude(status=RunChunk.Status.DONE)
        .values_list("id", flat=True)
    )


def stale_chunk_ids(dead_worker: str | None = None) -> list[int]:
    """Running chunks whose worker stopped reporting (or is known dead): to be re-queued."""
    stale = timezone.now() - timedelta(seconds=settings.NEURONJUDGE_STALE_CHUNK_SECONDS)
    dead = Q(heartbeat__lt=stale)
    if dead_worker:
        dead |= Q(worker=dead_worker)
    chunks = RunChunk.objects.filter(
        dead, status=RunChunk.Status.RUNNING, run__status__in=ACTIVE_STATUSES
    )
    ids = list(chunks.values_list("id", flat=True))
    RunChunk.objects.filter(pk__in=ids).update(status=RunChunk.Status.PENDING)
    return ids
