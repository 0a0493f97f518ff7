"""Gold checks: units with known answers, distractor images, and per-annotator accuracy.

Judgments of annotators under the bar are kept; the report leaves them out of its human
consensus by default (`evaluation.reports.compute.left_out`, from `gold_tally`).
"""

import random
from collections.abc import Mapping

from django.db import transaction
from django.db.models import Case, Count, F, Max, Q, Value, When

from annotate.annotation.label_gold import label_gold_tally
from annotate.annotation.members import settings_for
from annotate.annotation.units import asks_per_unit, do_sync_units
from annotate.models import TOP_K, GoldAnswer, Neuron, NeuronImage, Study, Unit
from evaluation.models import Judgment, Rater, Verdict


class GoldError(ValueError):
    pass


def known_pair_judgments(study: Study):
    """Human yes/no judgments on pairs with a known answer (gold images and distractors)."""
    return Judgment.objects.filter(
        Q(neuron_image__is_distractor=True) | Q(neuron_image__gold_answer__isnull=False),
        rater__kind=Rater.Kind.HUMAN,
        study=study,
        verdict__in=[Verdict.YES, Verdict.NO],
    ).annotate(
        expected=Case(
            When(neuron_image__is_distractor=True, then=Value(Verdict.NO.value)),
            default=F("neuron_image__gold_answer__answer"),
        )
    )


def gold_tally(study: Study) -> dict[int, tuple[int, int]]:
    """Per human rater: (right answers, answers) on known pairs, or on the gold units of a
    neuron-level study (annotate.annotation.label_gold)."""
    if study.question_type != Study.QuestionType.PAIR_YES_NO:
        return label_gold_tally(study)
    rows = (
        known_pair_judgments(study)
        .values("rater_id")
        .annotate(right=Count("id", filter=Q(verdict=F("expected"))), total=Count("id"))
    )
    return {row["rater_id"]: (row["right"], row["total"]) for row in rows}


def gold_accuracy(study: Study) -> dict[int, float]:
    """Share of yes/no answers on known pairs (gold images, distractors) that were right."""
    return {rater_id: right / total for rater_id, (right, total) in gold_tally(study).items()}


def excluded_rater_ids(study: Study, min_accuracy: float | None = None) -> set[int]:
    """Human raters whose gold accuracy is under `min_accuracy` (default: the study's bar).

    Raters who answered no known pair are kept.
    """
    if min_accuracy is None:
        min_accuracy = settings_for(study).min_gold_accuracy
    return {rid for rid, acc in gold_accuracy(study).items() if acc < min_accuracy}


def check_gold_answer(value) -> str | dict:
    if isinstance(value, bool):
        return Verdict.YES if value else Verdict.NO
    if value in (Verdict.YES, Verdict.NO):
        return str(value)
    if isinstance(value, Mapping):
        return {int(rank): check_gold_answer(v) for rank, v in value.items()}
    raise GoldError(f"A gold answer must be yes/no, a bool or {{rank: yes/no}}, not {value!r}.")


def resolve_neuron(study: Study, key) -> Neuron:
    """A neuron by id, or by (layer, unit) as an import names it."""
    query = Neuron.objects.filter(study=study, role=Neuron.Role.REAL)
    neuron = (
        query.filter(layer=key[0], unit=key[1]).first()
        if isinstance(key, tuple)
        else query.filter(pk=key).first()
    )
    if neuron is None:
        raise GoldError(f"No real neuron {key!r} in study {study.name!r}.")
    return neuron


def do_make_gold_units(study: Study, answers: Mapping) -> int:
    """Mark neurons as gold units with known answers; returns how many.

    `answers` maps a neuron (id, or (layer, unit)) to its answer for every image: a bool
    (is the label right?), "yes"/"no", or {rank: "yes"/"no"} image by image. In a best-of
    study the unit of the neuron's (layer, unit) becomes gold, whichever label set's neuron
    is named. Everything is checked before anything is written.
    """
    plan = [(resolve_neuron(study, key), check_gold_answer(v)) for key, v in answers.items()]
    do_sync_units(study)
    with transaction.atomic():
        for neuron, answer in plan:
            for ni in neuron.images.filter(TOP_K):
                verdict = answer.get(ni.rank) if isinstance(answer, dict) else answer
                if verdict is None:
                    raise GoldError(f"No gold answer for {neuron} image rank {ni.rank}.")
                GoldAnswer.objects.update_or_create(neuron_image=ni, defaults={"answer": verdict})
        neurons = [n for n, _ in plan]
        if asks_per_unit(study):
            keys = Q(pk__in=[])
            for n in neurons:
                keys |= Q(neuron__layer=n.layer, neuron__unit=n.unit)
            Unit.objects.filter(keys, study=study).update(is_gold=True)
        else:
            Unit.objects.filter(neuron__in=neurons).update(is_gold=True)
    return len(plan)


def do_add_distractors(study: Study, share: float, seed: int = 0) -> int:
    """Slip one image of an unrelated neuron (another label) into `share` of the units.

    Only units nobody has started get one, so every annotator of a unit sees the same images.
    Returns how many distractors were added.
    """
    if not 0 <= share <= 1:
        raise GoldError("share must be between 0 and 1.")
    if study.question_type != Study.QuestionType.PAIR_YES_NO:
        raise GoldError(
            "Distractor images are for yes/no studies: a label rated or chosen with its images "
            "shown together has no per-image answer to check. Use gold units instead."
        )
    do_sync_units(study)
    rng = random.Random(seed)
    candidates = list(
        Unit.objects.filter(study=study, claimed=0, done=0, is_gold=False)
        .exclude(neuron__images__is_distractor=True)
        .values_list("neuron_id", flat=True)
        .order_by("neuron_id")
    )
    chosen = rng.sample(candidates, round(share * len(candidates)))
    pool = list(
        NeuronImage.objects.filter(
            TOP_K, neuron__study=study, neuron__role=Neuron.Role.REAL
        ).values_list("neuron_id", "neuron__label", "image_id")
    )
    added = 0
    with transaction.atomic():
        for neuron_id in chosen:
            neuron = Neuron.objects.get(pk=neuron_id)
            own = set(neuron.images.values_list("image_id", flat=True))
            tries = (rng.choice(pool) for _ in range(50)) if pool else iter(())
            pick = next((p for p in tries if p[1] != neuron.label and p[2] not in own), None)
            if pick is None:
                continue
            last = neuron.images.aggregate(m=Max("rank"))["m"] or 0
            NeuronImage.objects.create(
                neuron=neuron, image_id=pick[2], rank=last + 1, is_distractor=True
            )
            added += 1
    return added
