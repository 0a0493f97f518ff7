"""Gold units take turns across annotators and layers, and count their claims like others."""

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.members import do_create_invite, do_join_study
from annotate.annotation.progress import unit_page
from annotate.annotation.quality import do_make_gold_units
from annotate.annotation.submission import do_submit_unit
from annotate.images import do_store_image
from annotate.models import AnnotationSettings, Neuron, NeuronImage, Study
from tests.helpers import answer_all, png_bytes

LAYERS = ["layer1", "layer2", "layer3"]


def layered_study(staff, users):
    """4 neurons in each of 3 layers, 2 of each layer gold; `users` joined."""
    study = Study.objects.create(
        name="gold", target_network="rn50", probe_dataset="gen", k=2, layers=LAYERS
    )
    AnnotationSettings.objects.create(study=study, shuffle_images=False, gold_rate=0.5, quota=4)
    for layer_no, layer in enumerate(LAYERS):
        for unit in range(4):
            neuron = Neuron.objects.create(study=study, layer=layer, unit=unit, label=f"c{unit}")
            for rank in (1, 2):
                seed = layer_no * 100 + unit * 10 + rank
                image = do_store_image(png_bytes(seed=seed))
                NeuronImage.objects.create(neuron=neuron, image=image, rank=rank)
    do_make_gold_units(study, {(layer, unit): True for layer in LAYERS for unit in (0, 1)})
    invite = do_create_invite(study, staff)
    for user in users:
        do_join_study(user, invite)
    return study


def test_gold_units_rotate_across_annotators_and_layers(staff, annotators):
    users = [annotators[name] for name in ("alice", "bob", "charlie")]
    study = layered_study(staff, users)
    gold_ids = set(study.units.filter(is_gold=True).values_list("neuron_id", flat=True))
    gold_seen = {}
    for user in users:
        access_next_unit(user, study, prefetch=0)  # one regular unit and one gold leased
        assert all(u.in_flight >= 0 for u in unit_page(study, 1))
        seen = []
        while units := access_next_unit(user, study, prefetch=0)["units"]:
            seen.append(units[0]["neuron"])
            do_submit_unit(user, study, **answer_all(units[0]))
        gold_seen[user.username] = [n for n in seen if n in gold_ids]
    layers = {
        name: {Neuron.objects.get(pk=n).layer for n in golds} for name, golds in gold_seen.items()
    }
    assert all(len(golds) == 2 for golds in gold_seen.values())
    assert all(len(seen) == 2 for seen in layers.values())  # two layers each, not one twice
    assert {n for golds in gold_seen.values() for n in golds} == gold_ids  # every gold shown
    rows = {u.neuron_id: (u.done, u.in_flight) for u in unit_page(study, 1) if u.is_gold}
    assert rows == {n: (1, 0) for n in gold_ids}  # answered once each, nothing "in progress"
