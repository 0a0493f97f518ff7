"""LabelJudgment: ratings and best-of choices that belong to a label (a Neuron row), not to
an image.

A BEFORE INSERT OR UPDATE trigger copies the neuron's study, layer and unit onto the row
whatever the writer sends (so one best-of answer per rater and unit is a plain unique
constraint) and refuses a chosen neuron of another study, layer or unit. Every change
bumps the judgment change counter of 0002, so cached reports see label judgments too.
"""

import django.db.models.deletion
from django.db import migrations, models


TRIGGER = """
CREATE FUNCTION evaluation_labeljudgment_set_unit() RETURNS trigger AS $$
DECLARE
    chosen_study bigint;
    chosen_layer text;
    chosen_unit integer;
BEGIN
    SELECT n.study_id, n.layer, n.unit INTO NEW.study_id, NEW.layer, NEW.unit
    FROM annotate_neuron n WHERE n.id = NEW.neuron_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'neuron % does not exist', NEW.neuron_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NEW.chosen_id IS NOT NULL THEN
        SELECT n.study_id, n.layer, n.unit INTO chosen_study, chosen_layer, chosen_unit
        FROM annotate_neuron n WHERE n.id = NEW.chosen_id AND n.role = 'real';
        IF chosen_study IS DISTINCT FROM NEW.study_id OR chosen_layer IS DISTINCT FROM NEW.layer
           OR chosen_unit IS DISTINCT FROM NEW.unit THEN
            RAISE EXCEPTION 'chosen neuron % is not a label of unit %:% of study %',
                NEW.chosen_id, NEW.layer, NEW.unit, NEW.study_id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER labeljudgment_set_unit
    BEFORE INSERT OR UPDATE ON evaluation_labeljudgment
    FOR EACH ROW EXECUTE FUNCTION evaluation_labeljudgment_set_unit();
CREATE CONSTRAINT TRIGGER labeljudgment_changed
    AFTER INSERT OR UPDATE OR DELETE ON evaluation_labeljudgment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION evaluation_count_judgment_change();
"""

UNDO_TRIGGER = """
DROP TRIGGER IF EXISTS labeljudgment_changed ON evaluation_labeljudgment;
DROP TRIGGER IF EXISTS labeljudgment_set_unit ON evaluation_labeljudgment;
DROP FUNCTION IF EXISTS evaluation_labeljudgment_set_unit();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0010_study_question_type"),
        ("evaluation", "0003_judgment_study"),
    ]

    operations = [
        migrations.CreateModel(
            name="LabelJudgment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "question",
                    models.CharField(
                        choices=[
                            ("label_rating", "Rating 1-5 per label"),
                            ("best_of", "Best of the label sets' labels"),
                        ],
                        max_length=20,
                    ),
                ),
                ("layer", models.CharField(blank=True, editable=False, max_length=200)),
                ("unit", models.PositiveIntegerField(editable=False, null=True)),
                ("rating", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("uninterpretable", models.BooleanField(default=False)),
                (
                    "none_fits",
                    models.BooleanField(default=False, help_text="No label fits the images"),
                ),
                ("extra", models.JSONField(blank=True, default=dict)),
                ("submission", models.UUIDField(blank=True, db_index=True, null=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "chosen",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chosen_in",
                        to="annotate.neuron",
                    ),
                ),
                (
                    "neuron",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="label_judgments",
                        to="annotate.neuron",
                    ),
                ),
                (
                    "rater",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="label_judgments",
                        to="evaluation.rater",
                    ),
                ),
                (
                    "study",
                    models.ForeignKey(
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="annotate.study",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["study", "rater"], name="labeljudgment_study_rater")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("question__in", ["label_rating", "best_of"])),
                        name="labeljudgment_question_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("rating__isnull", True),
                            models.Q(("rating__gte", 1), ("rating__lte", 5)),
                            _connector="OR",
                        ),
                        name="labeljudgment_rating_range",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("question", "label_rating"), _negated=True),
                            models.Q(
                                ("chosen__isnull", True),
                                models.Q(
                                    ("rating__isnull", False),
                                    ("uninterpretable", True),
                                    ("none_fits", True),
                                    _connector="OR",
                                ),
                            ),
                            _connector="OR",
                        ),
                        name="labeljudgment_rating_shape",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("question", "best_of"), _negated=True),
                            models.Q(
                                ("rating__isnull", True),
                                models.Q(
                                    models.Q(("chosen__isnull", False), ("none_fits", False)),
                                    models.Q(
                                        ("chosen__isnull", True),
                                        models.Q(
                                            ("none_fits", True),
                                            ("uninterpretable", True),
                                            _connector="OR",
                                        ),
                                    ),
                                    _connector="OR",
                                ),
                            ),
                            _connector="OR",
                        ),
                        name="labeljudgment_best_of_shape",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("question", "label_rating")),
                        fields=("rater", "neuron"),
                        name="labeljudgment_one_rating_per_label",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("question", "best_of")),
                        fields=("rater", "study", "layer", "unit"),
                        name="labeljudgment_one_choice_per_unit",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("study__isnull", False), ("unit__isnull", False)),
                        name="labeljudgment_has_unit",
                    ),
                ],
            },
        ),
        migrations.RunSQL(TRIGGER, UNDO_TRIGGER),
    ]
