"""Which unit an annotator sees next: fewest claims first, never the same unit twice.

A claim locks the unit row (`FOR UPDATE SKIP LOCKED`) and raises its `claimed` counter in the
same transaction, so two annotators asking at once get different units and a unit is never
leased to more than R annotators at a time. A lease that expires gives its claim back; a late
submission is still accepted, so a unit can pass R only by units that were in flight.
"""

import random
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from annotate.annotation.members import settings_for
from annotate.models import Assignment, NeuronImage, Study, StudyAnnotator, Submission, Unit

MAX_PREFETCH = 3


def lease_seconds() -> int:
    return getattr(settings, "NEURONJUDGE_LEASE_SECONDS", 900)


def do_expire_leases(study: Study) -> int:
    """Give back the claims of leases past their expiry; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH gone AS (
                UPDATE annotate_assignment SET state = 'expired'
                WHERE study_id = %s AND state = 'open' AND expires < now()
                RETURNING unit_id, is_gold
            ), per_unit AS (
                SELECT unit_id, count(*) AS n FROM gone WHERE NOT is_gold GROUP BY unit_id
            )
            UPDATE annotate_unit u SET claimed = u.claimed - p.n
            FROM per_unit p WHERE u.neuron_id = p.unit_id
            """,
            [study.pk],
        )
        return cursor.rowcount


def claim_regular_unit(user, study: Study) -> Assignment | None:
    """Lease the least-claimed unit this annotator has never had. Caller holds a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT u.neuron_id FROM annotate_unit u
            WHERE u.study_id = %s AND NOT u.is_gold AND u.claimed < %s
              AND NOT EXISTS (
                SELECT 1 FROM annotate_assignment a
                WHERE a.annotator_id = %s AND a.unit_id = u.neuron_id)
            ORDER BY u.claimed, u.neuron_id
            LIMIT 1
            FOR UPDATE OF u SKIP LOCKED
            """,
            [study.pk, study.overlap, user.pk],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(
            "UPDATE annotate_unit SET claimed = claimed + 1 WHERE neuron_id = %s", [row[0]]
        )
    return Assignment.objects.create(
        unit_id=row[0], study=study, annotator=user, expires=lease_expiry()
    )


def claim_gold_unit(user, study: Study) -> Assignment | None:
    """Lease a gold unit this annotator has not seen; gold units are shown to everyone."""
    unit = (
        Unit.objects.filter(study=study, is_gold=True)
        .exclude(assignments__annotator=user)
        .order_by("neuron_id")
        .first()
    )
    if unit is None:
        return None
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                unit=unit, study=study, annotator=user, is_gold=True, expires=lease_expiry()
            )
    except IntegrityError:  # the same annotator asked twice at once
        return None


def lease_expiry():
    return timezone.now() + timedelta(seconds=lease_seconds())


def gold_is_due(counts: dict, gold_rate: float) -> bool:
    """Serve gold so that about `gold_rate` of the units an annotator gets are gold."""
    served = counts["total"]
    return gold_rate > 0 and counts["gold"] < int(gold_rate * (served + 1))


def assignment_counts(user, study: Study) -> dict:
    return Assignment.objects.filter(annotator=user, study=study).aggregate(
        total=Count("id"),
        gold=Count("id", filter=Q(is_gold=True)),
        open=Count("id", filter=Q(state=Assignment.State.OPEN)),
        done=Count("id", filter=Q(state=Assignment.State.DONE)),
    )


def access_next_unit(user, study: Study, prefetch: int = 1) -> dict:
    """The unit to show now and up to `prefetch` more to preload, with the annotator's progress.

    The caller has checked that `user` annotates `study` (`access_annotation_study`).
    """
    prefetch = max(0, min(int(prefetch), MAX_PREFETCH))
    config = settings_for(study)
    do_expire_leases(study)
    Assignment.objects.filter(annotator=user, study=study, state=Assignment.State.OPEN).update(
        expires=lease_expiry()
    )
    with transaction.atomic():
        counts = assignment_counts(user, study)
        wanted = 1 + prefetch - counts["open"]
        if config.quota:
            wanted = min(wanted, config.quota - counts["done"] - counts["open"])
        for _ in range(max(0, wanted)):
            gold = gold_is_due(counts, config.gold_rate)
            claimed = (gold and claim_gold_unit(user, study)) or claim_regular_unit(user, study)
            if claimed is None:
                break
            counts["total"] += 1
            counts["gold"] += int(claimed.is_gold)
    leases = list(
        Assignment.objects.filter(annotator=user, study=study, state=Assignment.State.OPEN)
        .select_related("unit__neuron")
        .order_by("created", "id")[: 1 + prefetch]
    )
    return {
        "units": units_payload(study, leases, config.shuffle_images),
        "progress": progress_payload(user, study, config),
    }


def units_payload(study: Study, leases: list[Assignment], shuffle: bool) -> list[dict]:
    images: dict[int, list[int]] = {}
    for ni_id, neuron_id in NeuronImage.objects.filter(
        neuron_id__in=[a.unit_id for a in leases]
    ).values_list("id", "neuron_id"):
        images.setdefault(neuron_id, []).append(ni_id)
    units = []
    for lease in leases:
        ids = sorted(images.get(lease.unit_id, []))
        if shuffle:  # seeded by the lease, so a reload shows the same order
            random.Random(lease.pk).shuffle(ids)
        units.append(
            {
                "neuron": lease.unit_id,
                "label": lease.unit.neuron.label,
                "images": [{"id": i, "url": image_url(study.pk, i)} for i in ids],
            }
        )
    return units


def image_url(study_id: int, neuron_image_id: int) -> str:
    return reverse("annotation-image", args=[study_id, neuron_image_id])


def progress_payload(user, study: Study, config=None) -> dict:
    """Own progress; `finished` once nothing is left to give (quota met or all units covered)."""
    config = config or settings_for(study)
    done = Submission.objects.filter(annotator=user, study=study).count()
    open_units = Assignment.objects.filter(
        annotator=user, study=study, state=Assignment.State.OPEN
    ).count()
    quota = config.quota or None
    payload = {
        "done": done,
        "quota": quota,
        "left": max(0, quota - done) if quota else None,
        "finished": open_units == 0,
    }
    if payload["finished"]:
        membership = StudyAnnotator.objects.filter(study=study, user=user).first()
        payload["completion_code"] = membership.completion_code if membership else ""
    return payload
