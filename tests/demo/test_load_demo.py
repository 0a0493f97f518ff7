import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotate.demo import (
    DEMO_K,
    DEMO_NEURONS,
    DEMO_STUDY,
    demo_concepts,
    demo_probe_set,
    do_load_demo,
    plan_demo_neurons,
    probe_concepts,
)
from annotate.demo_images import COLORS, SHAPES, TEXTURES
from annotate.models import TOP_K, NeuronImage, Study
from evaluation.models import EvaluationRun, Rater
from tests.helpers import snapshot

pytestmark = pytest.mark.django_db


def test_planted_truth_is_deterministic_and_consistent():
    assert plan_demo_neurons() == DEMO_NEURONS
    probe = demo_probe_set()
    assert [image.concepts for image in probe] == probe_concepts()
    for neuron in DEMO_NEURONS:
        assert len(set(neuron.images)) == DEMO_K
        assert all(neuron.concept in probe[i].concepts for i in neuron.images)
        assert list(neuron.activations) == sorted(neuron.activations, reverse=True)
    wrong = [n for n in DEMO_NEURONS if not n.label_is_right]
    assert 0 < len(wrong) < len(DEMO_NEURONS) / 2
    kinds = {"color": set(COLORS), "texture": set(TEXTURES), "shape": set(SHAPES)}
    assert all(n.label in kinds[n.kind] and n.label != n.concept for n in wrong)
    assert {n.layer for n in DEMO_NEURONS} == {"layer1", "layer2", "layer3"}


def test_demo_vocabulary_holds_every_label_among_unrelated_words():
    concepts = demo_concepts()
    assert len(concepts) == len(set(concepts)) > 300
    assert {n.label for n in DEMO_NEURONS} <= set(concepts)


def test_load_demo_twice_does_not_double():
    call_command("load_demo", "--no-runs", verbosity=0)
    study = Study.objects.get(name=DEMO_STUDY)
    before = snapshot()
    counts = (study.neurons.count(), EvaluationRun.objects.count(), Rater.objects.count())
    call_command("load_demo", "--no-runs", verbosity=0)
    assert snapshot() == before
    assert (study.neurons.count(), EvaluationRun.objects.count(), Rater.objects.count()) == counts
    assert Study.objects.filter(name=DEMO_STUDY, is_demo=True).count() == 1
    assert study.neurons.filter(role="real").count() == len(DEMO_NEURONS)
    real_pairs = NeuronImage.objects.filter(TOP_K, neuron__study=study, neuron__role="real")
    assert real_pairs.count() == len(DEMO_NEURONS) * DEMO_K
    sampled = NeuronImage.objects.filter(neuron__study=study, is_sampled=True)
    assert sampled.exists()  # images beyond the top-k, for the whole-probe metrics


def test_load_demo_prepares_probes_gold_units_and_demo_runs():
    from annotate.models import GoldAnswer

    call_command("load_demo", verbosity=0)
    study = Study.objects.get(name=DEMO_STUDY)
    roles = set(study.neurons.values_list("role", flat=True))
    assert roles == {"real", "generic_label", "shuffled_label", "control_images"}
    gold = GoldAnswer.objects.filter(neuron_image__neuron__study=study)
    assert gold.count() == 6 * DEMO_K and set(gold.values_list("answer", flat=True)) == {
        "yes",
        "no",
    }
    runs = EvaluationRun.objects.filter(study=study)
    assert sorted(runs.values_list("rater__kind", flat=True)) == ["openclip_cp", "openclip_es"]
    assert all(run.status == "queued" for run in runs)


def test_stored_demo_matches_the_planted_truth():
    study = do_load_demo()
    probe = demo_probe_set()
    for planted in DEMO_NEURONS[:: len(DEMO_NEURONS) // 6]:
        neuron = study.neurons.get(layer=planted.layer, unit=planted.unit)
        assert neuron.label == planted.label
        stored = [ni.image.file.read() for ni in neuron.images.order_by("rank")]
        assert stored == [probe[i].png for i in planted.images]


def test_demo_user_is_staff_with_password_demo(client):
    do_load_demo()
    user = get_user_model().objects.get(username="demo")
    assert user.is_staff and user.check_password("demo")
    assert client.login(username="demo", password="demo")
