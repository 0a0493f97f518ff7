"""The README's REST API example, step by step through the API (the run is queued, not run)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.demo_images import render
from annotate.models import Neuron, NeuronImage
from evaluation.models import EvaluationRun

pytestmark = pytest.mark.django_db

CSV = Path("/work/shared/data/clip-dissect/results/clip_dissect_resnet50_imagenet_broden.csv")
if not CSV.exists():  # CI and developers have shared/ beside the repository
    CSV = Path(__file__).resolve().parents[3] / "shared" / CSV.relative_to("/work/shared")


@pytest.mark.skipif(not CSV.exists(), reason="the shared CLIP-Dissect data is not here")
def _top_images_upload() -> tuple[SimpleUploadedFile, SimpleUploadedFile]:
    """A manifest and zip of top images for two units: enough for a run to have pairs."""
    archive = io.BytesIO()
    rows = ["layer,unit,rank,path"]
    with zipfile.ZipFile(archive, "w") as zf:
        for unit in (0, 1):
            for rank in (1, 2):
                name = f"layer4_{unit}_{rank}.png"
                zf.writestr(name, render("circle", "red", "plain", variant=unit * 2 + rank).png)
                rows.append(f"layer4,{unit},{rank},{name}")
    manifest = SimpleUploadedFile("manifest.csv", "\n".join(rows).encode())
    return manifest, SimpleUploadedFile("images.zip", archive.getvalue())


def test_readme_flow_imports_the_clip_dissect_csv_starts_a_run_and_reads_kappa(
    api, staff, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(
        "evaluation.run_actions._send", lambda messages: queued.extend(m[1] for m in messages)
    )
    token = api.post("/api/auth/token/", {"username": "staff", "password": "staff-pass"})
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    study = api.post(
        "/api/studies/",
        {
            "name": "ResNet-50 ImageNet, Broden (CLIP-Dissect)",
            "target_network": "resnet50",
            "probe_dataset": "broden",
            "method": "clip_dissect",
            "k": 5,
        },
        format="json",
    ).json()
    upload = SimpleUploadedFile(CSV.name, CSV.read_bytes())
    imported = api.post(
        f"/api/studies/{study['id']}/import-labels/", {"file": upload}, format="multipart"
    ).json()
    assert imported["created"] == 3_904
    assert Neuron.objects.filter(study_id=study["id"]).count() == 3_904
    layers = api.get(f"/api/studies/{study['id']}/").json()["layers"]
    assert layers == ["conv1", "layer1", "layer2", "layer3", "layer4"]
    assert (
        api.get(f"/api/neurons/?study={study['id']}&layer=layer4&limit=1").json()["count"] == 2_048
    )

    manifest, images = _top_images_upload()
    added = api.post(
        f"/api/studies/{study['id']}/import-images/",
        {"manifest": manifest, "images": images},
        format="multipart",
    )
    assert added.status_code == 200, added.content
    assert NeuronImage.objects.filter(neuron__study_id=study["id"]).count() == 4

    rater = api.post(
        "/api/raters/",
        {"name": "OpenCLIP ES ViT-B-32", "kind": "openclip_es", "params": {"threshold": 0.25}},
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        run = api.post("/api/runs/", {"study": study["id"], "rater": rater["id"]}, format="json")
    assert run.status_code == 201
    assert queued == [run.json()["id"]] == [EvaluationRun.objects.get().pk]
    assert api.get(f"/api/runs/{run.json()['id']}/").json()["status"] == "queued"

    kappa = api.get(f"/api/reports/{study['id']}/matrix/", {"metric": "kappa", "n_boot": 0})
    assert kappa.json() == {"metric": "kappa", "level": "pair", "raters": [], "matrix": []}
