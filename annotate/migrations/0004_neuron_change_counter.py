"""Count every change to the neuron table, so cached per-layer neuron counts (the study
page's pager) are keyed by one O(1) lookup, like the judgment counter of evaluation/0002.

A deferred constraint trigger bumps a sequence once per changed row, at commit time; the
page reads the counter before it counts, so an import committed after that read always
changes the key.
"""

from django.db import migrations

FORWARD = """
CREATE SEQUENCE annotate_neuron_changes;
SELECT nextval('annotate_neuron_changes');  -- last_value moves from here on
CREATE FUNCTION annotate_count_neuron_change() RETURNS trigger AS $$
BEGIN
    PERFORM nextval('annotate_neuron_changes');
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER neuron_changed
    AFTER INSERT OR UPDATE OR DELETE ON annotate_neuron
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION annotate_count_neuron_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS neuron_changed ON annotate_neuron;
DROP FUNCTION IF EXISTS annotate_count_neuron_change();
DROP SEQUENCE IF EXISTS annotate_neuron_changes;
"""


class Migration(migrations.Migration):
    dependencies = [("annotate", "0003_assignment_counts_index")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
