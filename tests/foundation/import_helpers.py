"""Helpers for the import tests: a snapshot of what the database holds, and files built in
the test (manifests, zips, folders of images)."""

from __future__ import annotations

import io
import zipfile

import pytest

from annotate.importers import ImportFailed
from annotate.models import ConceptSet, Neuron, NeuronImage, ProbeImage, Study


def snapshot() -> dict:
    return {
        "concept_sets": list(ConceptSet.objects.order_by("pk").values_list("name", "sha256")),
        "studies": list(Study.objects.order_by("pk").values_list("name", "layers", "k")),
        "neurons": list(
            Neuron.objects.order_by("pk").values_list(
                "pk", "layer", "unit", "label", "method_score"
            )
        ),
        "neuron_images": list(
            NeuronImage.objects.order_by("pk").values_list(
                "neuron_id", "rank", "image_id", "activation"
            )
        ),
        "probe_images": ProbeImage.objects.count(),
    }


def refused(call, *expected: str) -> ImportFailed:
    """Run `call`, which must raise ImportFailed mentioning each expected text, and change
    nothing in the database."""
    before = snapshot()
    with pytest.raises(ImportFailed) as info:
        call()
    text = info.value.text()
    for part in expected:
        assert part in text, f"{part!r} not in:\n{text}"
    assert snapshot() == before
    return info.value


def zip_bytes(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def manifest(rows: list[tuple], header: str = "layer,unit,rank,path,activation") -> bytes:
    lines = [header, *(",".join(str(v) for v in row) for row in rows)]
    return "\n".join(lines).encode()
