"""Label sets: a study holds one or more methods' labels over the same units.

Every existing study gets one label set named after its method, holding all its neurons.
A BEFORE INSERT OR UPDATE trigger fills `label_set_id` when a writer leaves it out (the
study's first label set, created when the study has none) and refuses a label set of
another study, so ORM, COPY and raw SQL writers all keep the rule.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
CREATE FUNCTION annotate_default_label_set_name(method text) RETURNS text AS $$
    SELECT CASE method
        WHEN 'clip_dissect' THEN 'CLIP-Dissect'
        WHEN 'milan' THEN 'MILAN'
        WHEN 'netdissect' THEN 'Network Dissection'
        WHEN 'other' THEN 'Other'
        ELSE 'labels' END
$$ LANGUAGE sql IMMUTABLE;

INSERT INTO annotate_labelset (study_id, name, method, settings, notes, created)
SELECT id, annotate_default_label_set_name(method), method, '{}'::jsonb, '', now()
FROM annotate_study;
UPDATE annotate_neuron n SET label_set_id = ls.id
FROM annotate_labelset ls WHERE ls.study_id = n.study_id;
UPDATE annotate_neuron SET score_name = 'similarity' WHERE method_score IS NOT NULL;
-- Database defaults, so bulk COPY writers that name only the older columns keep working.
ALTER TABLE annotate_neuron ALTER COLUMN score_name SET DEFAULT '',
    ALTER COLUMN category SET DEFAULT '', ALTER COLUMN alternatives SET DEFAULT '{}';

CREATE FUNCTION annotate_neuron_label_set() RETURNS trigger AS $$
DECLARE
    owner_study bigint;
BEGIN
    IF NEW.label_set_id IS NULL THEN
        SELECT id INTO NEW.label_set_id FROM annotate_labelset
        WHERE study_id = NEW.study_id ORDER BY id LIMIT 1;
        IF NEW.label_set_id IS NULL THEN
            INSERT INTO annotate_labelset (study_id, name, method, settings, notes, created)
            SELECT s.id, annotate_default_label_set_name(s.method), s.method, '{}'::jsonb,
                   '', now()
            FROM annotate_study s WHERE s.id = NEW.study_id
            RETURNING id INTO NEW.label_set_id;
        END IF;
    ELSE
        SELECT study_id INTO owner_study FROM annotate_labelset WHERE id = NEW.label_set_id;
        IF owner_study IS DISTINCT FROM NEW.study_id THEN
            RAISE EXCEPTION 'label set % does not belong to study %',
                NEW.label_set_id, NEW.study_id USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER neuron_label_set
    BEFORE INSERT OR UPDATE OF label_set_id, study_id ON annotate_neuron
    FOR EACH ROW EXECUTE FUNCTION annotate_neuron_label_set();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS neuron_label_set ON annotate_neuron;
DROP FUNCTION IF EXISTS annotate_neuron_label_set();
DROP FUNCTION IF EXISTS annotate_default_label_set_name(text);
"""


class Migration(migrations.Migration):
    dependencies = [("annotate", "0004_neuron_change_counter")]

    operations = [
        migrations.CreateModel(
            name="LabelSet",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("method", models.CharField(blank=True, max_length=200)),
                ("settings", models.JSONField(blank=True, default=dict)),
                ("notes", models.TextField(blank=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "study",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="label_sets",
                        to="annotate.study",
                    ),
                ),
            ],
            options={
                "ordering": ["study_id", "pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("study", "name"), name="labelset_unique_name"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="neuron",
            name="label_set",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="neurons",
                to="annotate.labelset",
            ),
        ),
        migrations.AddField(
            model_name="neuron",
            name="score_name",
            field=models.CharField(
                blank=True,
                default="",
                help_text="What method_score is: similarity, iou, ...",
                max_length=40,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="neuron",
            name="category",
            field=models.CharField(
                blank=True, default="", help_text="e.g. NetDissect's", max_length=200
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="neuron",
            name="alternatives",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(), blank=True, default=list, size=None
            ),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RemoveConstraint(model_name="neuron", name="neuron_unique_unit_per_study"),
        migrations.AddConstraint(
            model_name="neuron",
            constraint=models.UniqueConstraint(
                condition=models.Q(("role", "real")),
                fields=("label_set", "layer", "unit"),
                name="neuron_unique_unit_per_label_set",
            ),
        ),
        migrations.AddConstraint(
            model_name="neuron",
            constraint=models.CheckConstraint(
                condition=models.Q(("label_set__isnull", False)), name="neuron_has_label_set"
            ),
        ),
    ]
