"""Storing many checked images at once: the bulk form of `annotate.images.do_store_image`.

Same content addressing and file layout, but one query per batch instead of two per image,
so a 500,000-row manifest does not cost a million queries. Files are written before rows;
if the transaction rolls back they stay as harmless orphans under their hash, reused later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from annotate.images import ImageInfo, do_write_image_file, probe_image_for
from annotate.models import ProbeImage

BATCH = 5000


def _batches(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def do_store_images(
    infos: dict[str, ImageInfo], read: Callable[[str], bytes]
) -> tuple[dict[str, int], int]:
    """ProbeImage ids by SHA-256 for every image in `infos`, and how many were new.

    `read(sha256)` returns the bytes of an image not stored yet (already checked).
    """
    ids: dict[str, int] = {}
    for batch in _batches(list(infos)):
        ids.update(ProbeImage.objects.filter(sha256__in=batch).values_list("sha256", "pk"))
    missing = [sha for sha in infos if sha not in ids]
    for batch in _batches(missing):
        rows = [_write(infos[sha], read) for sha in batch]
        ProbeImage.objects.bulk_create(rows, ignore_conflicts=True)
        ids.update(ProbeImage.objects.filter(sha256__in=batch).values_list("sha256", "pk"))
    return ids, len(missing)


def _write(info: ImageInfo, read: Callable[[str], bytes]) -> ProbeImage:
    image = probe_image_for(info)
    do_write_image_file(image, lambda: read(info.sha256))
    return image
