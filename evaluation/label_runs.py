"""Runs of a label-rating kind: what they rate and how their ratings are stored.

`evaluation.run_actions` plans and `evaluation.runs` rates a chunk through these functions
when the run's kind answers `label_rating`; claiming, cancelling, progress, stage times and
notes are the pair runs' own. A rated item is a label: a real Neuron row of the study with
its top images (`TOP_K`, in rank order, at most the study's k) shown together. A chunk is a
range of neuron ids, as for pairs; ratings go in with ON CONFLICT DO NOTHING against the
unique (rater, neuron) rating, so a re-run skips what is stored and never doubles it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from annotate.models import TOP_K, Neuron, NeuronImage, Study
from evaluation.models import EvaluationRun, LabelJudgment, Rater, RunChunk
from evaluation.rater_configs import rater_site
from evaluation.raters.base import LabelItem, LabelRater, LabelRating, StageTimer
from evaluation.raters.registry import LABEL_RATING, RATER_KINDS, build_label_rater

PAIRS_PER_STORE = 1024  # the pair runs' default `store_every`

# Built label raters, kept per worker process like `evaluation.runs._RATERS`.
_LABEL_RATERS: dict[tuple[str, str, str], LabelRater] = {}


def rates_labels(rater: Rater) -> bool:
    """Whether a run of this rater rates labels (its kind answers label_rating)."""
    entry = RATER_KINDS.get(rater.kind)
    return entry is not None and entry.question == LABEL_RATING


def study_labels(study: Study) -> QuerySet[Neuron]:
    """The labels a run rates: the study's real neurons that have top images."""
    shown = NeuronImage.objects.filter(TOP_K, neuron=OuterRef("pk"))
    return Neuron.objects.filter(Exists(shown), study=study, role=Neuron.Role.REAL)


def labels_per_neuron(study: Study) -> Iterator[dict[str, int]]:
    """Planning rows like the pair runs' (neuron id, items): one label per neuron."""
    ids = study_labels(study).order_by("pk").values_list("pk", flat=True)
    for neuron_id in ids.iterator(chunk_size=10000):
        yield {"neuron_id": neuron_id, "n": 1}


def chunk_labels(run: EvaluationRun, chunk_pairs: int | None = None) -> int:
    """Labels per chunk: as asked, else the pair default over k, so that a chunk shows the
    model about as many images as a pair run's chunk does."""
    asked = chunk_pairs or run.options.get("chunk_pairs")
    return int(asked or max(1, settings.NEURONJUDGE_CHUNK_PAIRS // run.study.k))


def store_every(run: EvaluationRun) -> int:
    """Labels rated between stores (and cancel checks, progress reports), same reasoning."""
    return int(run.options.get("store_every") or max(1, PAIRS_PER_STORE // run.study.k))


def pending_labels(chunk: RunChunk) -> list[LabelItem]:
    """The chunk's labels this rater has not rated yet, each with its top images in rank
    order; labels of one unit (same images, other label sets) next to each other."""
    run = chunk.run
    rated = LabelJudgment.objects.filter(
        rater_id=run.rater_id, neuron=OuterRef("pk"), question=LabelJudgment.Question.LABEL_RATING
    )
    labels = list(
        study_labels(run.study)
        .filter(pk__gte=chunk.first_neuron_id, pk__lte=chunk.last_neuron_id)
        .exclude(Exists(rated))
        .order_by("layer", "unit", "pk")
        .values_list("pk", "label")
    )
    images: dict[int, list[str]] = {pk: [] for pk, _ in labels}
    shown = (
        NeuronImage.objects.filter(TOP_K, neuron_id__in=list(images))
        .order_by("neuron_id", "rank")
        .values_list("neuron_id", "image__sha256")
    )
    for neuron_id, sha in shown:
        images[neuron_id].append(sha)
    k = run.study.k
    return [LabelItem(pk, pk, label, tuple(images[pk][:k])) for pk, label in labels]


def label_rater_for(run: EvaluationRun, timer: StageTimer) -> LabelRater:
    device = run.options.get("device") or settings.NEURONJUDGE_DEVICE
    key = (run.rater.kind, run.rater.params_sha256, device)
    if key not in _LABEL_RATERS:
        with timer.stage("load"):
            _LABEL_RATERS[key] = build_label_rater(
                run.rater.kind, run.rater.params, device, rater_site()
            )
    return _LABEL_RATERS[key]


def stored_rating(expected: float | None) -> int | None:
    """The 1-5 rating stored for an expected value: rounded half up (2.5 -> 3), as the
    ordinal statistics need whole ratings; the exact value stays in the judgment's extra."""
    return None if expected is None else int(math.floor(expected + 0.5))


def judgment_extra(rating: LabelRating) -> dict[str, Any]:
    extra = {
        **rating.extra,
        "expected_rating": rating.rating,
        "answer": rating.answer,
        "prompt": rating.prompt,
        "verdict": rating.verdict,
    }
    if rating.unparseable:
        extra["unparseable"] = True
    return extra


def store_ratings(rater_id: int, ratings: Sequence[LabelRating]) -> int:
    """Insert the ratings not stored yet; how many were new."""
    rows = [
        LabelJudgment(
            rater_id=rater_id,
            neuron_id=r.item_id,
            question=LabelJudgment.Question.LABEL_RATING,
            rating=stored_rating(r.rating),
            unparseable=r.unparseable,
            extra=judgment_extra(r),
        )
        for r in ratings
    ]
    mine = LabelJudgment.objects.filter(
        rater_id=rater_id, question=LabelJudgment.Question.LABEL_RATING
    )
    before = mine.filter(neuron_id__in=[r.item_id for r in ratings]).count()
    LabelJudgment.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows) - before


def rated_labels(run: EvaluationRun) -> int:
    """The labels of the run's study its rater has rated, for the finished run's count."""
    return LabelJudgment.objects.filter(
        rater_id=run.rater_id, study_id=run.study_id, question=LabelJudgment.Question.LABEL_RATING
    ).count()
