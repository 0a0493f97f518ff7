"""The study page's neuron cards as plain data, numbers formatted once in Python.

Rendering 48 neurons x 5 thumbnails through template lookups and the `floatformat` filter
cost about 75 ms a page at 100,000 neurons; plain strings and one storage call per image
halve it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thumb:
    url: str
    rank: int
    activation: str  # "" when the manifest gave none


@dataclass(frozen=True)
class NeuronCard:
    layer: str
    unit: int
    label: str
    score: str  # "" when the method gave none
    thumbs: list[Thumb]


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def neuron_cards(neurons) -> list[NeuronCard]:
    """`neurons` with their non-distractor images prefetched in rank order (`images`)."""
    return [
        NeuronCard(
            layer=n.layer,
            unit=n.unit,
            label=n.label,
            score=_number(n.method_score, 3),
            thumbs=[
                Thumb(ni.image.file.url, ni.rank, _number(ni.activation, 2))
                for ni in n.images.all()
            ],
        )
        for n in neurons
    ]
