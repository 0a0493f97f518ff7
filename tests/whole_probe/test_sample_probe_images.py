"""sample_probe_images: images drawn per unit beyond the top-k, with their inclusion
probability, the same for every label set's neuron of a unit; idempotent; refused with a
clear error where it cannot be done; hidden from annotators; gold and distractors intact."""

import pytest
from django.core.management import CommandError, call_command

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.members import do_create_invite, do_join_study
from annotate.annotation.quality import do_add_distractors, do_make_gold_units
from annotate.models import TOP_K, AnnotationSettings, GoldAnswer, Neuron, NeuronImage, Study, Unit
from annotate.sampling import SamplingError, do_sample_probe_images
from evaluation.probe_metrics.sampling import SampleDesign
from tests.helpers import pairs_shown
from tests.whole_probe.helpers import UNITS, import_dissection, sampled_rows

pytestmark = pytest.mark.django_db

DESIGN = {"random": 10, "strata": 4, "per_stratum": 2, "seed": 3}


@pytest.fixture
def study(tmp_path):
    return import_dissection(tmp_path)


def sample(study, **design):
    call_command("sample_probe_images", study=study.name, **(DESIGN | design))


def test_each_neuron_gets_its_draw_with_probabilities(study):
    sample(study)
    neuron = Neuron.objects.get(study=study, label_set__name="truth", unit=0)
    images = neuron.images.order_by("rank")
    top = [ni for ni in images if not ni.is_sampled]
    drawn = [ni for ni in images if ni.is_sampled]
    assert [ni.rank for ni in top] == [1, 2, 3, 4, 5]
    assert all(ni.inclusion_probability is None for ni in top)
    assert [ni.rank for ni in drawn] == list(range(6, 6 + len(drawn)))
    assert 10 <= len(drawn) <= 10 + 4 * 2
    assert {ni.sample_design for ni in drawn} == {"random=10;strata=4;per_stratum=2;seed=3"}
    assert not {ni.image_id for ni in drawn} & {ni.image_id for ni in top}
    # 295 pictures left: top stratum of 37 (ceil(295 / 8)), bottom half of 147
    p = sorted({round(ni.inclusion_probability, 12) for ni in drawn})
    uniform = 10 / 295
    expected = {round(1 - (1 - uniform) * (1 - 2 / s), 12) for s in (37, 37, 74, 147)}
    assert set(p) <= expected and len(p) >= 2
    assert max(ni.activation for ni in drawn) > 2  # the top stratum reaches the unit's class


def test_every_label_set_neuron_of_a_unit_gets_the_same_images(study):
    sample(study)
    for unit in range(UNITS):
        pictures = [
            list(n.images.filter(is_sampled=True).order_by("rank").values_list(
                "image_id", "inclusion_probability"))
            for n in Neuron.objects.filter(study=study, unit=unit)
        ]  # fmt: skip
        assert len(pictures) == 2 and pictures[0] == pictures[1] and pictures[0]
    first = set(Neuron.objects.get(study=study, label_set__name="truth", unit=0)
                .images.filter(is_sampled=True).values_list("image_id", flat=True))  # fmt: skip
    other = set(Neuron.objects.get(study=study, label_set__name="truth", unit=1)
                .images.filter(is_sampled=True).values_list("image_id", flat=True))  # fmt: skip
    assert first != other  # seeded per unit


def test_the_same_seed_again_changes_nothing(study, capsys):
    sample(study)
    before = sampled_rows(study)
    sample(study)
    assert sampled_rows(study) == before
    assert "0 images added to 0 neurons" in capsys.readouterr().out


def test_another_design_is_refused_and_changes_nothing(study):
    sample(study)
    before = sampled_rows(study)
    with pytest.raises(CommandError, match="sampled images of another design exist"):
        sample(study, seed=4)
    assert sampled_rows(study) == before


def test_a_study_without_probe_set_or_activations_is_refused(tmp_path, study):
    bare = Study.objects.create(name="bare", target_network="n", probe_dataset="p")
    with pytest.raises(CommandError, match="has no probe set: import one with import_probe_set"):
        call_command("sample_probe_images", study="bare", random=3)
    bare.probe_set = study.probe_set
    bare.save()
    with pytest.raises(SamplingError, match="has no activations on probe set 'probe'"):
        do_sample_probe_images(bare, SampleDesign(3, 0))
    with pytest.raises(CommandError, match="nothing to draw"):
        call_command("sample_probe_images", study=study.name)
    assert not NeuronImage.objects.filter(is_sampled=True).exists()


def test_units_an_annotator_started_are_left_alone(study, staff, annotators):
    AnnotationSettings.objects.create(study=study, gold_rate=0)
    invite = do_create_invite(study, staff)
    do_join_study(annotators["alice"], invite)
    started = access_next_unit(annotators["alice"], study, prefetch=0)["units"][0]["neuron"]
    report = do_sample_probe_images(study, SampleDesign(**DESIGN))
    assert report.started == 1 and report.neurons == 2 * UNITS - 1
    assert not NeuronImage.objects.filter(neuron_id=started, is_sampled=True).exists()


def test_annotators_see_sampled_images_mixed_in_without_a_mark(study, staff, annotators):
    AnnotationSettings.objects.create(study=study, gold_rate=0, shuffle_images=True)
    sample(study)
    do_join_study(annotators["alice"], do_create_invite(study, staff))
    unit = access_next_unit(annotators["alice"], study, prefetch=0)["units"][0]
    shown = pairs_shown(annotators["alice"], unit)
    ids = [shown[img["id"]] for img in unit["images"]]  # opaque ids back to pair ids
    images = NeuronImage.objects.filter(neuron_id=unit["neuron"])
    assert sorted(ids) == sorted(images.values_list("pk", flat=True))
    assert {key for img in unit["images"] for key in img} == {"id", "url"}
    assert set(unit) == {"neuron", "label", "images"}
    sampled = set(images.filter(is_sampled=True).values_list("pk", flat=True))
    positions = [i for i, pk in enumerate(ids) if pk in sampled]
    assert positions != list(range(len(ids) - len(sampled), len(ids)))  # not all at the end


def test_gold_units_and_distractors_keep_working(study):
    sample(study)
    truth = Neuron.objects.filter(study=study, label_set__name="truth").order_by("unit")
    assert do_make_gold_units(study, {("layer4", 0): True}) == 1
    gold = GoldAnswer.objects.filter(neuron_image__neuron__unit=0)
    assert gold.count() == 5 and not gold.filter(neuron_image__is_sampled=True).exists()
    assert Unit.objects.get(neuron=truth[0]).is_gold
    added = do_add_distractors(study, share=1.0, seed=0)
    assert added > 0
    sampled_pictures = set(
        NeuronImage.objects.filter(neuron__study=study, is_sampled=True).values_list(
            "image_id", flat=True)
    )  # fmt: skip
    top_pictures = set(
        NeuronImage.objects.filter(TOP_K, neuron__study=study).values_list("image_id", flat=True)
    )
    distractors = NeuronImage.objects.filter(neuron__study=study, is_distractor=True)
    assert set(distractors.values_list("image_id", flat=True)) <= top_pictures
    for d in distractors:
        assert d.rank > d.neuron.images.exclude(pk=d.pk).order_by("-rank")[0].rank - 1
    assert sampled_pictures  # drawn pictures stay where they were
    assert NeuronImage.objects.filter(neuron__study=study, is_sampled=True).count() == len(
        sampled_rows(study)
    )


def test_a_new_label_set_gets_the_unit_images_by_sampling_again(study, tmp_path):
    sample(study)
    path = tmp_path / "third.csv"
    path.write_text("layer,unit,description,similarity\n" +
                    "".join(f"layer4,{u},thing{u},0.5\n" for u in range(UNITS)))  # fmt: skip
    call_command("import_labels", str(path), study=study.name, label_set="third")
    third = Neuron.objects.filter(study=study, label_set__name="third")
    assert not NeuronImage.objects.filter(neuron__in=third, is_sampled=True).exists()
    assert NeuronImage.objects.filter(neuron__in=third).count() == 5 * UNITS  # top-k only
    sample(study)
    for n in third:
        truth = Neuron.objects.get(study=study, label_set__name="truth", unit=n.unit)
        mine = n.images.filter(is_sampled=True).values_list("image_id", "inclusion_probability")
        theirs = truth.images.filter(is_sampled=True).values_list(
            "image_id", "inclusion_probability")  # fmt: skip
        assert sorted(mine) == sorted(theirs)


def test_reimporting_the_same_activations_keeps_the_sample(study, tmp_path):
    sample(study)
    before = sampled_rows(study)
    call_command("import_activations", str(tmp_path / "layer4.pt"), study=study.name,
                 probe_set="probe", layer="layer4")  # fmt: skip
    assert sampled_rows(study) == before and before


def test_a_leased_gold_unit_is_left_alone_too(study, staff, annotators):
    from annotate.annotation.assignment import claim_gold_unit

    AnnotationSettings.objects.create(study=study, gold_rate=0)
    do_join_study(annotators["alice"], do_create_invite(study, staff))
    do_make_gold_units(study, {("layer4", 2): True})
    assert claim_gold_unit(annotators["alice"], study)
    gold = Unit.objects.get(study=study, is_gold=True)
    assert (gold.claimed, gold.done) == (1, 0)  # leased, not answered
    report = do_sample_probe_images(study, SampleDesign(**DESIGN))
    assert report.started == 1
    assert not NeuronImage.objects.filter(neuron_id=gold.pk, is_sampled=True).exists()


def test_new_activations_drop_the_sample_unless_it_was_judged(study, tmp_path):
    import torch

    from evaluation.models import Judgment, Rater

    sample(study)
    other = tmp_path / "other.pt"  # the same top images, other values: other strata
    acts = torch.load(tmp_path / "layer4.pt")
    torch.save(acts + torch.where(acts > 2, 0.0, torch.rand(acts.shape)), other)
    pair = NeuronImage.objects.filter(neuron__study=study, is_sampled=True).first()
    rater = Rater.objects.create(name="clip", kind=Rater.Kind.OPENCLIP_ES)
    judgment = Judgment.objects.create(rater=rater, neuron_image=pair, verdict="no")
    before = sampled_rows(study)
    with pytest.raises(CommandError, match="judgments rest on images sampled"):
        call_command("import_activations", str(other), study=study.name, probe_set="probe",
                     layer="layer4")  # fmt: skip
    assert sampled_rows(study) == before
    judgment.delete()
    call_command("import_activations", str(other), study=study.name, probe_set="probe",
                 layer="layer4")  # fmt: skip
    assert sampled_rows(study) == []
    sample(study)
    assert sampled_rows(study) and sampled_rows(study) != before
