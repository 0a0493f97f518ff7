"""Time `import_activations` of a ResNet-50 layer4 on Broden: 63,305 x 2,048 float32 (518 MB),
against a plain `torch.topk(acts, k, dim=0)` over the same loaded tensor, in one run.

The probe set's 63,305 rows point at a few hundred distinct tiny images, bulk-inserted
(importing 63,305 real images is import_probe_set's job, not what is timed here). The
import and the topk each run in a fresh child process, so each peak RSS is its own.

    .venv/bin/python bench/activations_bench.py [--images 63305] [--units 2048]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import scale_env

OUT = scale_env.ROOT / "var" / "bench" / "activations"
DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nj_activations_bench",
    "MEDIA_ROOT": str(scale_env.ROOT / "var" / "bench-activations-media"),
}
STUDY, PROBE_SET, DISTINCT = "activations-bench", "bench-broden", 300


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_tensor(path: Path, images: int, units: int) -> None:
    import torch

    torch.manual_seed(0)
    torch.save(torch.randn(images, units).relu_(), path)


def build_probe_set(images: int) -> None:
    """A ProbeSet of `images` rows over DISTINCT stored images, by COPY."""
    import io

    from django.db import transaction
    from PIL import Image

    from annotate.images import check_image
    from annotate.importers.copy import copy_rows
    from annotate.importers.store import do_store_images
    from annotate.models import ProbeSet, ProbeSetImage, Study

    Study.objects.filter(name=STUDY).delete()
    found = ProbeSet.objects.filter(name=PROBE_SET).first()
    if found and found.size == images:
        return
    data = {}
    for i in range(DISTINCT):
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4), (i % 256, i // 256, 9)).save(buffer, "PNG")
        data[check_image(buffer.getvalue())] = buffer.getvalue()
    infos = {info.sha256: info for info in data}
    raw = {info.sha256: blob for info, blob in data.items()}
    with transaction.atomic():
        if found:
            found.delete()
        ids, _ = do_store_images(infos, raw.__getitem__)
        order = list(ids.values())
        probe_set = ProbeSet.objects.create(name=PROBE_SET, size=images, sha256="bench")
        copy_rows(
            ProbeSetImage,
            ["probe_set", "index", "image", "path"],
            ((probe_set.pk, i, order[i % DISTINCT], f"img{i:05d}.png") for i in range(images)),
        )


def fresh_study() -> None:
    from annotate.models import ProbeSet, Study

    Study.objects.filter(name=STUDY).delete()
    Study.objects.create(name=STUDY, target_network="resnet50", probe_dataset="broden", k=5)
    assert ProbeSet.objects.filter(name=PROBE_SET).exists()


def child_import(path: Path) -> dict:
    started = time.perf_counter()
    import torch  # noqa: F401  (timed apart: the command pays it once at start-up)

    torch_seconds = time.perf_counter() - started
    from annotate.importers.activations import do_import_activations
    from annotate.models import Study

    started = time.perf_counter()
    report = do_import_activations(Study.objects.get(name=STUDY), PROBE_SET, "layer4", path)
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb(),
            "torch_import_seconds": torch_seconds, "summary": report.summary()}  # fmt: skip


def child_topk(path: Path) -> dict:
    import torch

    acts = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    started = time.perf_counter()
    acts = acts.clone()  # "loaded": in memory, as a notebook holds it
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    torch.topk(acts, 5, dim=0)
    return {"seconds": time.perf_counter() - started, "load_seconds": loaded,
            "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def run_child(mode: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, f"--{mode}", str(path)], check=True, capture_output=True
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=63_305)
    parser.add_argument("--units", type=int, default=2_048)
    parser.add_argument("--import", dest="do_import", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--topk", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.topk:
        print(json.dumps(child_topk(args.topk)))
        return
    scale_env.bench_django.setup_django({**scale_env.DEFAULTS, **DEFAULTS})
    if args.do_import:
        print(json.dumps(child_import(args.do_import)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"broden_resnet50_layer4_{args.images}x{args.units}.pt"
    if not path.exists():
        make_tensor(path, args.images, args.units)
    build_probe_set(args.images)
    fresh_study()
    first = run_child("import", path)
    again = run_child("import", path)
    topk = run_child("topk", path)
    size_mb = path.stat().st_size / 1e6
    print(f"tensor {args.images:,} x {args.units:,} float32, {size_mb:,.0f} MB")
    print(f"import_activations: {first['seconds']:.1f} s, peak RSS {first['peak_rss_mb']:,.0f} MB")
    print(f"  (plus {first['torch_import_seconds']:.1f} s to import torch)  {first['summary']}")
    print(f"same file again:    {again['seconds']:.1f} s, peak RSS {again['peak_rss_mb']:,.0f} MB")
    print(f"  {again['summary']}")
    print(
        f"torch.topk(k=5, dim=0) on the loaded tensor: {topk['seconds']:.2f} s (loading it "
        f"{topk['load_seconds']:.2f} s), peak RSS {topk['peak_rss_mb']:,.0f} MB"
    )
    print(f"ratio import / topk: {first['seconds'] / topk['seconds']:.1f}x")


if __name__ == "__main__":
    main()
