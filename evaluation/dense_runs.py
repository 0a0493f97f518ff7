"""Dense chunks of a run: an OpenCLIP rater's score of each neuron's label on every image
of the study's probe set, stored as one DenseRating array per (rater, neuron).

A run started with the option `dense` gets, besides (or, with `pairs` false, instead of)
its pair chunks, chunks of up to NEURONJUDGE_DENSE_CHUNK_NEURONS neurons by id, claimed,
retried and resumed like the others. Each worker embeds the probe set's images once (the
shared cache keeps them for every later chunk, label and run; a worker keeps the matrix
in memory between chunks), then scores the chunk's labels a batch at a time; rows are
inserted with ON CONFLICT DO NOTHING, and neurons already scored are skipped on a re-run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from annotate.models import Neuron, ProbeSet, ProbeSetImage, Study
from evaluation.models import DenseRating, EvaluationRun, Rater, RunChunk, RunStatus
from evaluation.raters.base import DenseRater, RaterContext
from evaluation.raters.registry import rater_kind

# Probe neurons whose whole-probe scores mean something: a control-images probe is its
# source's label on its source's unit, so it would repeat the real neuron's scores.
DENSE_ROLES = (Neuron.Role.REAL, Neuron.Role.GENERIC_LABEL, Neuron.Role.SHUFFLED_LABEL)
STORE_NEURONS = 64  # labels scored and stored together: 64 x 63,305 float32 is 16 MB

# One probe set's image vectors per worker process: (model key, probe set, its hash) -> matrix.
_PROBE_IMAGES: dict[tuple[str, int, str], np.ndarray] = {}


class DenseRefused(ValueError):
    """The run cannot score the whole probe set; the message says why."""


def wants_dense(options: dict) -> bool:
    return options.get("dense") is True


def wants_pairs(options: dict) -> bool:
    return options.get("pairs", True) is not False


def dense_neurons(study: Study):
    """The neurons a dense run scores: real ones and generic/shuffled-label probes, labelled."""
    return Neuron.objects.filter(study=study, role__in=DENSE_ROLES).exclude(label="")


def check_dense_options(study: Study, rater: Rater, options: dict) -> None:
    for name in ("dense", "pairs"):
        if name in options and not isinstance(options[name], bool):
            raise DenseRefused(f"option {name} must be true or false")
    if not wants_pairs(options) and not wants_dense(options):
        raise DenseRefused("pairs false and no dense: the run would rate nothing")
    if not wants_dense(options):
        return
    if not rater_kind(rater.kind).scores_probe_set:
        raise DenseRefused(
            f"{rater.name} rates sampled images only; whole-probe-set (dense) ratings are "
            "made by the OpenCLIP raters (embedding similarity, concept proportion)"
        )
    if study.probe_set_id is None:
        raise DenseRefused(
            f"{study.name} has no probe set to score: import it with import_probe_set and "
            "its activations with import_activations first"
        )
    if not dense_neurons(study).exists():
        raise DenseRefused(f"{study.name} has no labelled neurons to score on its probe set")


def dense_total(study: Study) -> int:
    """Scores a dense run of the study makes: labelled neurons x probe-set images."""
    return dense_neurons(study).count() * study.probe_set.size


def plan_dense_chunks(run: EvaluationRun, first_index: int) -> list[RunChunk]:
    size = int(run.options.get("dense_neurons") or settings.NEURONJUDGE_DENSE_CHUNK_NEURONS)
    n_images = run.study.probe_set.size
    ids = list(dense_neurons(run.study).order_by("pk").values_list("pk", flat=True))
    return [
        RunChunk(
            run=run,
            index=first_index + i,
            kind=RunChunk.Kind.DENSE,
            first_neuron_id=block[0],
            last_neuron_id=block[-1],
            pairs=len(block) * n_images,
        )  # fmt: skip
        for i, block in enumerate(_batched(ids, size))
    ]


def dense_done(run: EvaluationRun) -> int:
    """Scores stored for the run's study by its rater (neurons x images)."""
    rows = DenseRating.objects.filter(rater_id=run.rater_id, neuron__study_id=run.study_id)
    return rows.count() * (run.study.probe_set.size if run.study.probe_set_id else 0)


def _batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rate_dense_chunk(
    chunk: RunChunk,
    rater: DenseRater,
    context: RaterContext,
    on_progress: Callable[[dict], None] | None = None,
) -> tuple[int, bool]:
    """Score the chunk's neurons not scored yet; (scores stored, cancelled)."""
    run = chunk.run
    with context.timer.stage("query"):
        neurons = list(
            dense_neurons(run.study)
            .filter(pk__gte=chunk.first_neuron_id, pk__lte=chunk.last_neuron_id)
            .exclude(dense_ratings__rater_id=run.rater_id)
            .order_by("pk")
            .values_list("pk", "label")
        )
    if not neurons:
        return 0, False
    images = _probe_images(rater, run.study.probe_set, context, _start_fraction(chunk))
    rated = 0
    for block in _batched(neurons, STORE_NEURONS):
        if EvaluationRun.objects.filter(pk=run.pk, status=RunStatus.CANCELLED).exists():
            return rated, True
        scores = rater.score_probe_set([label for _, label in block], images, context)
        with context.timer.stage("store"):
            stored = _store(run.rater_id, [pk for pk, _ in block], scores, rater.dense_dtype)
        rated += stored * len(images)
        EvaluationRun.objects.filter(pk=run.pk).update(
            done_pairs=F("done_pairs") + stored * len(images)
        )
        RunChunk.objects.filter(pk=chunk.pk).update(heartbeat=timezone.now())
        if on_progress:
            on_progress({"run": run.pk, "chunk": chunk.pk, "rated": rated, "of": chunk.pairs})
    return rated, False


def _start_fraction(chunk: RunChunk) -> float:
    """Where in the probe set this chunk starts embedding: evenly spread over the run's
    dense chunks, so workers that start together embed different images."""
    dense = RunChunk.objects.filter(run_id=chunk.run_id, kind=RunChunk.Kind.DENSE)
    return dense.filter(index__lt=chunk.index).count() / max(1, dense.count())


def _probe_images(
    rater: DenseRater, probe_set: ProbeSet, context: RaterContext, start: float
) -> np.ndarray:
    key = (rater.image_model_key, probe_set.pk, probe_set.sha256)
    if key not in _PROBE_IMAGES:
        with context.timer.stage("query"):
            rows = list(
                ProbeSetImage.objects.filter(probe_set=probe_set)
                .order_by("index")
                .values_list("image__sha256", "image__file")
                .iterator(chunk_size=20000)
            )
        remember = getattr(context.images, "remember", None)
        if remember is not None:
            remember(dict(rows))
        shas = [sha for sha, _ in rows]
        _PROBE_IMAGES.clear()  # one probe set at a time: a worker's memory stays bounded
        _PROBE_IMAGES[key] = rater.embed_probe_set(shas, context, int(start * len(shas)))
    return _PROBE_IMAGES[key]


def _store(rater_id: int, neuron_ids: list[int], scores: np.ndarray, dtype: str) -> int:
    little = np.dtype(dtype).newbyteorder("<")
    rows = [
        DenseRating(
            rater_id=rater_id,
            neuron_id=pk,
            dtype=dtype,
            n_images=row.size,
            scores=np.ascontiguousarray(row, dtype=little).tobytes(),
        )  # fmt: skip
        for pk, row in zip(neuron_ids, scores, strict=True)
    ]
    before = DenseRating.objects.filter(rater_id=rater_id, neuron_id__in=neuron_ids).count()
    DenseRating.objects.bulk_create(rows, batch_size=STORE_NEURONS, ignore_conflicts=True)
    return len(rows) - before
