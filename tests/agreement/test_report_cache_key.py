"""The report cache key changes with every committed judgment change, in O(1)."""

import pytest

from evaluation.models import Judgment, Rater
from evaluation.reports.read import judgment_fingerprint

pytestmark = pytest.mark.django_db(transaction=True)  # the counter moves at commit


def test_fingerprint_moves_on_insert_update_and_delete(make_study, annotators):
    study = make_study(neurons=2, k=2)
    rater = Rater.objects.create(name="alice", kind="human", user=annotators["alice"])
    pairs = list(study.neurons.first().images.all())
    seen = {judgment_fingerprint(study)}

    first = Judgment.objects.create(rater=rater, neuron_image=pairs[0], verdict="yes")
    Judgment.objects.create(rater=rater, neuron_image=pairs[1], verdict="no")
    seen.add(judgment_fingerprint(study))
    Judgment.objects.filter(pk=first.pk).update(verdict="no")
    seen.add(judgment_fingerprint(study))
    Judgment.objects.filter(pk=first.pk).delete()  # not the highest id: only the counter moves
    seen.add(judgment_fingerprint(study))
    assert len(seen) == 4


def test_a_rolled_back_change_leaves_the_key_alone(make_study, annotators):
    from django.db import transaction

    study = make_study(neurons=1, k=1)
    rater = Rater.objects.create(name="bob", kind="human", user=annotators["bob"])
    pair = study.neurons.first().images.first()
    Judgment.objects.create(rater=rater, neuron_image=pair, verdict="yes")
    before = judgment_fingerprint(study)
    with pytest.raises(RuntimeError), transaction.atomic():
        Judgment.objects.filter(rater=rater).update(verdict="no")
        raise RuntimeError("roll back")
    assert judgment_fingerprint(study) == before
