"""The README's REST API example, step by step through the API (the run is queued, not run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.models import Neuron
from evaluation.models import EvaluationRun

pytestmark = pytest.mark.django_db

CSV = Path("/work/shared/data/clip-dissect/results/clip_dissect_resnet50_imagenet_broden.csv")
if not CSV.exists():  # CI and developers have shared/ beside the repository
    CSV = Path(__file__).resolve().parents[3] / "shared" / CSV.relative_to("/work/shared")


@pytest.mark.skipif(not CSV.exists(), reason="the shared CLIP-Dissect data is not here")
def test_readme_flow_imports_the_clip_dissect_csv_starts_a_run_and_reads_kappa(
    api, staff, monkeypatch
):
    queued: list[int] = []
    monkeypatch.setattr("evaluation.api.start._publish", queued.append)
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

    rater = api.post(
        "/api/raters/",
        {"name": "OpenCLIP ES ViT-B-32", "kind": "openclip_es", "params": {"threshold": 0.25}},
        format="json",
    ).json()
    run = api.post("/api/runs/", {"study": study["id"], "rater": rater["id"]}, format="json")
    assert run.status_code == 201
    assert queued == [run.json()["id"]] == [EvaluationRun.objects.get().pk]
    assert api.get(f"/api/runs/{run.json()['id']}/").json()["status"] == "queued"

    kappa = api.get(f"/api/reports/{study['id']}/matrix/", {"metric": "kappa", "n_boot": 0})
    assert kappa.json() == {"metric": "kappa", "level": "pair", "raters": [], "matrix": []}
