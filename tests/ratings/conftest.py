"""Rating fixtures: the API clients of tests/api, and a study that holds all three kinds of
judgment (yes/no per image, 1-5 ratings, best-of choices) on two label sets."""

import pytest

from annotate.importers.labels import do_import_labels
from annotate.models import Neuron, NeuronImage
from evaluation.importers.formats import do_import_judgment_file
from evaluation.models import Rater
from tests.helpers import judge

SECOND = "MILAN base"
# (label set index, unit) -> rating of ann1 and of ann2; ann2 is ann1 moved a little.
ANN1 = [5, 4, 2, 1, 3, 5, 4, 2, 5, 1, 4, 3]
ANN2 = [4, 4, 3, 1, 2, 5, 5, 1, 4, 2, 3, 3]
# alice's verdicts on each label's three images (any-of-3 yes unless all no).
ALICE = ["yes,no,no", "no,no,no", "no,yes,yes", "no,no,no", "yes,yes,yes", "no,no,yes"] * 2
CHOICES = {"ann1": [0, 1, 0, None, 1, 0], "ann2": [0, 1, 1, None, 0, 0]}  # label set index


@pytest.fixture
def mixed_study(make_study, annotators):
    """6 units in two layers x two label sets, 3 images each; alice answers yes/no per image,
    ann1 and ann2 rate every label 1-5 and pick the best label of each unit."""
    study = make_study(name="mixed", neurons=6, k=3, labels=["red", "green", "blue"])
    Neuron.objects.filter(study=study, unit__gte=3).update(layer="layer2")
    study.layers = ["layer1", "layer2"]
    study.save()
    rows = "".join(f"{'layer1' if u < 3 else 'layer2'},{u},milan {u}\n" for u in range(6))
    do_import_labels(study, ("layer,unit,description\n" + rows).encode(), label_set=SECOND)
    first = study.label_sets.order_by("pk").first().name
    for n in Neuron.objects.filter(study=study, label_set__name=SECOND, images__isnull=True):
        source = Neuron.objects.get(study=study, label_set__name=first, unit=n.unit)
        for ni in source.images.all():
            NeuronImage.objects.create(neuron=n, image=ni.image, rank=ni.rank)
    alice = Rater.objects.create(name="alice", kind="human", user=annotators["alice"])
    for i, neuron in enumerate(labels_in_order(study)):
        judge(alice, list(neuron.images.order_by("rank")), ALICE[i].split(","))
    sets = [first, SECOND]
    lines = ["rater,layer,unit,label_set,rating"]
    for i, neuron in enumerate(labels_in_order(study)):
        for rater, ratings in (("ann1", ANN1), ("ann2", ANN2)):
            lines.append(f"{rater},{neuron.layer},{neuron.unit},{neuron.label_set},{ratings[i]}")
    do_import_judgment_file(study, "\n".join(lines).encode() + b"\n")
    lines = ["rater,layer,unit,chosen,none_fits"]
    for rater, picks in CHOICES.items():
        for unit, pick in enumerate(picks):
            layer = "layer1" if unit < 3 else "layer2"
            chosen = "" if pick is None else sets[pick]
            lines.append(f"{rater},{layer},{unit},{chosen},{'TRUE' if pick is None else ''}")
    do_import_judgment_file(study, "\n".join(lines).encode() + b"\n")
    return study


def labels_in_order(study):
    """The study's real labels: first label set's units 0-5, then the second's."""
    return list(
        Neuron.objects.filter(study=study, role="real")
        .select_related("label_set")
        .order_by("label_set_id", "unit")
    )
