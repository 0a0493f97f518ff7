"""A CLIP-Dissect-shaped dissection on generated data: an ImageFolder probe folder of tiny
images in a few classes, a [N, units] activation tensor saved with torch.save whose unit u
responds to class u, and descriptions.csv files (a correct label per unit, and a generic
one), imported through the management commands."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from django.core.management import call_command
from PIL import Image

from annotate.models import NeuronImage, Study

CLASSES = [f"class{c}" for c in range(10)]
PER_CLASS = 30
UNITS = 6  # unit u responds to CLASSES[u]


def tiny_png(rng: np.random.Generator) -> bytes:
    pixels = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def probe_folder(root: Path, seed: int = 0) -> Path:
    """root/<class>/<nnn>.png: rows in ImageFolder order are class-major."""
    rng = np.random.default_rng(seed)
    for name in CLASSES:
        (root / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            (root / name / f"{i:03d}.png").write_bytes(tiny_png(rng))
    return root


def image_class() -> np.ndarray:
    """The class of each probe-set row."""
    return np.repeat(np.arange(len(CLASSES)), PER_CLASS)


def planted_activations(path: Path, seed: int = 0) -> Path:
    """[N images, UNITS] float32: 3 on the unit's class, Gaussian noise (sd 0.3) on all."""
    rng = np.random.default_rng(seed)
    classes = image_class()
    acts = 3.0 * (classes[:, None] == np.arange(UNITS)[None, :])
    acts = acts + rng.normal(0, 0.3, size=acts.shape)
    torch.save(torch.from_numpy(acts.astype(np.float32)), path)
    return path


def descriptions(path: Path, label_of) -> Path:
    """CLIP-Dissect's descriptions.csv: layer,unit,description,similarity."""
    lines = ["layer,unit,description,similarity"]
    lines += [f"layer4,{u},{label_of(u)},0.{u + 1}" for u in range(UNITS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def import_dissection(tmp_path: Path, study: str = "S", k: int = 5) -> Study:
    """probe set, a correct and a generic label set, and the layer's activations."""
    call_command("import_probe_set", "probe", str(probe_folder(tmp_path / "probe")))
    truth = descriptions(tmp_path / "truth.csv", lambda u: CLASSES[u])
    generic = descriptions(tmp_path / "generic.csv", lambda u: "objects")
    call_command("import_labels", str(truth), study=study, label_set="truth", k=k,
                 network="resnet18", probe_dataset="probe")  # fmt: skip
    call_command("import_labels", str(generic), study=study, label_set="generic")
    acts = planted_activations(tmp_path / "layer4.pt")
    call_command("import_activations", str(acts), study=study, probe_set="probe", layer="layer4")
    return Study.objects.get(name=study)


def sampled_rows(study: Study) -> list[tuple]:
    return list(
        NeuronImage.objects.filter(neuron__study=study, is_sampled=True)
        .order_by("neuron_id", "rank")
        .values_list("neuron_id", "image_id", "rank", "inclusion_probability", "sample_design")
    )
