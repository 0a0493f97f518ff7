"""Where imported images come from: a folder or a zip file, read by the manifest's relative
paths, never outside the folder or zip (no `..`, no absolute paths, no links out)."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from pathlib import Path

from django.conf import settings

from annotate.importers.errors import fail
from annotate.importers.sources import Source, source_name

DRIVE = re.compile(r"^[A-Za-z]:")


class ImageMissing(ValueError):
    """The manifest names a file the folder or zip cannot give, with the reason."""


def check_relative_path(path: str) -> str:
    """The manifest path as a clean relative POSIX path, or ValueError if it could escape."""
    text = str(path or "").strip().replace("\\", "/")
    if not text:
        raise ValueError("path is empty")
    if text.startswith("/") or DRIVE.match(text):
        raise ValueError(f"path {text!r} is absolute; paths must be relative to the images")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"path {text!r} escapes the images folder or zip ('..')")
    if not parts:
        raise ValueError("path is empty")
    return "/".join(parts)


def _max_image_bytes() -> int:
    return settings.NEURONJUDGE_MAX_IMAGE_BYTES


class FolderImages:
    def __init__(self, folder: Path):
        self.root = folder.resolve()
        self.name = folder.name

    def read(self, relative: str) -> bytes:
        path = self.root / relative
        real = Path(os.path.realpath(path))
        if real != self.root and self.root not in real.parents:
            raise ImageMissing(f"{relative} is a link pointing outside the images folder")
        if not real.is_file():
            raise ImageMissing(f"{relative} is not in the images folder")
        size = real.stat().st_size
        if size > _max_image_bytes():
            raise ImageMissing(f"{relative} is {size:,} bytes, over the image size limit")
        return real.read_bytes()

    def close(self) -> None:
        pass


class ZipImages:
    def __init__(self, archive: zipfile.ZipFile, name: str):
        self.zip = archive
        self.name = name
        self.members = {
            info.filename.removeprefix("./"): info
            for info in archive.infolist()
            if not info.is_dir()
        }
        tops = {name.split("/", 1)[0] for name in self.members}
        # A zip of a folder holds "folder/x.png" where the manifest says "x.png".
        self.prefix = (
            f"{tops.pop()}/" if len(tops) == 1 and all("/" in n for n in self.members) else ""
        )

    def _info(self, relative: str) -> zipfile.ZipInfo:
        info = self.members.get(relative) or self.members.get(self.prefix + relative)
        if info is None:
            raise ImageMissing(f"{relative} is not in {self.name}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ImageMissing(f"{relative} is a symbolic link in the zip; links are refused")
        if info.flag_bits & 0x1:
            raise ImageMissing(f"{relative} is encrypted in the zip")
        if info.file_size > _max_image_bytes():
            raise ImageMissing(f"{relative} is {info.file_size:,} bytes, over the image size limit")
        return info

    def read(self, relative: str) -> bytes:
        info = self._info(relative)
        try:
            with self.zip.open(info) as member:
                return member.read(_max_image_bytes() + 1)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise ImageMissing(f"{relative} cannot be read from the zip: {exc}") from None

    def close(self) -> None:
        self.zip.close()


class StoredImages:
    """Images already in the store, named by SHA-256 (a manifest from export_images).
    File names are looked up at once here: reads happen in worker threads."""

    def __init__(self, sha256s: set[str]):
        from annotate.models import ProbeImage

        self.files = dict(
            ProbeImage.objects.filter(sha256__in=sha256s).values_list("sha256", "file")
        )

    def read(self, sha256: str) -> bytes:
        from django.core.files.storage import default_storage

        if sha256 not in self.files:
            raise ImageMissing(f"no stored image with SHA-256 {sha256}")
        with default_storage.open(self.files[sha256], "rb") as handle:
            return handle.read()

    def close(self) -> None:
        pass


def open_images(
    images: Source | None, stored: set[str] | None = None
) -> FolderImages | ZipImages | StoredImages:
    """A folder path, a zip file path, zip bytes or an uploaded zip file; None for the
    `stored` images, named by SHA-256."""
    if images is None:
        return StoredImages(stored or set())
    name = source_name(images, "images.zip")
    if isinstance(images, (str, os.PathLike)):
        path = Path(images)
        if path.is_dir():
            return FolderImages(path)
        if not path.is_file():
            raise fail(name, f"images folder or zip not found: {path}")
    limit = settings.NEURONJUDGE_MAX_UPLOAD_BYTES
    size = _size(images)
    if size is not None and size > limit:
        raise fail(name, f"zip is {size:,} bytes, over the {limit:,}-byte upload limit")
    handle = io.BytesIO(images) if isinstance(images, bytes) else images
    try:
        return ZipImages(zipfile.ZipFile(handle), name)
    except (zipfile.BadZipFile, OSError, EOFError):
        raise fail(name, "not a zip file (give a folder or a .zip of the images)") from None


def _size(images: Source) -> int | None:
    if isinstance(images, bytes):
        return len(images)
    if isinstance(images, (str, os.PathLike)):
        return Path(images).stat().st_size
    return getattr(images, "size", None)
