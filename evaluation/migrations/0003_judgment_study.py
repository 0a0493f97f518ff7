"""Judgment.study: a copy of the pair's study, so per-study reads skip two joins.

Reading a study's judgments through neuron image and neuron was a hash join over every
judgment of the database (5 s at 2.3 million). The copy is filled for existing rows here and,
from then on, by a BEFORE INSERT OR UPDATE trigger, whatever the writer sends (ORM, raw
INSERT, COPY), so it cannot drift from the pair it belongs to.
"""

import django.db.models.deletion
from django.db import migrations, models

# The change counter (0002) would queue one deferred event per row of the backfill; the
# backfill changes no verdict, so cached reports stay valid and the counter is paused.
BACKFILL = """
ALTER TABLE evaluation_judgment DISABLE TRIGGER judgment_changed;
UPDATE evaluation_judgment j SET study_id = n.study_id
FROM annotate_neuronimage ni JOIN annotate_neuron n ON n.id = ni.neuron_id
WHERE ni.id = j.neuron_image_id;
ALTER TABLE evaluation_judgment ENABLE TRIGGER judgment_changed;
"""

TRIGGER = """
CREATE FUNCTION evaluation_judgment_set_study() RETURNS trigger AS $$
BEGIN
    SELECT n.study_id INTO NEW.study_id
    FROM annotate_neuronimage ni JOIN annotate_neuron n ON n.id = ni.neuron_id
    WHERE ni.id = NEW.neuron_image_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'neuron image % does not exist', NEW.neuron_image_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER judgment_set_study
    BEFORE INSERT OR UPDATE OF neuron_image_id, study_id ON evaluation_judgment
    FOR EACH ROW EXECUTE FUNCTION evaluation_judgment_set_study();
"""

UNDO_TRIGGER = """
DROP TRIGGER IF EXISTS judgment_set_study ON evaluation_judgment;
DROP FUNCTION IF EXISTS evaluation_judgment_set_study();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0003_assignment_counts_index"),
        ("evaluation", "0002_judgment_change_counter"),
    ]

    operations = [
        migrations.AddField(
            model_name="judgment",
            name="study",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="annotate.study",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGER, UNDO_TRIGGER),
        migrations.AddConstraint(
            model_name="judgment",
            constraint=models.CheckConstraint(
                condition=models.Q(("study__isnull", False)), name="judgment_has_study"
            ),
        ),
        migrations.AddIndex(
            model_name="judgment",
            index=models.Index(fields=["study", "rater"], name="judgment_study_rater"),
        ),
    ]
