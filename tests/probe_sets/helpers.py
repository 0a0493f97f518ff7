"""Files in the shapes the dissection tools write: ImageFolder trees of generated images,
activation tensors saved with torch.save or np.save."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotate.models import (
    LayerActivations,
    Neuron,
    NeuronImage,
    ProbeImage,
    ProbeSet,
    ProbeSetImage,
    Study,
)
from tests.conftest import png_bytes


def image_folder(root: Path, classes: dict[str, list[str]], seed: int = 0) -> Path:
    """`root/<class>/<file>` with a distinct PNG per file (ImageFolder layout)."""
    for class_name, files in classes.items():
        (root / class_name).mkdir(parents=True, exist_ok=True)
        for name in files:
            seed += 1
            (root / class_name / name).write_bytes(png_bytes(seed=seed, size=(16, 16)))
    return root


def paths(probe_set: ProbeSet) -> list[str]:
    return list(probe_set.rows.order_by("index").values_list("path", flat=True))


def make_probe_set(tmp_path: Path, n: int, name: str = "probe") -> ProbeSet:
    """A probe set of `n` distinct images in one class folder, imported for real."""
    from annotate.importers.probe_sets import do_import_probe_set

    folder = image_folder(tmp_path / name, {"all": [f"{i:04d}.png" for i in range(n)]})
    return do_import_probe_set(name, [folder])[0]


def make_study(name: str = "S", k: int = 3) -> Study:
    return Study.objects.create(name=name, target_network="resnet50", probe_dataset="gen", k=k)


def top_images(study: Study, layer: str, unit: int) -> list[tuple[int, float]]:
    """(probe row index, activation) of a neuron's top images, by rank."""
    neuron = Neuron.objects.get(study=study, layer=layer, unit=unit)
    probe_set = Study.objects.get(pk=study.pk).probe_set
    index_of = dict(
        ProbeSetImage.objects.filter(probe_set=probe_set)
        .order_by("-index")
        .values_list("image_id", "index")
    )  # a picture at two rows maps to its first row
    return [
        (index_of[image], activation)
        for image, activation in neuron.images.order_by("rank").values_list(
            "image_id", "activation"
        )
    ]


def snapshot() -> dict:
    return {
        "probe_sets": list(ProbeSet.objects.values_list("name", "size", "sha256")),
        "probe_rows": ProbeSetImage.objects.count(),
        "images": ProbeImage.objects.count(),
        "neurons": list(Neuron.objects.order_by("pk").values_list("pk", "layer", "unit")),
        "neuron_images": list(
            NeuronImage.objects.order_by("pk").values_list("neuron_id", "rank", "image_id")
        ),
        "activations": list(LayerActivations.objects.values_list("layer", "sha256")),
        "study_probe_sets": list(Study.objects.values_list("probe_set", flat=True)),
    }


def media_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def refused(call, *expected: str):
    from annotate.importers import ImportFailed

    before = snapshot()
    with pytest.raises(ImportFailed) as info:
        call()
    for part in expected:
        assert part in info.value.text(), info.value.text()
    assert snapshot() == before
    return info.value
