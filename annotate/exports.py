"""A study's labels and images as rows, in the shapes the importers read back."""

from __future__ import annotations

from collections.abc import Iterator

from annotate.models import TOP_K, Neuron, NeuronImage, Study


def _number(value: float | None) -> str:
    """repr() of a float reads back to the same float; None is an empty cell."""
    return "" if value is None else repr(value)


def label_rows(study: Study) -> Iterator[tuple]:
    neurons = (
        Neuron.objects.filter(study=study, role=Neuron.Role.REAL)
        .order_by("label_set_id", "layer", "unit")
        .values_list("label_set__name", "layer", "unit", "label", "method_score")
    )
    for name, layer, unit, label, score in neurons.iterator(chunk_size=5000):
        yield name, layer, unit, label, _number(score)


def image_rows(study: Study) -> Iterator[tuple]:
    """Each unit's images once, however many label sets the study has: images belong to
    the unit, and every label set's neuron of it shows the same ones."""
    first_set = study.label_sets.order_by("pk").values_list("pk", flat=True).first()
    pairs = (
        NeuronImage.objects.filter(
            neuron__study=study,
            neuron__role=Neuron.Role.REAL,
            neuron__label_set_id=first_set,
        )
        .filter(TOP_K)
        .order_by("neuron__layer", "neuron__unit", "rank")
        .values_list("neuron__layer", "neuron__unit", "rank", "image__sha256", "activation")
    )
    for layer, unit, rank, sha, activation in pairs.iterator(chunk_size=5000):
        yield layer, unit, rank, sha, _number(activation)
