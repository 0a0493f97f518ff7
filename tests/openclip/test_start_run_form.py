"""The study page's start-run form: models this machine has, and the Model field for VQA."""

from __future__ import annotations

import re
import shutil

import pytest
from django.urls import reverse

from evaluation.models import EvaluationRun, Rater
from evaluation.raters.clip_models import DEFAULT_HF_HUB
from evaluation.raters.clip_spec import DEMO_MODEL, DEMO_MODEL_DIR

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    published: list[int] = []
    monkeypatch.setattr(
        "evaluation.run_actions._send", lambda messages: published.extend(m[1] for m in messages)
    )
    return published


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    """NEURONJUDGE_MODEL_DIR with one open_clip folder, as an operator would put it there."""
    root = tmp_path / "models"
    shutil.copytree(DEMO_MODEL_DIR, root / "shapes-clip")
    monkeypatch.setenv("NEURONJUDGE_MODEL_DIR", str(root))
    return root


def _field(page: str, name: str) -> str:
    return re.search(rf'<input type="text" name="{name}"[^>]*value="([^"]*)"', page).group(1)


def _datalist(page: str, kind: str) -> list[str]:
    found = re.search(rf'<datalist id="run-models-{kind}">(.*?)</datalist>', page, re.S)
    return re.findall(r'<option value="([^"]*)"', found.group(1))


def _study_page(client, staff, make_study) -> str:
    study = make_study(neurons=1, k=2)
    client.force_login(staff)
    return client.get(reverse("study-detail", args=[study.pk])).content.decode()


def test_form_defaults_to_the_demo_clip_and_lists_local_models(
    client, staff, make_study, model_dir
):
    page = _study_page(client, staff, make_study)
    assert _field(page, "model") == DEMO_MODEL and _field(page, "pretrained") == ""
    local = f"local-dir:{model_dir / 'shapes-clip'}"
    assert _datalist(page, "openclip_es") == [DEMO_MODEL, local]
    assert _datalist(page, "openclip_cp") == [DEMO_MODEL, local]
    assert _datalist(page, "vqa_blip2") == ["Salesforce/blip2-opt-2.7b"]
    assert _datalist(page, "vqa_openai") == []
    assert 'value="vqa_openai" data-default-model=""' in page


def test_form_defaults_to_the_reference_clip_when_its_weights_are_cached(
    client, staff, make_study, model_dir
):
    repo = model_dir / f"models--{DEFAULT_HF_HUB.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "open_clip_model.safetensors").write_bytes(b"weights")
    page = _study_page(client, staff, make_study)
    assert _field(page, "model") == "ViT-B-32"
    assert _field(page, "pretrained") == "laion2b_s34b_b79k"
    assert _datalist(page, "openclip_es")[:2] == ["ViT-B-32", DEMO_MODEL]


@pytest.mark.django_db(transaction=True)
def test_the_default_model_starts_a_run_here(client, staff, make_study, model_dir, sent):
    """A newcomer who only presses "Start run" gets a rater whose weights this machine has."""
    study = make_study(neurons=1, k=2)
    client.force_login(staff)
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    form = {"kind": "openclip_es", "precision": "fp32"}
    form |= {name: _field(page, name) for name in ("model", "pretrained")}
    client.post(reverse("run-start", args=[study.pk]), form)
    run = EvaluationRun.objects.get()
    assert sent == [run.pk]
    assert run.rater.params["model"] == DEMO_MODEL and run.rater.params["checkpoint_sha256"]


@pytest.mark.parametrize(
    "kind, model, params_json",
    [
        ("vqa_openai", "llava-1.6", '{"base_url": "http://127.0.0.1:8000/v1"}'),
        ("vqa_blip2", "Salesforce/blip2-flan-t5-xl", ""),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_vqa_kinds_take_the_model_field(client, staff, make_study, sent, kind, model, params_json):
    study = make_study(neurons=1, k=2)
    client.force_login(staff)
    response = client.post(
        reverse("run-start", args=[study.pk]),
        {"kind": kind, "model": model, "precision": "fp32", "params_json": params_json},
        follow=True,
    )
    rater = Rater.objects.get(kind=kind)
    assert rater.params["model"] == model, response.content.decode()
    assert "precision" not in rater.params and "pretrained" not in rater.params
    assert sent == [EvaluationRun.objects.get().pk]


def test_default_hub_repository_is_open_clips():
    """clip_models names the reference weights' repository without importing open_clip."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg("ViT-B-32", "laion2b_s34b_b79k")
    assert cfg["hf_hub"].rstrip("/") == DEFAULT_HF_HUB
