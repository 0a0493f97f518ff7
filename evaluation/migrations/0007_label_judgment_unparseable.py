"""LabelJudgment.unparseable: a model's rating answer that could not be read is stored as
such, with no rating, apart from the human flags (uninterpretable, none fits)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('evaluation', '0006_rater_rating_kinds'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='labeljudgment',
            name='labeljudgment_rating_shape',
        ),
        migrations.AddField(
            model_name='labeljudgment',
            name='unparseable',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddConstraint(
            model_name='labeljudgment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('question', 'label_rating'), _negated=True), models.Q(('chosen__isnull', True), models.Q(('rating__isnull', False), ('uninterpretable', True), ('none_fits', True), ('unparseable', True), _connector='OR')), _connector='OR'), name='labeljudgment_rating_shape'),
        ),
        migrations.AddConstraint(
            model_name='labeljudgment',
            constraint=models.CheckConstraint(condition=models.Q(('unparseable', False), models.Q(('question', 'label_rating'), ('rating__isnull', True)), _connector='OR'), name='labeljudgment_unparseable_has_no_rating'),
        ),
    ]
