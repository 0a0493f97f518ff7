"""Sanity-probe neurons: does a rater tell a right label from a wrong one at all?

For a seeded sample of real neurons per layer, three probes are added:
- generic_label: the neuron's images under a label that fits anything ("objects", "things");
- shuffled_label: the neuron's images under the label of another neuron of the same layer;
- control_images: the neuron's label over the images of another neuron of the same layer.
Automatic raters rate them in their next run (a run covers every pair of the study); the
report's sanity table shows each rater's yes-rate on them next to its rate on real neurons.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction

from annotate.models import TOP_K, Neuron, NeuronImage, Study

GENERIC_LABELS = ("objects", "things")
Role = Neuron.Role


@dataclass
class SanityResult:
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped_layers: list[str] = field(default_factory=list)  # fewer than two distinct labels


def check_per_layer(per_layer: int) -> None:
    if not isinstance(per_layer, int) or not 1 <= per_layer <= 10_000:
        raise ValueError("per_layer must be an integer between 1 and 10000")


def _images(neuron: Neuron) -> list[tuple[int, int, float | None]]:
    return list(
        neuron.images.filter(TOP_K).order_by("rank").values_list("image_id", "rank", "activation")
    )


def _add_probe(source: Neuron, role: str, label: str, images, result: SanityResult) -> None:
    if source.probes.filter(role=role).exists():
        return
    probe = Neuron.objects.create(
        study=source.study, label_set_id=source.label_set_id, layer=source.layer,
        unit=source.unit, label=label, role=role, source=source,
    )  # fmt: skip
    NeuronImage.objects.bulk_create(
        NeuronImage(neuron=probe, image_id=image_id, rank=rank, activation=activation)
        for image_id, rank, activation in images
    )
    result.created[role] += 1


def _probes_for_layer(neurons: list[Neuron], per_layer: int, rng, result: SanityResult) -> None:
    sources = rng.sample(neurons, min(per_layer, len(neurons)))
    for i, source in enumerate(sources):
        others = [n for n in neurons if n.label.strip().lower() != source.label.strip().lower()]
        own = _images(source)
        _add_probe(source, Role.GENERIC_LABEL, GENERIC_LABELS[i % len(GENERIC_LABELS)], own, result)
        if not others:
            continue
        donor = rng.choice(others)
        _add_probe(source, Role.SHUFFLED_LABEL, donor.label, own, result)
        _add_probe(source, Role.CONTROL_IMAGES, source.label, _images(donor), result)


def do_create_sanity_probes(study: Study, per_layer: int = 20, seed: int = 0) -> SanityResult:
    """Create the probes; idempotent: a source neuron gets each kind of probe once."""
    check_per_layer(per_layer)
    rng = random.Random(seed)
    by_layer: dict[str, list[Neuron]] = defaultdict(list)
    for neuron in study.neurons.filter(role=Role.REAL).order_by("layer", "unit"):
        by_layer[neuron.layer].append(neuron)
    result = SanityResult()
    with transaction.atomic():
        for layer in sorted(by_layer):
            labels = {n.label.strip().lower() for n in by_layer[layer]}
            if len(labels) < 2:
                result.skipped_layers.append(layer)
            _probes_for_layer(by_layer[layer], per_layer, rng, result)
    return result
