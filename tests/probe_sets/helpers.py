"""Files in the shapes the dissection tools write: ImageFolder trees of generated images,
activation tensors saved with torch.save or np.save."""

from __future__ import annotations

from pathlib import Path

from annotate.models import (
    Neuron,
    ProbeSet,
    ProbeSetImage,
    Study,
)
from tests.helpers import png_bytes


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


def media_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


