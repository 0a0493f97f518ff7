"""Activations over a probe set as plain arrays, no Django: top-k per unit and the
unit-major file that lets one neuron's activations be read without loading its layer.

Dissection tools save a layer as `[N_images, n_units]` (CLIP-Dissect's
`saved_activations/*.pt`, Linear Explanations' `all_{pool}.pt`). The stored form is the
transpose, `[n_units, N_images]` in C order as a `.npy`, so a unit is one contiguous row:
`np.load(path, mmap_mode="r")[unit]` reads 4 x N bytes and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

BLOCK_UNITS = 256
TILE_ROWS = 128


def unit_blocks(
    acts: np.ndarray, dtype: np.dtype, block: int = BLOCK_UNITS
) -> Iterator[tuple[int, np.ndarray]]:
    """(first unit, contiguous `[units, N]` block in `dtype`) for `acts` of shape `[N, units]`,
    block by block, so a memory-mapped layer is never copied whole.

    Each block is transposed in tiles of TILE_ROWS rows that stay in cache: about five
    times faster than one strided copy of the block (1.1 s against 7 s for 518 MB).
    """
    n_images, n_units = acts.shape
    for start in range(0, n_units, block):
        stop = min(start + block, n_units)
        out = np.empty((stop - start, n_images), dtype=dtype)
        for row in range(0, n_images, TILE_ROWS):
            out[:, row : row + TILE_ROWS] = acts[row : row + TILE_ROWS, start:stop].T
        yield start, out


def top_k_rows(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices `[units, k]` and values of each row's k largest entries, largest first; equal
    values keep the lower index first, so the result never depends on the sort used."""
    k = min(k, block.shape[1])
    indices = np.empty((block.shape[0], k), dtype=np.int64)
    for row, values in enumerate(block):
        indices[row] = top_k_indices(values, k)
    return indices, np.take_along_axis(block, indices, axis=1)


def top_k_indices(values: np.ndarray, k: int) -> np.ndarray:
    if k < values.size:
        threshold = values[np.argpartition(values, values.size - k)[values.size - k]]
    else:
        threshold = values.min()
    above = np.flatnonzero(values > threshold)
    above = above[np.lexsort((above, -values[above].astype(np.float64)))]
    ties = np.flatnonzero(values == threshold)[: k - above.size]  # ascending index already
    return np.concatenate([above, ties])


def top_k_per_column(
    acts: np.ndarray, k: int, block: int = BLOCK_UNITS
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k image indices `[units, k]` and their values for `acts` of shape `[N, units]`."""
    parts = [top_k_rows(rows, k) for _, rows in unit_blocks(acts, acts.dtype, block)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@dataclass
class UnitMajorWriter:
    """Writes `[units, N]` rows block by block as a `.npy`, hashing the data as it goes."""

    out: BinaryIO
    shape: tuple[int, int]
    dtype: np.dtype

    def __post_init__(self) -> None:
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": self.shape}  # fmt: skip
        np.lib.format.write_array_header_1_0(self.out, header)
        self.digest = hashlib.sha256()

    def write(self, block: np.ndarray) -> None:
        data = memoryview(np.ascontiguousarray(block, dtype=self.dtype)).cast("B")
        self.digest.update(data)
        self.out.write(data)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


def read_unit(path: str | Path, unit: int) -> np.ndarray:
    """One unit's activations over the whole probe set (a copy, in the stored dtype)."""
    return np.array(np.load(path, mmap_mode="r", allow_pickle=False)[unit])


def read_unit_from(handle: BinaryIO, unit: int) -> np.ndarray:
    """`read_unit` for a file object that can seek but has no local path (remote storage)."""
    handle.seek(0)
    version = np.lib.format.read_magic(handle)
    fmt = np.lib.format
    read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, fortran, dtype = read_header(handle)
    if fortran or len(shape) != 2 or not 0 <= unit < shape[0]:
        raise ValueError(f"unit {unit} is not a row of this {shape} activation file")
    handle.seek(handle.tell() + unit * shape[1] * dtype.itemsize)
    return np.frombuffer(handle.read(shape[1] * dtype.itemsize), dtype=dtype).copy()
