"""Weights: a clear, fast failure when they are absent; local checkpoints traced by SHA-256."""

from __future__ import annotations

import hashlib
import json

import pytest

from evaluation.raters.base import RaterUnavailable
from evaluation.raters.clip_spec import InvalidClipParams, check_clip_params
from evaluation.raters.openclip import build_concept_proportion, build_embedding_similarity
from tests.doubles.tiny_clip import TINY_CFG


def test_missing_pretrained_weights_fail_fast_with_how_to(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURONJUDGE_MODEL_DIR", str(tmp_path / "models"))
    with pytest.raises(RaterUnavailable) as caught:
        build_embedding_similarity({"model": "ViT-B-32", "pretrained": "laion2b_s34b_b79k"}, "cpu")
    message = str(caught.value)
    for needed in (
        "'ViT-B-32'",
        "'laion2b_s34b_b79k'",
        "NEURONJUDGE_MODEL_DIR",
        "HF_HOME",
        str(tmp_path / "models"),
        "local checkpoint path",
    ):
        assert needed in message


def test_unknown_tag_names_the_known_ones():
    with pytest.raises(RaterUnavailable, match="laion2b_s34b_b79k"):
        build_concept_proportion({"model": "ViT-B-32", "pretrained": "no-such-tag"}, "cpu")


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("openclip_es", {"threshold": "high"}, "threshold must be a number"),
        ("openclip_es", {"threshold": 3}, "between"),
        ("openclip_cp", {"proportion": 0}, "between"),
        ("openclip_cp", {"precision": "int4"}, "precision"),
        ("openclip_es", {"pretrained": "/nowhere/model.pt"}, "does not exist"),
        ("openclip_es", {"model": "local-dir:/nowhere"}, "/nowhere"),
        ("openclip_es", {"temperature": 1}, "unknown parameter"),
        ("vqa_blip2", {}, "not an OpenCLIP rater kind"),
    ],
)
def test_bad_parameters_are_refused_clearly(kind, params, message):
    with pytest.raises((InvalidClipParams, FileNotFoundError), match=message):
        check_clip_params(kind, params)


def test_defaults_are_the_reference_study_configuration():
    assert check_clip_params("openclip_es", {}) == {
        "model": "ViT-B-32",
        "pretrained": "laion2b_s34b_b79k",
        "precision": "fp32",
        "threshold": 0.25,
        "checkpoint_sha256": None,
        "preprocess": "open_clip eval transform of the model/tag (resize, centre crop, normalise)",
    }
    assert check_clip_params("openclip_cp", {})["proportion"] == 0.01


def _tiny_checkpoint_dir(tmp_path, seed=0):
    import open_clip
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CFG)
    folder = tmp_path / f"tiny{seed}"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CFG}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "w.safetensors")
    return folder, model


def test_local_checkpoint_loads_and_its_hash_is_stored(tmp_path):
    folder, model = _tiny_checkpoint_dir(tmp_path)
    params = check_clip_params("openclip_es", {"model": f"local-dir:{folder}"})
    digest = hashlib.sha256((folder / "w.safetensors").read_bytes()).hexdigest()
    assert params["checkpoint_sha256"] == digest
    rater = build_embedding_similarity(params, "cpu")
    loaded = rater.encoder.model.state_dict()
    assert all((loaded[k] == v).all() for k, v in model.state_dict().items())

    # weights replaced behind the rater's back: refuse rather than score with other weights
    (folder / "w.safetensors").write_bytes(b"changed")
    other = dict(params, precision="bf16")  # another model key, so nothing cached is reused
    with pytest.raises(RaterUnavailable, match="no longer matches"):
        build_embedding_similarity(other, "cpu")
