"""Top-k images: a manifest (CSV or JSON Lines: `layer,unit,rank,path[,activation]`) and a
folder or zip holding the files it names.

Everything is checked in one pass before anything is written, and every problem is reported
at once: the manifest's rows, that each neuron exists, every image decoded in full, and what
the study already holds. Images that are already stored (same SHA-256) are reused, so a
second import of the same files changes nothing.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import transaction

from annotate.images import ImageInfo, ImageRejected, check_image
from annotate.importers.archives import ImageMissing, check_relative_path, open_images
from annotate.importers.copy import copy_rows
from annotate.importers.errors import ImportFailed, ImportReport, Problems
from annotate.importers.sources import (
    Source,
    iter_rows,
    parse_float,
    parse_int,
    read_text,
    source_name,
)
from annotate.importers.store import do_store_images
from annotate.models import Neuron, NeuronImage, Study

BATCH = 5000


@dataclass(frozen=True)
class ManifestRow:
    line: int
    layer: str
    unit: int
    rank: int
    path: str
    activation: float | None

    @property
    def unit_name(self) -> str:
        return f"{self.layer}:{self.unit}"


def check_manifest_rows(
    text: str, file: str, k: int, path_column: str = "path", problems: Problems | None = None
) -> list[ManifestRow]:
    """Rows that are well formed, rank in 1..k, safe paths, no rank or path given twice.
    With `path_column="sha256"` the images are named by their hash (already stored).
    Given `problems`, bad rows are added there and left out instead of raising."""
    collect = problems is not None
    problems = problems if collect else Problems()
    rows: list[ManifestRow] = []
    seen: dict[tuple, int] = {}
    paths: dict[str, str | ValueError] = {}
    columns = ["layer", "unit", "rank", path_column]
    raw = iter_rows(text, file, columns, ["activation"], problems)
    for line, values in raw:
        try:
            row = _manifest_row(line, *values, k=k, paths=paths)
        except ValueError as exc:
            problems.add(file, line, str(exc))
            continue
        for key, what in (
            ((row.layer, row.unit, "rank", row.rank), f"rank {row.rank}"),
            ((row.layer, row.unit, "path", row.path), f"image {row.path}"),
        ):
            if key in seen:
                problems.add(
                    file, line, f"{row.unit_name} has {what} twice (first on line {seen[key]})"
                )
                break
        else:
            seen[(row.layer, row.unit, "rank", row.rank)] = line
            seen[(row.layer, row.unit, "path", row.path)] = line
            rows.append(row)
    if not rows and not problems:
        problems.add(file, None, "no images: the manifest has no rows")
    if not collect:
        problems.raise_if_any()
    return rows


def _manifest_row(line, layer, unit, rank, path, activation, *, k: int, paths: dict) -> ManifestRow:
    layer = str(layer or "").strip()
    if not layer:
        raise ValueError("layer is empty")
    rank_number = parse_int(rank, "rank")
    if not 1 <= rank_number <= k:
        raise ValueError(f"rank {rank_number} is outside 1..{k} (the study's k)")
    return ManifestRow(
        line,
        layer,
        parse_int(unit, "unit"),
        rank_number,
        _checked_path(path, paths),
        parse_float(activation, "activation"),
    )


def _checked_path(path, paths: dict[str, str | ValueError]) -> str:
    """check_relative_path, remembered: a manifest names each image many times."""
    key = str(path)
    if key not in paths:
        try:
            paths[key] = check_relative_path(key)
        except ValueError as exc:
            paths[key] = exc
    result = paths[key]
    if isinstance(result, ValueError):
        raise result
    return result


def check_images(rows, archive, file: str, problems: Problems) -> dict[str, ImageInfo]:
    """Read and fully decode each distinct path once (a few threads: Pillow decodes without
    the GIL). Returns ImageInfo by path; problems name the first manifest line using it."""
    first_line = {}
    for row in rows:
        first_line.setdefault(row.path, row.line)

    def check(path: str):
        try:
            return path, check_image(archive.read(path))
        except (ImageMissing, ImageRejected) as exc:
            return path, exc

    infos: dict[str, ImageInfo] = {}
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for path, result in pool.map(check, first_line):
            if isinstance(result, ImageInfo):
                infos[path] = result
            elif isinstance(result, ImageMissing):
                problems.add(file, first_line[path], str(result))
            else:
                problems.add(file, first_line[path], f"image {path}: {result}")
    return infos


@dataclass
class CheckedImages:
    """A manifest's good rows, the open images and what each good image is; the problems
    found so far are in `problems`."""

    file: str
    rows: list[ManifestRow]
    archive: object | None
    infos: dict[str, ImageInfo]
    problems: Problems

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def check_image_files(manifest: Source, images: Source | None, k: int) -> CheckedImages:
    """Every check that needs no study: the manifest's rows, the zip or folder, each image
    decoded. Problems are collected, not raised; the caller closes the result."""
    file = source_name(manifest, "manifest.csv")
    column = "path" if images is not None else "sha256"
    problems = Problems()
    try:
        rows = check_manifest_rows(read_text(manifest, file), file, k, column, problems)
    except ImportFailed as exc:  # the whole file is unreadable: no rows to go on with
        add_problems(problems, exc)
        return CheckedImages(file, [], None, {}, problems)
    try:
        archive = open_images(images, {row.path for row in rows})
    except ImportFailed as exc:
        add_problems(problems, exc)
        return CheckedImages(file, rows, None, {}, problems)
    return CheckedImages(file, rows, archive, check_images(rows, archive, file, problems), problems)


def add_problems(problems: Problems, failure: ImportFailed) -> None:
    for problem in failure.problems:
        problems.add(problem.file, problem.line, problem.message)
    problems.more += failure.more


def do_import_images(study: Study, manifest: Source, images: Source | None) -> ImportReport:
    """Attach each neuron's top-k images. Takes a row lock on the study for the import.

    Without `images` the manifest names stored images by `sha256` instead of `path` (the
    shape export_images writes), so a study's images can be given to another study."""
    checked = check_image_files(manifest, images, study.k)
    try:
        with transaction.atomic():
            study = Study.objects.select_for_update().get(pk=study.pk)
            return _import(study, checked)
    finally:
        checked.close()


def raise_sorted(problems: Problems) -> None:
    """Raise every problem at once, in file and line order, whatever found it."""
    if problems:
        items = sorted(problems.items, key=lambda p: (p.file, p.line or 0))
        raise ImportFailed(items, problems.more)


def _import(study: Study, checked: CheckedImages) -> ImportReport:
    rows, archive, infos, file = checked.rows, checked.archive, checked.infos, checked.file
    problems = checked.problems
    neurons: dict[tuple[str, int], list[int]] = {}
    for layer, unit, pk in (
        Neuron.objects.filter(study=study, role=Neuron.Role.REAL)
        .values_list("layer", "unit", "pk")
        .iterator(chunk_size=BATCH)
    ):
        neurons.setdefault((layer, unit), []).append(pk)
    for row in rows:
        if (row.layer, row.unit) not in neurons:
            problems.add(file, row.line, f"unknown neuron {row.unit_name}: import its label first")
    usable = [r for r in rows if (r.layer, r.unit) in neurons and r.path in infos]
    new, updated = _plan_pairs(study, usable, neurons, infos, file, problems)
    raise_sorted(problems)
    path_by_sha = {info.sha256: path for path, info in infos.items()}
    ids, stored = do_store_images(
        {info.sha256: info for info in infos.values()},
        lambda sha: archive.read(path_by_sha[sha]),
    )
    copy_rows(
        NeuronImage,
        ["neuron", "image", "rank", "activation", "is_distractor"],
        (
            (neuron_id, ids[infos[r.path].sha256], r.rank, r.activation, False)
            for neuron_id, r in new
        ),
    )
    NeuronImage.objects.bulk_update([p for p, _ in updated], ["activation"], batch_size=BATCH)
    created_rows = len({row.line for _, row in new})
    updated_rows = len({row.line for _, row in updated} - {row.line for _, row in new})
    return ImportReport(
        "image",
        file,
        rows=len(rows),
        created=created_rows,
        updated=updated_rows,
        unchanged=len(rows) - created_rows - updated_rows,
        images_stored=stored,
    )


def _plan_pairs(study, rows, neurons, infos, file, problems: Problems):
    """New (neuron id, row) pairs, and existing pairs whose activation changes; refuses
    replacing an image a neuron already has at a rank, or giving a neuron the same picture
    twice. A row stands for its unit in every label set of the study."""
    existing: dict[tuple[int, int], tuple[int, str, float | None]] = {}
    ranks_by_sha: dict[tuple[int, str], int] = {}
    for pk, neuron_id, rank, sha, activation in (
        NeuronImage.objects.filter(neuron__study=study)
        .values_list("pk", "neuron_id", "rank", "image__sha256", "activation")
        .iterator(chunk_size=BATCH)
    ):
        existing[(neuron_id, rank)] = (pk, sha, activation)
        ranks_by_sha[(neuron_id, sha)] = rank
    new, updated = [], []
    first_line_of_sha: dict[tuple[int, str], ManifestRow] = {}
    for row, neuron_id in ((r, n) for r in rows for n in neurons[(r.layer, r.unit)]):
        sha = infos[row.path].sha256
        earlier = first_line_of_sha.setdefault((neuron_id, sha), row)
        if earlier is not row:
            problems.add(
                file,
                row.line,
                f"{row.unit_name}: {row.path} is the same image as {earlier.path} "
                f"(line {earlier.line})",
            )
            continue
        current = existing.get((neuron_id, row.rank))
        if current is None:
            other_rank = ranks_by_sha.get((neuron_id, sha))
            if other_rank is not None:
                problems.add(
                    file, row.line, f"{row.unit_name} already has {row.path} at rank {other_rank}"
                )
            else:
                new.append((neuron_id, row))
        elif current[1] != sha:
            problems.add(
                file,
                row.line,
                f"{row.unit_name} already has a different image at rank {row.rank}; "
                "imported images are not replaced",
            )
        elif current[2] != row.activation and row.activation is not None:
            updated.append((NeuronImage(pk=current[0], activation=row.activation), row))
    return new, updated
