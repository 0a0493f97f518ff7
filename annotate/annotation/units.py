"""Units of human work: one per real neuron that has its k images, with the counters
assignment reads.

A trigger (migration annotate/0005) makes the unit when the neuron's k-th image is stored,
so `next` finds units on a freshly imported study; `do_sync_units` catches up after the
study's k was lowered.
"""

from dataclasses import dataclass

from django.db import connection

from annotate.models import Study

SYNC_SQL = """
INSERT INTO annotate_unit (neuron_id, study_id, is_gold, claimed, done)
SELECT n.id, n.study_id, false, 0, 0 FROM annotate_neuron n
WHERE n.study_id = %(study)s AND n.role = 'real'
  AND (SELECT count(*) FROM annotate_neuronimage ni
       WHERE ni.neuron_id = n.id AND NOT ni.is_distractor) >= %(k)s
ON CONFLICT (neuron_id) DO NOTHING
"""


def do_sync_units(study: Study) -> int:
    """Make a unit for every real neuron of the study with its k images; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(SYNC_SQL, {"study": study.pk, "k": study.k})
        return cursor.rowcount


@dataclass(frozen=True)
class UnitCounts:
    units: int  # gold included
    gold: int
    waiting: int  # real neurons still without their k images


def unit_counts(study: Study) -> UnitCounts:
    """Three index-only counts."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM annotate_unit WHERE study_id = %(s)s),
                   (SELECT count(*) FROM annotate_unit WHERE study_id = %(s)s AND is_gold),
                   (SELECT count(*) FROM annotate_neuron WHERE study_id = %(s)s AND role = 'real')
            """,
            {"s": study.pk},
        )
        units, gold, neurons = cursor.fetchone()
    return UnitCounts(units=units, gold=gold, waiting=max(0, neurons - units))
