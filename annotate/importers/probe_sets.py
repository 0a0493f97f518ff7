"""Probe sets: the ordered images a network was run on, so that row i of an activation
tensor can be shown as image i.

Order is torchvision `ImageFolder`'s (the order CLIP-Dissect's rows follow: class folders
sorted, files sorted within, its extension list), taken from torchvision itself; or an
order file, one relative path a line. Several folders are concatenated in the order given
(CLIP-Dissect's `imagenet_broden` is ImageNet val then Broden); their paths are then
prefixed by each folder's name.

Three passes, so a bad image changes nothing and an interrupted import resumes: every file
is read, hashed and (when not stored yet) decoded; new images are stored batch by batch,
each batch committed (content-addressed, so a rerun skips them); the probe set and its rows
are written in one transaction at the end.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from annotate.images import ImageInfo, ImageRejected, check_image
from annotate.importers.archives import FolderImages, ImageMissing, check_relative_path
from annotate.importers.copy import copy_rows
from annotate.importers.errors import ImportReport, Problems, fail
from annotate.importers.progress import Progress, no_progress
from annotate.importers.sources import read_text
from annotate.importers.store import do_store_images
from annotate.models import ProbeImage, ProbeSet, ProbeSetImage

BATCH = 2000


@dataclass(frozen=True)
class Entry:
    """Row `index` of the probe set: the file `relative` inside folder `folder`."""

    index: int
    folder: FolderImages
    relative: str
    path: str  # as stored: `relative`, prefixed by the folder's name when there are several
    where: tuple[str, int | None]  # file and line a problem is reported against


def imagefolder_paths(folder: Path) -> list[str]:
    """Relative paths in torchvision `ImageFolder` order (torchvision's own functions)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    try:
        _, class_to_idx = find_classes(str(folder))
        samples = make_dataset(str(folder), class_to_idx, extensions=IMG_EXTENSIONS)
    except FileNotFoundError as exc:
        raise fail(folder.name, f"not an ImageFolder layout: {exc}") from None
    return [os.path.relpath(path, folder).replace(os.sep, "/") for path, _ in samples]


def check_entries(folders: list[Path], order: Path | None) -> list[Entry]:
    """The probe set's rows in order, every path safe and naming a file that exists."""
    for folder in folders:
        if not folder.is_dir():
            raise fail(folder.name or str(folder), f"probe folder not found: {folder}")
    names = [folder.resolve().name for folder in folders]
    if len(folders) > 1 and len(set(names)) < len(names):
        raise fail("folders", f"several folders share a name ({', '.join(names)}); rename one")
    sources = {name: FolderImages(folder) for name, folder in zip(names, folders, strict=True)}
    if order is None:
        return list(_folder_entries(sources))
    return _ordered_entries(sources, order)


def _folder_entries(sources: dict[str, FolderImages]) -> Iterator[Entry]:
    index = 0
    for name, folder in sources.items():
        for relative in imagefolder_paths(folder.root):
            path = f"{name}/{relative}" if len(sources) > 1 else relative
            yield Entry(index, folder, relative, path, (path, None))
            index += 1


def _ordered_entries(sources: dict[str, FolderImages], order: Path) -> list[Entry]:
    file = order.name
    problems = Problems()
    entries: list[Entry] = []
    first_line: dict[str, int] = {}
    for line_no, line in enumerate(read_text(order, file).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            path = check_relative_path(line)
            folder, relative = _folder_of(sources, path)
        except ValueError as exc:
            problems.add(file, line_no, str(exc))
            continue
        if path in first_line:
            problems.add(file, line_no, f"{path} is already on line {first_line[path]}")
            continue
        first_line[path] = line_no
        entries.append(Entry(len(entries), folder, relative, path, (file, line_no)))
    problems.raise_if_any()
    if not entries:
        raise fail(file, "no paths: expected one relative image path a line")
    return entries


def _folder_of(sources: dict[str, FolderImages], path: str) -> tuple[FolderImages, str]:
    if len(sources) == 1:
        return next(iter(sources.values())), path
    name, _, relative = path.partition("/")
    if name not in sources or not relative:
        raise ValueError(f"{path} does not start with a folder name ({', '.join(sources)})")
    return sources[name], relative


def check_images(
    entries: list[Entry], progress: Progress
) -> tuple[list[str], dict[str, tuple[ImageInfo, Entry]]]:
    """The SHA-256 of every row's file, and the images not stored yet (decoded in full)."""
    problems = Problems()
    shas: list[str] = []
    new: dict[str, tuple[ImageInfo, Entry]] = {}
    bar = progress("checking images", len(entries))
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for start in range(0, len(entries), BATCH):
            batch = entries[start : start + BATCH]
            hashed = list(pool.map(_hash, batch))
            stored = set(
                ProbeImage.objects.filter(
                    sha256__in={h for h in hashed if not isinstance(h, Exception)}
                ).values_list("sha256", flat=True)
            )
            todo = {}
            for entry, sha in zip(batch, hashed, strict=True):
                if isinstance(sha, Exception):
                    problems.add(*entry.where, f"{entry.path}: {sha}")
                    continue
                shas.append(sha)
                if sha not in stored and sha not in new:
                    todo.setdefault(sha, entry)
            for (sha, entry), result in zip(
                todo.items(), pool.map(_decode, todo.values()), strict=True
            ):
                if isinstance(result, ImageInfo):
                    new[sha] = (result, entry)
                else:
                    problems.add(*entry.where, f"{entry.path}: {result}")
            bar.update(len(batch))
    bar.close()
    problems.raise_if_any()
    return shas, new


def _hash(entry: Entry) -> str | Exception:
    try:
        return hashlib.sha256(entry.folder.read(entry.relative)).hexdigest()
    except ImageMissing as exc:
        return exc


def _decode(entry: Entry) -> ImageInfo | Exception:
    try:
        return check_image(entry.folder.read(entry.relative))
    except (ImageMissing, ImageRejected) as exc:
        return exc


def probe_set_sha256(shas: list[str]) -> str:
    return hashlib.sha256("\n".join(shas).encode()).hexdigest()


def do_import_probe_set(
    name: str,
    folders: list[Path],
    order: Path | None = None,
    progress: Progress = no_progress,
) -> tuple[ProbeSet, ImportReport]:
    """Store the probe set `name` (or find it unchanged when imported before)."""
    name = name.strip()
    if not name:
        raise fail("probe set", "a probe set needs a name")
    entries = check_entries([Path(f) for f in folders], order)
    shas, new = check_images(entries, progress)
    sha = probe_set_sha256(shas)
    report = ImportReport("probe image", order.name if order else name, rows=len(entries))
    existing = ProbeSet.objects.filter(name=name).first()
    if existing and existing.sha256 != sha:
        raise fail(
            name, f"probe set {name!r} already exists with other images or another order; "
            "import these under a new name",
        )  # fmt: skip
    if existing:
        report.unchanged = len(entries)
        return existing, report
    report.images_stored = _store(new, progress)
    with transaction.atomic():
        probe_set = ProbeSet.objects.create(name=name, size=len(entries), sha256=sha)
        ids = _image_ids(set(shas))
        copy_rows(
            ProbeSetImage,
            ["probe_set", "index", "image", "path"],
            ((probe_set.pk, e.index, ids[s], e.path) for e, s in zip(entries, shas, strict=True)),
        )
    report.created = len(entries)
    return probe_set, report


def _store(new: dict[str, tuple[ImageInfo, Entry]], progress: Progress) -> int:
    """Store new images in committed batches: an interrupted import keeps what it stored."""
    bar = progress("storing images", len(new))
    items = list(new.items())
    for start in range(0, len(items), BATCH):
        batch = dict(items[start : start + BATCH])
        with transaction.atomic():
            do_store_images({sha: info for sha, (info, _) in batch.items()}, _reader(batch))
        bar.update(len(batch))
    bar.close()
    return len(new)


def _reader(batch: dict[str, tuple[ImageInfo, Entry]]) -> Callable[[str], bytes]:
    def read(sha: str) -> bytes:
        entry = batch[sha][1]
        data = entry.folder.read(entry.relative)
        if hashlib.sha256(data).hexdigest() != sha:
            file, line = entry.where
            raise fail(file, f"{entry.path} changed during the import; run it again", line)
        return data

    return read


def _image_ids(shas: set[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    wanted = list(shas)
    for start in range(0, len(wanted), 5000):
        ids.update(
            ProbeImage.objects.filter(sha256__in=wanted[start : start + 5000]).values_list(
                "sha256", "pk"
            )
        )
    return ids
