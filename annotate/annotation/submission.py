"""Storing an annotator's answers to a unit: once per client-made id, never half, undoable."""

import json
import uuid
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotate.annotation.assignment import for_question, lease_expiry, shown_unit
from annotate.annotation.image_ids import image_id, pair_lookup
from annotate.annotation.members import human_rater
from annotate.annotation.questions import (
    NEURON_LEVEL,
    AnswerError,
    check_label_answer,
    shown_answer,
)
from annotate.models import Assignment, Study, Submission
from evaluation.models import Judgment, LabelJudgment, Verdict

HUMAN_VERDICTS = (Verdict.YES, Verdict.NO, Verdict.SKIP, Verdict.UNCLEAR)
MAX_MS_SPENT = 24 * 3600 * 1000


class SubmissionError(ValueError):
    """Bad input: nothing was stored."""


class SubmissionConflict(SubmissionError):
    """The unit was answered already, or the client id belongs to another submission."""


def undo_seconds() -> int:
    return settings.NEURONJUDGE_UNDO_SECONDS


def check_client_id(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise SubmissionError("client_id must be a UUID made by the client.") from None


def check_answers(lookup: dict[str, int], answers, order_shown, ms_spent) -> tuple[dict, list, int]:
    """Answers for exactly the unit's images, an order that lists each image once, a duration.

    `lookup` maps the ids the annotator was shown to the unit's pair ids; the answers and
    order come back keyed by pair id.
    """
    if not isinstance(answers, dict) or not isinstance(order_shown, list | tuple):
        raise SubmissionError("answers must map image id to a verdict; order_shown list ids.")
    order, ms = check_shown(lookup, order_shown, ms_spent)
    pairs = set(lookup.values())
    given = len(answers)
    answers = {lookup.get(str(k)): v for k, v in answers.items()}
    if None in answers or set(answers) != pairs or given != len(pairs):
        raise SubmissionError("answers must cover each image of the unit exactly once.")
    bad = sorted({str(v) for v in answers.values() if v not in HUMAN_VERDICTS})
    if bad:
        raise SubmissionError(f"Unknown verdicts {bad}; use one of {list(HUMAN_VERDICTS)}.")
    return answers, order, ms


def check_shown(lookup: dict[str, int], order_shown, ms_spent) -> tuple[list, int]:
    """An order that lists each image of the unit once (as pair ids), and a duration."""
    if not isinstance(order_shown, list | tuple):
        raise SubmissionError("order_shown must list the image ids in the order shown.")
    try:
        ms = int(ms_spent)
    except (TypeError, ValueError):
        raise SubmissionError("ms_spent must be an integer.") from None
    order = [lookup.get(str(i)) for i in order_shown]
    if sorted(order, key=str) != sorted(set(lookup.values()), key=str):
        raise SubmissionError("order_shown must list each image of the unit once.")
    if not 0 <= ms <= MAX_MS_SPENT:
        raise SubmissionError("ms_spent must be between 0 and 24 hours.")
    return order, ms


def submission_payload(sub: Submission) -> dict:
    """The response to a submission; the same every time the same client id is sent."""
    return {
        "client_id": str(sub.client_id),
        "neuron": sub.neuron_id,
        "stored": sub.created.isoformat(),
    }


def existing_submission(client_id: uuid.UUID, user, neuron_id: int) -> dict | None:
    sub = Submission.objects.filter(client_id=client_id).first()
    if sub is None:
        return None
    if sub.annotator_id != user.pk or sub.neuron_id != int(neuron_id):
        raise SubmissionConflict("This client_id belongs to another submission.")
    return submission_payload(sub)


LEASE_SQL = """
SELECT a.id,
       ARRAY(SELECT ni.id FROM annotate_neuronimage ni WHERE ni.neuron_id = a.unit_id),
       (SELECT r.id FROM evaluation_rater r WHERE r.user_id = a.annotator_id)
FROM annotate_assignment a
WHERE a.annotator_id = %(user)s AND a.study_id = %(study)s AND a.unit_id = %(neuron)s
"""

PAIR_JUDGED = """
    INSERT INTO evaluation_judgment
        (rater_id, neuron_image_id, verdict, extra, submission, created)
    SELECT %(rater)s, x.ni, x.verdict, jsonb_build_object('position', x.pos), %(client_id)s,
           sub.created
    FROM sub, unnest(%(images)s::bigint[], %(verdicts)s::text[], %(positions)s::int[])
         AS x(ni, verdict, pos)
"""
# Study, layer and unit are filled in by the table's trigger (evaluation/0004).
LABEL_JUDGED = """
    INSERT INTO evaluation_labeljudgment
        (rater_id, neuron_id, question, layer, rating, uninterpretable, none_fits, chosen_id,
         extra, submission, created)
    SELECT %(rater)s, %(neuron)s, %(question)s, '', %(rating)s, %(uninterpretable)s,
           %(none_fits)s, %(chosen)s, %(extra)s::jsonb, %(client_id)s, sub.created
    FROM sub
"""
# One statement, so atomic without a transaction round trip: the submission row (skipped on a
# repeated client id or a second answer to the unit), its judgments, the lease closed and the
# unit's counters. An expired lease had given its claim back, so it takes it again.
WRITE_SQL = """
WITH sub AS (
    INSERT INTO annotate_submission
        (client_id, study_id, annotator_id, neuron_id, order_shown, ms_spent, created)
    VALUES (%(client_id)s, %(study)s, %(user)s, %(neuron)s, %(order)s, %(ms)s, now())
    ON CONFLICT DO NOTHING
    RETURNING created
), judged AS ({judged}), lease AS (
    SELECT a.id, a.state, a.is_gold FROM annotate_assignment a, sub
    WHERE a.annotator_id = %(user)s AND a.unit_id = %(neuron)s
    FOR UPDATE OF a
), closed AS (
    UPDATE annotate_assignment a SET state = 'done' FROM lease WHERE a.id = lease.id
)
UPDATE annotate_unit u
SET done = u.done + 1,
    claimed = u.claimed + CASE WHEN lease.state = 'expired' THEN 1 ELSE 0 END
FROM lease WHERE u.neuron_id = %(neuron)s
RETURNING (SELECT created FROM sub)
"""


def do_submit_unit(
    user,
    study: Study,
    *,
    client_id,
    neuron_id,
    order_shown,
    ms_spent,
    answers=None,
    label_answer: dict | None = None,
) -> dict:
    """Store one unit's answers as the annotator's judgments; a repeated client id is a no-op.

    `answers` (image id -> verdict) answer a yes/no study; `label_answer` a neuron-level one:
    {"rating", "uninterpretable"} or {"chosen" (a label's opaque id), "none_fits"}. The unit
    must have been given to the annotator (a lease, even an expired one). Two round trips
    (three for best-of): this runs for every unit every annotator answers.
    """
    client_id = check_client_id(client_id)
    try:
        neuron_id = int(neuron_id)
    except (TypeError, ValueError):
        raise SubmissionError("neuron must be an integer id.") from None
    params = {"user": user.pk, "study": study.pk, "neuron": neuron_id, "client_id": client_id}
    with connection.cursor() as cursor:
        cursor.execute(LEASE_SQL, params)
        lease = cursor.fetchone()
    if lease is None:
        raise SubmissionError("This unit was not given to you.")
    lease_id, pair_ids, rater_id = lease
    lookup = pair_lookup(lease_id, pair_ids)
    if study.question_type in NEURON_LEVEL:
        judged = LABEL_JUDGED
        params |= label_params(study, lease_id, neuron_id, label_answer or {})
        order, ms = check_shown(lookup, order_shown, ms_spent)
    else:
        judged = PAIR_JUDGED
        answers, order, ms = check_answers(lookup, answers, order_shown, ms_spent)
        images = list(answers)
        params |= {
            "images": images,
            "verdicts": [str(answers[i]) for i in images],
            "positions": [order.index(i) + 1 for i in images],
        }
    params |= {"order": order, "ms": ms, "rater": rater_id or human_rater(user).pk}
    # Inside a caller's transaction a savepoint keeps it usable after a conflict.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with savepoint, connection.cursor() as cursor:
            cursor.execute(WRITE_SQL.format(judged=judged), params)
            stored = cursor.fetchone()
    except IntegrityError:  # judgments of these pairs exist from elsewhere
        raise SubmissionConflict("You have answered this unit already.") from None
    if stored is None:
        repeated = existing_submission(client_id, user, neuron_id)
        if repeated is not None:
            return repeated
        raise SubmissionConflict("You have answered this unit already.")
    return {"client_id": str(client_id), "neuron": neuron_id, "stored": stored[0].isoformat()}


def label_params(study: Study, lease_id: int, neuron_id: int, answer: dict) -> dict:
    try:
        fields = check_label_answer(study, lease_id, neuron_id, answer)
    except AnswerError as exc:
        raise SubmissionError(str(exc)) from None
    return fields | {"question": study.question_type, "extra": json.dumps(fields["extra"])}


def bump_unit(neuron_id: int, *, done: int, claimed: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotate_unit SET done = done + %s, claimed = claimed + %s"
            " WHERE neuron_id = %s",
            [done, claimed, neuron_id],
        )


def do_undo_submission(user, study: Study, client_id) -> dict:
    """Take back one of the annotator's recent submissions; the unit is theirs again, shown
    with the answers they gave so they can change them."""
    client_id = check_client_id(client_id)
    with transaction.atomic():
        sub = (
            Submission.objects.select_for_update()
            .select_related("neuron")
            .filter(annotator=user, study=study, client_id=client_id)
            .first()
        )
        if sub is None:
            raise SubmissionError("Only your own submissions can be undone.")
        if timezone.now() - sub.created > timedelta(seconds=undo_seconds()):
            raise SubmissionError(f"Undo is possible for {undo_seconds()} seconds only.")
        lease = Assignment.objects.select_for_update().get(annotator=user, unit_id=sub.neuron_id)
        answers = take_back_judgments(user, study, lease.pk, client_id)
        lease.state = Assignment.State.OPEN
        lease.expires = lease_expiry()
        lease.save(update_fields=["state", "expires"])
        bump_unit(sub.neuron_id, done=-1, claimed=0)
        sub.delete()
    unit = shown_unit(study.pk, lease.pk, sub.neuron_id, sub.neuron.label, sub.order_shown)
    unit = for_question(study, [(lease.pk, unit)])[0]
    return {"undone": str(client_id), "neuron": sub.neuron_id, **answers, "unit": unit}


def take_back_judgments(user, study: Study, lease_id: int, client_id) -> dict:
    """Delete one submission's judgments; returns the answers they held, as given: `answers`
    by image id (yes/no), or the neuron-level `answer`."""
    if study.question_type in NEURON_LEVEL:
        judgments = LabelJudgment.objects.filter(rater__user=user, submission=client_id)
        answer = shown_answer(study, lease_id, judgments.first())
        judgments.delete()
        return {"answer": answer}
    judgments = Judgment.objects.filter(rater__user=user, submission=client_id)
    answers = {
        image_id(lease_id, ni): verdict
        for ni, verdict in judgments.values_list("neuron_image_id", "verdict")
    }
    judgments.delete()
    return {"answers": answers}


def recent_answers(user, study: Study, limit: int = 20) -> list[dict]:
    """The annotator's latest submissions, newest first, with their answers in the order
    shown and whether they can still be changed (undone)."""
    subs = list(
        Submission.objects.filter(annotator=user, study=study)
        .select_related("neuron")
        .order_by("-created", "-id")[:limit]
    )
    leases = dict(
        Assignment.objects.filter(
            annotator=user, unit_id__in=[s.neuron_id for s in subs]
        ).values_list("unit_id", "pk")
    )
    answer_of = answers_by_submission(user, study, [s.client_id for s in subs])
    cutoff = timezone.now() - timedelta(seconds=undo_seconds())
    rows = []
    for sub in subs:
        lease = leases[sub.neuron_id]
        unit = shown_unit(study.pk, lease, sub.neuron_id, sub.neuron.label, sub.order_shown)
        row = {
            "client_id": str(sub.client_id),
            "stored": sub.created.isoformat(),
            "changeable": sub.created > cutoff,
            **unit,
        }
        if study.question_type in NEURON_LEVEL:
            judgment = answer_of.get(sub.client_id)
            row["answer"] = shown_answer(study, lease, judgment)
            row["summary"] = answer_summary(judgment)
        else:
            for image, pair in zip(row["images"], sub.order_shown, strict=True):
                image["verdict"] = answer_of.get(pair, "")
        rows.append((lease, row))
    return for_question(study, rows)


def answers_by_submission(user, study: Study, client_ids: list) -> dict:
    """Yes/no studies: pair id -> verdict; neuron-level ones: client id -> LabelJudgment."""
    if study.question_type in NEURON_LEVEL:
        judgments = LabelJudgment.objects.filter(rater__user=user, submission__in=client_ids)
        return {j.submission: j for j in judgments.select_related("chosen")}
    return dict(
        Judgment.objects.filter(rater__user=user, submission__in=client_ids).values_list(
            "neuron_image_id", "verdict"
        )
    )


def answer_summary(judgment: LabelJudgment | None) -> str:
    """A neuron-level answer in words, for one's own review list."""
    if judgment is None:
        return ""
    if judgment.question == LabelJudgment.Question.LABEL_RATING:
        return "uninterpretable" if judgment.uninterpretable else f"rated {judgment.rating} of 5"
    return "none fits" if judgment.chosen is None else f"best: {judgment.chosen.label}"
