"""The README's path from a CLIP-Dissect run to a study ready to annotate: its three commands,
read from the README itself, run on files in the shapes CLIP-Dissect writes; then an
annotator is served units with k images each."""

import json
import re
import shlex
from pathlib import Path

import pytest
import torch
from django.core.management import call_command
from PIL import Image

from annotate.annotation.members import do_create_invite, do_join_study
from annotate.models import Neuron, Study
from tests.probe_sets.helpers import top_images

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
CLASSES = {"ade20k": 5, "dtd": 4, "pascal": 3}  # Broden's images/ holds one folder per source
UNITS = ["dogs", "stripes", "sky", "wheels"]


def readme_commands() -> list[list[str]]:
    """The `$M ...` lines of the README block that runs import_activations, as arguments."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    block = next(b for b in blocks if "import_activations" in b and "import_probe_set" in b)
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("$M ")]


def clip_dissect_checkout(root: Path) -> Path:
    """The probe folder, results folder and saved activations of one CLIP-Dissect run."""
    images = root / "data" / "broden1_224" / "images"
    seed = 0
    for name, count in CLASSES.items():
        (images / name).mkdir(parents=True)
        for i in range(count):
            seed += 1
            Image.new("RGB", (12, 12), (seed * 20 % 256, 90, 200 - seed)).save(
                images / name / f"{name}_{i:05d}.jpg", quality=95
            )
    results = root / "results" / "resnet50_24_06_01_12_00"
    results.mkdir(parents=True)
    rows = "".join(f"layer4,{u},{label},{0.2 + u / 100:.4f}\n" for u, label in enumerate(UNITS))
    (results / "descriptions.csv").write_text("layer,unit,description,similarity\n" + rows)
    args = {
        "clip_model": "ViT-B/16",
        "target_model": "resnet50",
        "target_layers": "layer4",
        "d_probe": "broden",
        "concept_set": "data/20k.txt",
        "batch_size": 200,
        "device": "cuda",
        "activation_dir": "saved_activations",
        "result_dir": "results",
        "pool_mode": "avg",
        "similarity_fn": "soft_wpmi",
    }
    (results / "args.txt").write_text(json.dumps(args, indent=2))
    saved = root / "saved_activations"
    saved.mkdir()
    torch.manual_seed(0)
    torch.save(torch.rand(sum(CLASSES.values()), len(UNITS)), saved / "broden_resnet50_layer4.pt")
    return root


def test_three_readme_commands_make_a_study_ready_to_annotate(tmp_path, staff, annotators, client):
    root = clip_dissect_checkout(tmp_path / "CLIP-dissect")
    commands = readme_commands()
    assert [c[0] for c in commands] == ["import_probe_set", "import_labels", "import_activations"]
    for command in commands:
        call_command(*[arg.replace("$R", str(root)) for arg in command])

    study = Study.objects.get(name="RN50 Broden")
    assert (study.target_network, study.probe_dataset, study.k) == ("resnet50", "broden", 5)
    assert study.probe_set.size == 12 and study.layers == ["layer4"]
    assert study.label_sets.get().settings["pool_mode"] == "avg"
    acts = torch.load(root / "saved_activations" / "broden_resnet50_layer4.pt")
    for unit in range(len(UNITS)):
        expected = torch.topk(acts[:, unit], k=5).indices.tolist()
        assert [row for row, _ in top_images(study, "layer4", unit)] == expected

    alice = annotators["alice"]
    do_join_study(alice, do_create_invite(study, staff))
    client.force_login(alice)
    response = client.post(
        f"/api/annotate/{study.pk}/next/", {"prefetch": 3}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    units = response.json()["units"]
    assert len(units) == 4
    for unit in units:
        neuron = Neuron.objects.get(pk=unit["neuron"])
        assert unit["label"] == UNITS[neuron.unit] and len(unit["images"]) == study.k
        assert client.get(unit["images"][0]["url"]).status_code == 200
