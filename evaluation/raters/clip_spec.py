"""Which OpenCLIP model a rater uses, checked and hashed without importing torch.

The web process validates parameters with this module; only workers load the model. A
checkpoint given by path is identified by the SHA-256 of its bytes, so every score can be
traced to the exact weights, and two copies of one file share one embedding cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.raters.base import LOOPBACK_SITE, RaterSite

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"
DEFAULT_THRESHOLD = 0.25
DEFAULT_PROPORTION = 0.01
PRECISIONS = ("fp32", "bf16", "fp16")
DEMO_MODEL = "neuronjudge-demo-clip"
DEMO_MODEL_DIR = Path(__file__).resolve().parents[1] / "demo_model"
DEMO_DESCRIPTION = "demo model trained on synthetic shapes"
CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


class InvalidClipParams(ValueError):
    """Parameters that cannot describe an OpenCLIP rater; the message says which and why."""


def model_dir() -> Path:
    """Where operators put weights: NEURONJUDGE_MODEL_DIR (same default as the settings)."""
    default = Path(__file__).resolve().parents[2] / "var" / "models"
    return Path(os.environ.get("NEURONJUDGE_MODEL_DIR") or default)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def demo_metadata() -> dict[str, Any]:
    path = DEMO_MODEL_DIR / "neuronjudge.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def local_dir_checkpoint(folder: Path) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.suffix in CHECKPOINT_SUFFIXES)
    return found[0] if found else None


@dataclass(frozen=True)
class ClipSpec:
    """The encoder part of a rater's configuration: what decides the embeddings."""

    model: str
    pretrained: str | None
    checkpoint_sha256: str | None
    precision: str

    @property
    def model_key(self) -> str:
        """Cache key: same weights and precision, same embeddings (CP and ES share them)."""
        weights = f"sha256:{self.checkpoint_sha256}" if self.checkpoint_sha256 else self.pretrained
        blob = json.dumps([self.model, weights, self.precision], separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def is_demo(self) -> bool:
        return self.model == DEMO_MODEL

    @property
    def open_clip_name(self) -> str:
        return f"local-dir:{DEMO_MODEL_DIR}" if self.is_demo else self.model

    @property
    def checkpoint_path(self) -> Path | None:
        """A local file to load, or None when `pretrained` is a tag to look up in caches."""
        if self.is_demo:
            return local_dir_checkpoint(DEMO_MODEL_DIR) if DEMO_MODEL_DIR.is_dir() else None
        if self.model.startswith("local-dir:"):
            return local_dir_checkpoint(Path(self.model.removeprefix("local-dir:")))
        if self.pretrained and Path(self.pretrained).suffix in CHECKPOINT_SUFFIXES:
            return Path(self.pretrained)
        return None


def _number(params: dict, name: str, default: float, low: float, high: float) -> float:
    value = params.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidClipParams(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidClipParams(f"{name} must be between {low} and {high}, got {number}")
    return number


def _checkpoint_hash(model: str, pretrained: str | None) -> str | None:
    spec = ClipSpec(model, pretrained, None, "fp32")
    path = spec.checkpoint_path
    if path is None and (spec.is_demo or model.startswith("local-dir:")):
        where = DEMO_MODEL_DIR if spec.is_demo else model.removeprefix("local-dir:")
        raise InvalidClipParams(
            f"no checkpoint (*.safetensors, *.bin, *.pt) in {where}"
            + (": run scripts/train_demo_clip.py" if spec.is_demo else "")
        )
    if path is None:
        return None
    if not path.is_file():
        raise InvalidClipParams(f"checkpoint file {path} does not exist on this machine")
    return file_sha256(path)


def check_clip_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults, validate, and add the checkpoint hash: the rater's full configuration."""
    if not isinstance(params, dict):
        raise InvalidClipParams("parameters must be a JSON object")
    known = {"model", "pretrained", "precision", "threshold", "proportion", "batch_size"}
    unknown = set(params) - known - {"checkpoint_sha256", "preprocess", "description"}
    if unknown:
        raise InvalidClipParams(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    model = str(params.get("model") or DEFAULT_MODEL).strip()
    default_tag = (
        None if model == DEMO_MODEL or model.startswith("local-dir:") else DEFAULT_PRETRAINED
    )
    pretrained = params.get("pretrained", default_tag)
    pretrained = str(pretrained).strip() if pretrained else None
    if default_tag is None:  # the folder holds the weights; open_clip ignores `pretrained`
        pretrained = None
    precision = str(params.get("precision") or "fp32")
    if precision not in PRECISIONS:
        raise InvalidClipParams(f"precision must be one of {', '.join(PRECISIONS)}")
    out: dict[str, Any] = {"model": model, "pretrained": pretrained, "precision": precision}
    if kind == "openclip_es":
        default = (
            demo_metadata().get("es_threshold", DEFAULT_THRESHOLD)
            if model == DEMO_MODEL
            else DEFAULT_THRESHOLD
        )
        out["threshold"] = _number(params, "threshold", default, -1.0, 1.0)
    elif kind == "openclip_cp":
        out["proportion"] = _number(params, "proportion", DEFAULT_PROPORTION, 1e-9, 1.0)
    else:
        raise InvalidClipParams(f"{kind!r} is not an OpenCLIP rater kind")
    if params.get("batch_size") is not None:
        out["batch_size"] = int(_number(params, "batch_size", 0, 1, 65536))
    out["checkpoint_sha256"] = _checkpoint_hash(model, pretrained)
    out["preprocess"] = "open_clip eval transform of the model/tag (resize, centre crop, normalise)"
    if model == DEMO_MODEL:
        out["description"] = DEMO_DESCRIPTION
    return out


def full_es_params(params: dict[str, Any], site: RaterSite = LOOPBACK_SITE) -> dict[str, Any]:
    """The registry's parameter check for embedding similarity."""
    return check_clip_params("openclip_es", params)


def full_cp_params(params: dict[str, Any], site: RaterSite = LOOPBACK_SITE) -> dict[str, Any]:
    """The registry's parameter check for concept proportion."""
    return check_clip_params("openclip_cp", params)


def spec_from_params(params: dict[str, Any]) -> ClipSpec:
    return ClipSpec(
        model=params.get("model") or DEFAULT_MODEL,
        pretrained=params.get("pretrained"),
        checkpoint_sha256=params.get("checkpoint_sha256"),
        precision=params.get("precision") or "fp32",
    )
