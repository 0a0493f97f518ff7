"""A best-of study asks once per (layer, unit), not once per label: the unit of work is the
neuron of the unit's first label set, and the other label sets' neurons of that (layer,
unit) get no unit of their own (their labels are shown beside it). The trigger of 0008
learns the rule (and counts top-k images only, not sampled ones); label-rating and
yes/no studies keep a unit per neuron.
"""

from django.db import migrations

READY_UNITS = """
INSERT INTO annotate_unit (neuron_id, study_id, is_gold, claimed, done)
SELECT n.id, n.study_id, false, 0, 0
FROM annotate_neuron n JOIN annotate_study s ON s.id = n.study_id
WHERE n.role = 'real' AND n.id IN ({neurons})
  AND (SELECT count(*) FROM annotate_neuronimage ni
       WHERE ni.neuron_id = n.id AND NOT ni.is_distractor AND NOT ni.is_sampled) >= s.k
  AND (s.question_type <> 'best_of' OR NOT EXISTS (
       SELECT 1 FROM annotate_neuron o
       WHERE o.study_id = n.study_id AND o.role = 'real' AND o.layer = n.layer
         AND o.unit = n.unit AND o.id <> n.id
         AND (o.label_set_id < n.label_set_id
              OR EXISTS (SELECT 1 FROM annotate_unit ou WHERE ou.neuron_id = o.id))))
ON CONFLICT (neuron_id) DO NOTHING
"""


def function(ready_units: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION annotate_units_for_new_images() RETURNS trigger AS $$
BEGIN
    {ready_units.format(neurons="SELECT DISTINCT neuron_id FROM new_images")};
    RETURN NULL;
END $$ LANGUAGE plpgsql;
"""


OLD_READY_UNITS = """
INSERT INTO annotate_unit (neuron_id, study_id, is_gold, claimed, done)
SELECT n.id, n.study_id, false, 0, 0
FROM annotate_neuron n JOIN annotate_study s ON s.id = n.study_id
WHERE n.role = 'real' AND n.id IN ({neurons})
  AND (SELECT count(*) FROM annotate_neuronimage ni
       WHERE ni.neuron_id = n.id AND NOT ni.is_distractor) >= s.k
ON CONFLICT (neuron_id) DO NOTHING
"""

# Units made before this rule for a best-of study's later label sets, never given out.
DROP_EXTRA = """
DELETE FROM annotate_unit u
USING annotate_neuron n, annotate_study s
WHERE n.id = u.neuron_id AND s.id = u.study_id AND s.question_type = 'best_of'
  AND u.claimed = 0 AND u.done = 0
  AND NOT EXISTS (SELECT 1 FROM annotate_assignment a WHERE a.unit_id = u.neuron_id)
  AND EXISTS (SELECT 1 FROM annotate_neuron o
              WHERE o.study_id = n.study_id AND o.role = 'real' AND o.layer = n.layer
                AND o.unit = n.unit AND o.label_set_id < n.label_set_id);
"""


class Migration(migrations.Migration):
    dependencies = [("annotate", "0012_sampled_images")]
    operations = [
        migrations.RunSQL(function(READY_UNITS) + DROP_EXTRA, function(OLD_READY_UNITS)),
    ]
