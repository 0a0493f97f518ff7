"""A neuron's activations over its study's whole probe set, read without loading the layer."""

from __future__ import annotations

import numpy as np

from annotate.models import LayerActivations, Neuron


def read_neuron_activations(neuron: Neuron) -> np.ndarray:
    """Activation of the neuron's unit on every probe-set image, in probe-set row order.
    Raises LayerActivations.DoesNotExist when its layer's activations were not imported."""
    layer = LayerActivations.objects.get(study_id=neuron.study_id, layer=neuron.layer)
    return layer.read_unit(neuron.unit)
