"""Units of human work: one per real neuron, with the counters assignment reads."""

from django.db import connection

from annotate.models import Neuron, Study


def do_sync_units(study: Study) -> int:
    """Make a unit for every real neuron of the study that lacks one; returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO annotate_unit (neuron_id, study_id, is_gold, claimed, done)
            SELECT id, study_id, false, 0, 0 FROM annotate_neuron
            WHERE study_id = %s AND role = %s
            ON CONFLICT (neuron_id) DO NOTHING
            """,
            [study.pk, Neuron.Role.REAL],
        )
        return cursor.rowcount
