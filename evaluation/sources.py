"""Django-backed implementations of the rater's image source and vector cache."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.core.files.storage import default_storage

from annotate.models import ProbeImage
from evaluation.models import Embedding


class StorageImageSource:
    """Reads probe images through Django's storage API, so workers on other machines can too."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def remember(self, names: dict[str, str]) -> None:
        """File names of images about to be read (a probe set's): one query, not one each."""
        self._names.update(names)

    def read(self, sha256: str) -> bytes:
        name = self._names.get(sha256)
        if name is None:
            name = ProbeImage.objects.values_list("file", flat=True).get(sha256=sha256)
            self._names[sha256] = name
        with default_storage.open(name, "rb") as handle:
            return handle.read()


class DatabaseVectorCache:
    """Embeddings in PostgreSQL: every worker on every machine shares them."""

    def get_many(self, model_key: str, kind: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 5000):
            rows = Embedding.objects.filter(
                model_key=model_key, kind=kind, key__in=unique[start : start + 5000]
            ).values_list("key", "vector")
            for key, vector in rows:
                found[key] = np.frombuffer(bytes(vector), dtype="<f4")
        return found

    def put_many(self, model_key: str, kind: str, vectors: dict[str, np.ndarray]) -> None:
        rows = [
            Embedding(
                model_key=model_key,
                kind=kind,
                key=key,
                dim=int(np.asarray(vector).shape[-1]),
                vector=np.asarray(vector, dtype="<f4").tobytes(),
            )
            for key, vector in vectors.items()
        ]
        Embedding.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
