"""The OpenCLIP models this machine has, found without torch or open_clip, for the start-run
form: the reference weights when cached, the demo CLIP, and every open_clip folder (a
``local-dir:`` model, Hugging Face snapshots included) under NEURONJUDGE_MODEL_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from evaluation.raters.clip_spec import (
    DEFAULT_MODEL,
    DEFAULT_PRETRAINED,
    DEMO_DESCRIPTION,
    DEMO_MODEL,
    DEMO_MODEL_DIR,
    local_dir_checkpoint,
    model_dir,
)

# open_clip's hub repository for DEFAULT_MODEL / DEFAULT_PRETRAINED (tests check it still is).
DEFAULT_HF_HUB = "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
MAX_DEPTH = 4  # a Hugging Face snapshot sits at models--org--name/snapshots/<hash>/
MAX_FOLDERS = 50


def reference_weights_cached() -> bool:
    """Whether DEFAULT_MODEL's DEFAULT_PRETRAINED weights are in a local Hugging Face cache
    (NEURONJUDGE_MODEL_DIR first, then HF_HOME), as the workers would look them up."""
    from huggingface_hub import try_to_load_from_cache

    return any(
        isinstance(try_to_load_from_cache(DEFAULT_HF_HUB, name, cache_dir=cache_dir), str)
        for cache_dir in (str(model_dir()), None)
        for name in HUB_FILES
    )


def open_clip_folders(root: Path) -> list[Path]:
    """Folders under `root` holding open_clip_config.json and a checkpoint, sorted."""
    found: list[Path] = []
    if not root.is_dir():
        return found
    for folder, subfolders, files in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        if depth >= MAX_DEPTH:
            subfolders.clear()
        if "open_clip_config.json" in files and local_dir_checkpoint(Path(folder)):
            found.append(Path(folder))
        if len(found) >= MAX_FOLDERS:
            break
    return sorted(found)


def _folder_label(folder: Path, root: Path) -> str:
    parts = folder.relative_to(root).parts
    if parts and parts[0].startswith("models--"):  # Hugging Face cache: show the repository
        return parts[0].removeprefix("models--").replace("--", "/")
    return str(folder.relative_to(root)) if parts else folder.name


def local_clip_models() -> list[tuple[str, str]]:
    """(model, label) of every OpenCLIP model here; the first is the form's default."""
    models: list[tuple[str, str]] = []
    if reference_weights_cached():
        models.append((DEFAULT_MODEL, f"{DEFAULT_MODEL} · {DEFAULT_PRETRAINED}"))
    if DEMO_MODEL_DIR.is_dir() and local_dir_checkpoint(DEMO_MODEL_DIR):
        models.append((DEMO_MODEL, DEMO_DESCRIPTION))
    root = model_dir()
    for folder in open_clip_folders(root):
        models.append((f"local-dir:{folder}", _folder_label(folder, root)))
    return models
