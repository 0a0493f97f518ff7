"""A real neuron becomes a unit of human work as soon as it has its k images, whoever wrote
them (importer, API, admin, a script): a statement-level trigger on the image table checks
only the neurons the statement touched, so `next` never has to look for new units.

Also: units made earlier for neurons still without their images, and never given to anyone,
are dropped; gold units count their claims like other units (they had counted only answers,
so the manage page showed "in progress -1").
"""

from django.db import migrations

READY_UNITS = """
INSERT INTO annotate_unit (neuron_id, study_id, is_gold, claimed, done)
SELECT n.id, n.study_id, false, 0, 0
FROM annotate_neuron n JOIN annotate_study s ON s.id = n.study_id
WHERE n.role = 'real' AND n.id IN ({neurons})
  AND (SELECT count(*) FROM annotate_neuronimage ni
       WHERE ni.neuron_id = n.id AND NOT ni.is_distractor) >= s.k
ON CONFLICT (neuron_id) DO NOTHING
"""

FORWARD = f"""
CREATE FUNCTION annotate_units_for_new_images() RETURNS trigger AS $$
BEGIN
    {READY_UNITS.format(neurons="SELECT DISTINCT neuron_id FROM new_images")};
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER neuronimage_makes_units
    AFTER INSERT ON annotate_neuronimage
    REFERENCING NEW TABLE AS new_images
    FOR EACH STATEMENT EXECUTE FUNCTION annotate_units_for_new_images();

{READY_UNITS.format(neurons="SELECT id FROM annotate_neuron")};

DELETE FROM annotate_unit u
USING annotate_study s
WHERE s.id = u.study_id AND u.claimed = 0 AND u.done = 0 AND NOT u.is_gold
  AND NOT EXISTS (SELECT 1 FROM annotate_assignment a WHERE a.unit_id = u.neuron_id)
  AND (SELECT count(*) FROM annotate_neuronimage ni
       WHERE ni.neuron_id = u.neuron_id AND NOT ni.is_distractor) < s.k;

UPDATE annotate_unit u SET claimed = (
    SELECT count(*) FROM annotate_assignment a
    WHERE a.unit_id = u.neuron_id AND a.state IN ('open', 'done'))
WHERE u.is_gold;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS neuronimage_makes_units ON annotate_neuronimage;
DROP FUNCTION IF EXISTS annotate_units_for_new_images();
UPDATE annotate_unit SET claimed = 0 WHERE is_gold;
"""


class Migration(migrations.Migration):
    dependencies = [("annotate", "0007_login_failures")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
