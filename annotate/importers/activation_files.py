"""Opening a layer's saved activations: CLIP-Dissect's `saved_activations/*.pt`, Linear
Explanations' fp16 `all_{pool}.pt`, or a `.npy`; one float array `[N_images, n_units]`.

Files are memory-mapped, never read whole, and never unpickled beyond tensors:
`torch.load(weights_only=True)` refuses any other object, `np.load(allow_pickle=False)`
refuses object arrays.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from annotate.importers.errors import fail

SHAPE_HINT = "expected one float tensor [N_images, n_units], as CLIP-Dissect saves"


def open_activations(path: Path) -> np.ndarray:
    """The file's activations as a float array `[N_images, n_units]`, memory-mapped (but
    for `.pt` files in torch's pre-1.6 format, which are read whole)."""
    name = path.name
    if not path.is_file():
        raise fail(name, f"file not found: {path}")
    array = _open_npy(path) if path.suffix.lower() == ".npy" else _open_pt(path)
    if array.ndim != 2:
        raise fail(name, f"holds an array of shape {tuple(array.shape)}; {SHAPE_HINT}")
    if array.dtype.kind != "f":
        raise fail(name, f"holds {array.dtype} values; {SHAPE_HINT}")
    if 0 in array.shape:
        raise fail(name, f"holds an empty array of shape {tuple(array.shape)}")
    return array


def _open_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Python objects" in str(exc):
            raise fail(path.name, "holds Python objects, refused; " + SHAPE_HINT) from None
        raise fail(path.name, f"not a .npy array file: {exc}") from None
    except (OSError, EOFError) as exc:
        raise fail(path.name, f"not a .npy array file: {exc}") from None
    if not isinstance(array, np.ndarray):
        raise fail(path.name, f"holds a {type(array).__name__}, not one array; {SHAPE_HINT}")
    return array


def _open_pt(path: Path) -> np.ndarray:
    import torch

    try:
        value = _torch_load(path, mmap=True)
    except RuntimeError:  # the pre-1.6 format cannot be memory-mapped: read it whole
        value = _torch_load(path, mmap=False)
    if not isinstance(value, torch.Tensor):
        raise fail(path.name, f"holds a {type(value).__name__}, not a tensor; {SHAPE_HINT}")
    if not value.is_floating_point():
        raise fail(path.name, f"holds a {value.dtype} tensor; {SHAPE_HINT}")
    if value.dtype not in (torch.float16, torch.float32, torch.float64):
        value = value.float()  # bfloat16 has no numpy view
    return value.detach().numpy()


def _torch_load(path: Path, mmap: bool):
    import torch

    try:
        return torch.load(path, map_location="cpu", mmap=mmap, weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = str(exc).strip().splitlines()[-1][:200]
        raise fail(
            path.name, "refused: it holds Python objects that are not tensors (loaded with "
            f"weights_only=True, nothing was unpickled): {reason}",
        ) from None  # fmt: skip
    except RuntimeError as exc:
        if mmap and "mmap can only be used" in str(exc):
            raise
        raise _not_torch(path, exc) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _not_torch(path, exc) from None


def _not_torch(path: Path, exc: Exception):
    reason = str(exc).strip().splitlines()[0][:200]
    return fail(path.name, f"not a file written by torch.save: {reason}")
