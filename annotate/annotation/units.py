"""Units of human work: one per real neuron that has its k images, with the counters
assignment reads. A best-of study has one per (layer, unit) instead: its first label set's
neuron, the other label sets' labels shown beside it.

A trigger (migrations annotate/0008 and 0011) makes the unit when the neuron's k-th image is
stored, so `next` finds units on a freshly imported study; `do_sync_units` catches up after
the study's k was lowered.
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
  AND (NOT %(best_of)s OR NOT EXISTS (
       SELECT 1 FROM annotate_neuron o
       WHERE o.study_id = n.study_id AND o.role = 'real' AND o.layer = n.layer
         AND o.unit = n.unit AND o.id <> n.id
         AND (o.label_set_id < n.label_set_id
              OR EXISTS (SELECT 1 FROM annotate_unit ou WHERE ou.neuron_id = o.id))))
ON CONFLICT (neuron_id) DO NOTHING
"""
# The same rule as the trigger of migration annotate/0011.


def asks_per_unit(study: Study) -> bool:
    """Whether one question covers all label sets' labels of a (layer, unit)."""
    return study.question_type == Study.QuestionType.BEST_OF


def do_sync_units(study: Study) -> int:
    """Make a unit for every real neuron of the study with its k images; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(SYNC_SQL, {"study": study.pk, "k": study.k, "best_of": asks_per_unit(study)})
        return cursor.rowcount


@dataclass(frozen=True)
class UnitCounts:
    units: int  # gold included
    gold: int
    waiting: int  # real neurons (best-of: layer units) still without their k images


NEURONS_SQL = "SELECT count(*) FROM annotate_neuron WHERE study_id = %(s)s AND role = 'real'"
LAYER_UNITS_SQL = """SELECT count(*) FROM (SELECT DISTINCT layer, unit FROM annotate_neuron
    WHERE study_id = %(s)s AND role = 'real') d"""


def unit_counts(study: Study) -> UnitCounts:
    """Three index-only counts."""
    wanted = LAYER_UNITS_SQL if asks_per_unit(study) else NEURONS_SQL
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT (SELECT count(*) FROM annotate_unit WHERE study_id = %(s)s),
                   (SELECT count(*) FROM annotate_unit WHERE study_id = %(s)s AND is_gold),
                   ({wanted})
            """,
            {"s": study.pk},
        )
        units, gold, neurons = cursor.fetchone()
    return UnitCounts(units=units, gold=gold, waiting=max(0, neurons - units))
