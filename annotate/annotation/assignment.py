"""Which unit an annotator sees next: fewest claims first, never the same unit twice.

A claim locks the unit row (`FOR UPDATE SKIP LOCKED`) and raises its `claimed` counter in the
same transaction, so two annotators asking at once get different units and a unit is never
leased to more than R annotators at a time. A lease that expires gives its claim back; a late
submission is still accepted, so a unit can pass R only by units that were in flight.
"""

import random
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from annotate.annotation.image_ids import image_id
from annotate.annotation.members import settings_for
from annotate.annotation.questions import with_labels
from annotate.models import Study, StudyAnnotator

MAX_PREFETCH = 3
PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete?cc={code}"


def lease_seconds() -> int:
    return settings.NEURONJUDGE_LEASE_SECONDS


def do_expire_leases(study: Study) -> int:
    """Give back the claims of leases past their expiry; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH gone AS (
                UPDATE annotate_assignment SET state = 'expired'
                WHERE study_id = %s AND state = 'open' AND expires < now()
                RETURNING unit_id
            ), per_unit AS (
                SELECT unit_id, count(*) AS n FROM gone GROUP BY unit_id
            )
            UPDATE annotate_unit u SET claimed = u.claimed - p.n
            FROM per_unit p WHERE u.neuron_id = p.unit_id
            """,
            [study.pk],
        )
        return cursor.rowcount


LEASES_SQL = """
WITH mine AS (
    SELECT count(*) FILTER (WHERE state = 'open') AS open,
           count(*) FILTER (WHERE state = 'done') AS done,
           count(*) AS total,
           count(*) FILTER (WHERE is_gold) AS gold
    FROM annotate_assignment WHERE annotator_id = %(user)s AND study_id = %(study)s
), pick AS (
    SELECT u.neuron_id FROM annotate_unit u
    WHERE u.study_id = %(study)s AND NOT u.is_gold AND u.claimed < %(overlap)s
      AND NOT EXISTS (
        SELECT 1 FROM annotate_assignment a
        WHERE a.annotator_id = %(user)s AND a.unit_id = u.neuron_id)
    ORDER BY u.claimed, u.neuron_id
    LIMIT (SELECT GREATEST(0, LEAST(%(slots)s - open, %(quota)s - done - open)) FROM mine)
    FOR UPDATE OF u SKIP LOCKED
), bump AS (
    UPDATE annotate_unit u SET claimed = u.claimed + 1
    WHERE u.neuron_id = ANY (ARRAY(SELECT neuron_id FROM pick))
    RETURNING u.neuron_id
), claimed AS (
    INSERT INTO annotate_assignment
        (unit_id, study_id, annotator_id, state, is_gold, created, expires)
    SELECT neuron_id, %(study)s, %(user)s, 'open', false, now(), %(expires)s FROM bump
    RETURNING id, unit_id, created, true AS is_new
), renewed AS (
    UPDATE annotate_assignment SET expires = %(expires)s
    WHERE annotator_id = %(user)s AND study_id = %(study)s AND state = 'open'
    RETURNING id, unit_id, created, false AS is_new
), leases AS (
    SELECT * FROM claimed UNION ALL SELECT * FROM renewed
)
SELECT mine.open, mine.done, mine.total, mine.gold,
       l.id, l.unit_id, (SELECT n.label FROM annotate_neuron n WHERE n.id = l.unit_id), l.is_new,
       ARRAY(SELECT ni.id FROM annotate_neuronimage ni
             WHERE ni.neuron_id = l.unit_id ORDER BY ni.rank)
FROM mine
LEFT JOIN leases l ON true
ORDER BY l.created, l.id
"""
# The planner cannot read the LIMIT of `pick` (a subquery) and guesses a tenth of the study's
# units; joined by hash, that meant a scan of every unit and neuron (33 ms at 100,000 units).
# `= ANY (ARRAY(...))` and the scalar subquery for the label keep both to index lookups of
# the few rows really claimed.
NO_QUOTA = 2**31 - 1


def claim_and_list_leases(user, study: Study, slots: int, quota: int) -> tuple[dict, list]:
    """Top the annotator's open leases up to `slots` (within `quota`) with the least-claimed
    units they never had, and list all their open leases (renewed, oldest first), in one
    statement. Returns their counts (`open` after the claims) and the lease rows.

    The row lock and the counter update happen together, so a concurrent claim either skips
    the locked unit or sees its new count (PostgreSQL re-checks `claimed < R` on the latest row).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            LEASES_SQL,
            {
                "study": study.pk,
                "overlap": study.overlap,
                "user": user.pk,
                "slots": slots,
                "quota": quota or NO_QUOTA,
                "expires": lease_expiry(),
            },
        )
        rows = cursor.fetchall()
    open_, done, total, gold = rows[0][:4]
    leases = [row[4:] for row in rows if row[4] is not None]
    claimed = sum(1 for lease in leases if lease[3])
    counts = {"open": open_ + claimed, "done": done, "total": total + claimed, "gold": gold}
    return counts, leases


GOLD_SQL = """
WITH pick AS (
    SELECT u.neuron_id FROM annotate_unit u JOIN annotate_neuron n ON n.id = u.neuron_id
    WHERE u.study_id = %(study)s AND u.is_gold
      AND NOT EXISTS (
        SELECT 1 FROM annotate_assignment a
        WHERE a.annotator_id = %(user)s AND a.unit_id = u.neuron_id)
    ORDER BY u.claimed,
             (SELECT count(*) FROM annotate_assignment a JOIN annotate_neuron seen
                ON seen.id = a.unit_id
              WHERE a.annotator_id = %(user)s AND a.study_id = %(study)s AND a.is_gold
                AND seen.layer = n.layer),
             md5(u.neuron_id::text || ':' || %(user)s::text)
    LIMIT 1
), leased AS (
    INSERT INTO annotate_assignment
        (unit_id, study_id, annotator_id, state, is_gold, created, expires)
    SELECT neuron_id, %(study)s, %(user)s, 'open', true, now(), %(expires)s FROM pick
    ON CONFLICT DO NOTHING
    RETURNING unit_id
)
UPDATE annotate_unit u SET claimed = u.claimed + 1 FROM leased WHERE u.neuron_id = leased.unit_id
"""
# Gold units are few (tens), so ranking them all is cheap: the least-shown first, then a layer
# this annotator has had least gold from, then an order of their own, so that annotators and
# layers take turns instead of everyone getting the same first gold units.


def claim_gold_unit(user, study: Study) -> bool:
    """Lease a gold unit this annotator has not seen; gold units are shown to everyone."""
    with connection.cursor() as cursor:
        cursor.execute(GOLD_SQL, {"study": study.pk, "user": user.pk, "expires": lease_expiry()})
        return cursor.rowcount == 1


def lease_expiry():
    return timezone.now() + timedelta(seconds=lease_seconds())


def gold_is_due(counts: dict, gold_rate: float) -> bool:
    """Serve gold so that about `gold_rate` of the units an annotator gets are gold."""
    served = counts["total"]
    return gold_rate > 0 and counts["gold"] < int(gold_rate * (served + 1))


def access_next_unit(user, study: Study, prefetch: int = 1) -> dict:
    """The unit to show now and up to `prefetch` more to preload, with the annotator's progress.

    The caller has checked that `user` annotates `study` (`access_annotation_study`). One
    statement in the usual case: this runs for every unit every annotator sees. A gold unit,
    when due, is leased on top and comes after the units already queued.
    """
    slots = 1 + max(0, min(int(prefetch), MAX_PREFETCH))
    config = settings_for(study)
    counts, leases = claim_and_list_leases(user, study, slots, config.quota)
    if counts["open"] < slots and do_expire_leases(study):  # units run short: free claims
        counts, leases = claim_and_list_leases(user, study, slots, config.quota)
    room = not config.quota or counts["done"] + counts["open"] < config.quota
    if room and gold_is_due(counts, config.gold_rate) and claim_gold_unit(user, study):
        counts["open"] += 1
        if len(leases) < slots:
            counts, leases = claim_and_list_leases(user, study, 0, config.quota)
    units = units_payload(study, leases[:slots], config.shuffle_images)
    return {
        "question": study.question_type,
        "units": units,
        "progress": progress_payload(user, study, counts, config),
    }


def units_payload(study: Study, rows: list[tuple], shuffle: bool) -> list[dict]:
    units = [
        (lease_id, unit_payload(study, lease_id, neuron_id, label, pairs, shuffle))
        for lease_id, neuron_id, label, _, pairs in rows
    ]
    return for_question(study, units)


def for_question(study: Study, units: list[tuple[int, dict]]) -> list[dict]:
    """Unit payloads from (lease id, payload) as the study's question shows them: a best-of
    unit carries its label sets' labels instead of one label."""
    if study.question_type == Study.QuestionType.BEST_OF:
        return with_labels(units)
    return [unit for _, unit in units]


def unit_payload(study: Study, lease_id: int, neuron_id: int, label: str, pairs, shuffle) -> dict:
    """A unit as the annotator sees it: images under opaque per-lease ids, in a per-lease
    order (stable across reloads). Unshuffled, the top-k keep their rank order and an image
    ranked after k (a distractor) takes a random place instead of always coming last."""
    order = random.Random(lease_id)
    pairs = list(pairs)
    if shuffle:
        order.shuffle(pairs)
    else:
        for extra in pairs[study.k :]:
            pairs.remove(extra)
            pairs.insert(order.randint(0, len(pairs)), extra)
    return shown_unit(study.pk, lease_id, neuron_id, label, pairs)


def shown_unit(study_id: int, lease_id: int, neuron_id: int, label: str, pairs) -> dict:
    """The unit payload for pairs in the order given."""
    prefix = image_url(study_id, lease_id, "x").removesuffix("x/")
    images = []
    for pair in pairs:
        opaque = image_id(lease_id, pair)
        images.append({"id": opaque, "url": f"{prefix}{opaque}/"})
    return {"neuron": neuron_id, "label": label, "images": images}


def image_url(study_id: int, lease_id: int, opaque_id: str) -> str:
    return reverse("annotation-image", args=[study_id, lease_id, opaque_id])


def progress_payload(user, study: Study, counts: dict, config) -> dict:
    """Own progress; `finished` once nothing is left to give (quota met or all units covered).

    A completion code only for work done: someone who arrives when no unit is left is told
    `no_work_left` instead.
    """
    quota = config.quota or None
    payload = {
        "done": counts["done"],
        "quota": quota,
        "left": max(0, quota - counts["done"]) if quota else None,
        "finished": counts["open"] == 0,
    }
    if payload["finished"] and not counts["done"]:
        payload["no_work_left"] = True
    elif payload["finished"]:
        membership = StudyAnnotator.objects.filter(study=study, user=user).first()
        payload["completion_code"] = membership.completion_code if membership else ""
        if membership and membership.platform == StudyAnnotator.Platform.PROLIFIC:
            # Prolific checks the study's own code, which staff may set after workers joined.
            code = config.completion_code or membership.completion_code
            payload["completion_code"] = code
            payload["completion_url"] = PROLIFIC_COMPLETE.format(code=code)
    return payload
