"""Study.question_type: what humans are asked (yes/no per image, a 1-5 rating per label, or
the best of the label sets' labels). Existing studies and raw writers get pair_yes_no."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0009_crowd_identity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="study",
            name="question_type",
            field=models.CharField(
                choices=[
                    ("pair_yes_no", "Yes/no per image"),
                    ("label_rating", "Rating 1-5 per label"),
                    ("best_of", "Best of the label sets' labels"),
                ],
                db_default="pair_yes_no",
                default="pair_yes_no",
                help_text="What humans are asked; chosen when the study is created",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="study",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("question_type__in", ["pair_yes_no", "label_rating", "best_of"])
                ),
                name="study_question_type_valid",
            ),
        ),
    ]
