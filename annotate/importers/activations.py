"""A layer's activations over a study's probe set: stored once, unit-major, and used to set
each neuron's top-k images.

One pass over the (memory-mapped) file, a block of units at a time: each block is checked
(finite), written to a temporary `[n_units, N]` `.npy` and ranked. Only then, in one
transaction holding the study's row lock, are the neurons created, their top-k images
replaced where they changed, and the file moved to its content-addressed name; a refusal
removes the temporary file and changes nothing. Importing the same file again changes
nothing; a different file for the layer replaces it, unless judgments rest on the images
it would replace.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from annotate.importers.activation_files import open_activations
from annotate.importers.errors import ImportReport, fail
from annotate.importers.progress import Progress, no_progress
from annotate.importers.top_images import (
    Top,
    check_study_probe_set,
    do_replace_top_images,
    find_probe_set,
)
from annotate.models import (
    LayerActivations,
    Neuron,
    NeuronImage,
    ProbeSet,
    ProbeSetImage,
    Study,
    activations_path,
)
from evaluation.activations import UnitMajorWriter, top_k_indices, top_k_rows, unit_blocks

MAX_LAYER_CHARS = 200


@dataclass
class Pass:
    """What one read of the file gave: the temporary unit-major file and each unit's top."""

    temp: Path
    sha256: str
    dtype: np.dtype
    shape: tuple[int, int]
    tops: list[Top]


def do_import_activations(
    study: Study, probe_set_name: str, layer: str, source: Path, progress: Progress = no_progress
) -> ImportReport:
    """Store `layer`'s activations for `study` and set its neurons' top-k images from them.
    Takes a row lock on the study for the writing."""
    source = Path(source)
    file = source.name
    layer = layer.strip()
    if not 1 <= len(layer) <= MAX_LAYER_CHARS:
        raise fail(file, f"--layer must be 1 to {MAX_LAYER_CHARS} characters")
    probe_set = find_probe_set(probe_set_name, file)
    check_study_probe_set(study, probe_set, file)
    acts = open_activations(source)
    if acts.shape[0] != probe_set.size:
        raise fail(
            file, f"has {acts.shape[0]:,} rows but probe set {probe_set.name!r} has "
            f"{probe_set.size:,} images (row i must be image i of the probe set)",
        )  # fmt: skip
    result = _read(acts, probe_set, study.k, file, progress)
    placed: list[str] = []
    try:
        with transaction.atomic():
            locked = Study.objects.select_for_update().get(pk=study.pk)
            check_study_probe_set(locked, probe_set, file)
            return _store(locked, probe_set, layer, result, file, placed)
    except BaseException:
        for name in placed:
            default_storage.delete(name)
        raise
    finally:
        result.temp.unlink(missing_ok=True)


def _read(acts: np.ndarray, probe_set: ProbeSet, k: int, file: str, progress) -> Pass:
    n_images, n_units = acts.shape
    dtype = np.dtype(np.float16 if acts.dtype == np.float16 else np.float32)
    image_ids = np.fromiter(
        ProbeSetImage.objects.filter(probe_set=probe_set)
        .order_by("index")
        .values_list("image_id", flat=True)
        .iterator(chunk_size=20000),
        dtype=np.int64,
        count=n_images,
    )
    # A probe set may hold one picture at two rows; a neuron shows each picture once, so
    # rank a few more rows than k and skip repeats.
    wanted = min(n_images, 2 * k + 8)
    temp = _temp_path()
    tops: list[Top] = []
    bar = progress("reading activations (units)", n_units)
    try:
        with temp.open("wb") as out:
            writer = UnitMajorWriter(out, (n_units, n_images), dtype)
            for start, block in unit_blocks(acts, dtype):
                _check_finite(block, start, file)
                writer.write(block)
                indices, values = top_k_rows(block, wanted)
                tops.extend(
                    _distinct(i, v, image_ids, k) for i, v in zip(indices, values, strict=True)
                )
                bar.update(block.shape[0])
        bar.close()
        for unit, top in enumerate(tops):
            if len(top) < k and wanted < n_images:  # many repeats: rank the whole row
                row = np.load(temp, mmap_mode="r")[unit]
                order = top_k_indices(np.asarray(row), n_images)
                tops[unit] = _distinct(order, row[order], image_ids, k)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return Pass(temp, writer.sha256, dtype, (n_units, n_images), tops)


def _check_finite(block: np.ndarray, start: int, file: str) -> None:
    if not np.isfinite(block).all():
        unit = start + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
        raise fail(file, f"unit {unit} has NaN or infinite activations")


def _distinct(indices: np.ndarray, values: np.ndarray, image_ids: np.ndarray, k: int) -> Top:
    top: Top = []
    seen: set[int] = set()
    for index, value in zip(indices.tolist(), values.tolist(), strict=True):
        image = int(image_ids[index])
        if image not in seen:
            seen.add(image)
            top.append((image, float(value)))
            if len(top) == k:
                break
    return top


def _temp_path() -> Path:
    """A temporary file beside the final one when media is local (so the move is a
    rename), else in the system's temporary folder."""
    try:
        folder = Path(default_storage.path("activations"))
        folder.mkdir(parents=True, exist_ok=True)
    except NotImplementedError:
        folder = Path(tempfile.gettempdir())
    handle, name = tempfile.mkstemp(prefix=".incoming-", suffix=".npy", dir=folder)
    os.close(handle)
    return Path(name)


def _store(study, probe_set, layer: str, result: Pass, file: str, placed: list[str]):
    report = ImportReport("neuron", file, rows=result.shape[0])
    neuron_ids = list(
        Neuron.objects.filter(study=study, layer=layer).values_list("pk", flat=True)
    )
    _drop_stale_samples(study, layer, neuron_ids, result.sha256, file)
    do_replace_top_images(study, layer, dict(enumerate(result.tops)), file, report)
    _save_activations(study, probe_set, layer, result, file, report, placed)
    fields = {"probe_set": probe_set, "layers": list(dict.fromkeys([*study.layers, layer]))}
    if (study.probe_set_id, study.layers) != (probe_set.pk, fields["layers"]):
        Study.objects.filter(pk=study.pk).update(**fields)
    return report


def _drop_stale_samples(study, layer: str, neuron_ids: list[int], sha256: str, file) -> None:
    """Images sampled from the rest of the probe set were drawn with the layer's old
    activations: with new ones their inclusion probabilities are wrong, so they go (to be
    drawn again), unless judgments rest on them."""
    from evaluation.models import Judgment

    row = LayerActivations.objects.filter(study=study, layer=layer).first()
    if row is None or row.sha256 == sha256:
        return
    stale = NeuronImage.objects.filter(neuron_id__in=neuron_ids, is_sampled=True)
    if Judgment.objects.filter(neuron_image__in=stale).exists():
        raise fail(
            file, "judgments rest on images sampled with this layer's current activations; "
            "import the new ones into a new study",
        )  # fmt: skip
    stale.delete()


def _save_activations(study, probe_set, layer, result: Pass, file, report, placed) -> None:
    row = LayerActivations.objects.filter(study=study, layer=layer).first()
    if row and row.sha256 == result.sha256 and row.probe_set_id == probe_set.pk:
        report.notes.append("activations unchanged")
        return
    old_name = row.file.name if row else None
    row = row or LayerActivations(study=study, layer=layer)
    row.probe_set, row.sha256, row.source = probe_set, result.sha256, file[:300]
    row.dtype, (row.n_units, row.n_images) = result.dtype.name, result.shape
    row.file.name = _place(result.temp, activations_path(row, ""), placed)
    row.save()
    if old_name and old_name != row.file.name:
        transaction.on_commit(lambda: _delete_unused(old_name))
    report.notes.append(
        f"activations stored ({result.dtype.name}, {result.shape[0]:,} units x "
        f"{result.shape[1]:,} images)"
    )


def _place(temp: Path, name: str, placed: list[str]) -> str:
    """Move the checked file to its content-addressed name, noting it in `placed` when it
    is new (the caller deletes it if the transaction rolls back)."""
    if default_storage.exists(name):
        return name
    try:
        final = Path(default_storage.path(name))
    except NotImplementedError:
        with temp.open("rb") as handle:
            name = default_storage.save(name, File(handle))
    else:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
    placed.append(name)
    return name


def _delete_unused(name: str) -> None:
    if not LayerActivations.objects.filter(file=name).exists():
        default_storage.delete(name)
