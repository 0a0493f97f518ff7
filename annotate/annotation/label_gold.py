"""Gold units of the neuron-level questions, checked against the gold answers staff gave
their images (`do_make_gold_units`): a label whose images are all "yes" should be rated 4 or
more, and chosen in a best-of unit; one whose images are all "no" rated 2 or less (or marked
uninterpretable); a best-of unit none of whose labels fits should be answered "none fits".
Gold with mixed image answers checks nothing here.
"""

from collections import defaultdict

from annotate.models import GoldAnswer, Study, Unit
from evaluation.models import LabelJudgment, Rater


def known_labels(study: Study) -> dict[int, str]:
    """Neuron id -> "yes" or "no" for neurons whose gold images all have that answer."""
    answers = defaultdict(set)
    rows = GoldAnswer.objects.filter(
        neuron_image__neuron__study=study, neuron_image__is_distractor=False
    ).values_list("neuron_image__neuron_id", "answer")
    for neuron, answer in rows:
        answers[neuron].add(answer)
    return {neuron: seen.pop() for neuron, seen in answers.items() if len(seen) == 1}


def rating_is_right(judgment: LabelJudgment, known: str) -> bool:
    if known == "yes":
        return (judgment.rating or 0) >= 4
    return judgment.uninterpretable or (judgment.rating or 6) <= 2


def choice_is_right(judgment: LabelJudgment, labels: dict[int, str]) -> bool | None:
    fitting = {neuron for neuron, known in labels.items() if known == "yes"}
    if fitting:
        return judgment.chosen_id in fitting
    if labels and set(labels.values()) == {"no"}:
        return judgment.none_fits
    return None


def label_gold_tally(study: Study) -> dict[int, tuple[int, int]]:
    """Per human rater: (right answers, answers) on gold units of a neuron-level study."""
    gold = Unit.objects.filter(study=study, is_gold=True).values_list(
        "neuron__layer", "neuron__unit"
    )
    if study.question_type == Study.QuestionType.PAIR_YES_NO or not gold:
        return {}
    known = known_labels(study)
    by_unit = defaultdict(dict)
    for neuron in study.neurons.filter(pk__in=list(known)).values("pk", "layer", "unit"):
        by_unit[(neuron["layer"], neuron["unit"])][neuron["pk"]] = known[neuron["pk"]]
    tally: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    judgments = LabelJudgment.objects.filter(
        study=study, rater__kind=Rater.Kind.HUMAN, question=study.question_type
    )
    gold_keys = set(gold)
    for judgment in judgments.filter(neuron__annotation_unit__is_gold=True):
        if judgment.question == LabelJudgment.Question.LABEL_RATING:
            right = (
                rating_is_right(judgment, known[judgment.neuron_id])
                if (judgment.neuron_id in known)
                else None
            )
        elif (judgment.layer, judgment.unit) in gold_keys:
            right = choice_is_right(judgment, by_unit.get((judgment.layer, judgment.unit), {}))
        else:
            right = None
        if right is not None:
            tally[judgment.rater_id][0] += int(right)
            tally[judgment.rater_id][1] += 1
    return {rater: (right, total) for rater, (right, total) in tally.items()}
