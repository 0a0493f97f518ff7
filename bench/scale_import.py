"""Time the import of a 100,000-neuron label file and its 500,000-row image manifest through
`annotate.importers` (the code behind the import page and commands), then remove the study.

The manifest names a folder of a few thousand tiny PNGs, each used many times, as a real
probe set reuses its images across neurons.

    .venv/bin/python bench/scale_import.py --neurons 100000
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import time

import numpy as np
import scale_env
from synthetic_study import UNITS_PER_LAYER, WORDS, delete_study

OUT = scale_env.ROOT / "var" / "bench" / "scale"


def write_files(folder, neurons: int, k: int, images: int, salt: int, seed: int = 1) -> tuple:
    """labels.csv (CLIP-Dissect columns), manifest.csv and images/ under `folder`; `salt`
    changes one pixel so that the images are new to the database, not already stored."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    image_dir = folder / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    for index in range(images):
        image = Image.new("RGB", (8, 8), (index % 256, (index // 256) % 256, 64))
        image.putpixel((0, 0), (salt % 256, (salt // 256) % 256, (salt // 65536) % 256))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        (image_dir / f"img{index:05d}.png").write_bytes(buffer.getvalue())
    labels, manifest = folder / "labels.csv", folder / "manifest.csv"
    words = rng.choice(WORDS, size=neurons)
    with labels.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["layer", "unit", "description", "similarity"])
        for n in range(neurons):
            out.writerow([f"blocks.{n // UNITS_PER_LAYER}.mlp", n % UNITS_PER_LAYER, words[n],
                          f"{rng.uniform(0.1, 0.4):.4f}"])  # fmt: skip
    start = rng.integers(0, images, size=neurons)
    with manifest.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["layer", "unit", "rank", "path", "activation"])
        for n in range(neurons):
            for r in range(k):
                image = (start[n] + r * (images // k)) % images
                out.writerow([f"blocks.{n // UNITS_PER_LAYER}.mlp", n % UNITS_PER_LAYER, r + 1,
                              f"img{image:05d}.png", f"{10 - r:.2f}"])  # fmt: skip
    return labels, manifest, image_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the imported study")
    args = parser.parse_args()
    scale_env.setup()
    from annotate.importers.images import do_import_images
    from annotate.importers.studies import do_import_study_labels

    folder = OUT / f"import-{args.neurons}"
    salt = int(time.time())
    labels, manifest, image_dir = write_files(folder, args.neurons, args.k, args.images, salt)
    name = f"imported-{args.neurons}"
    delete_study(name)
    started = time.perf_counter()
    study, label_report = do_import_study_labels(
        name, labels, target_network="ViT-L/14 (synthetic)", probe_dataset="synthetic", k=args.k
    )
    labels_s = time.perf_counter() - started
    started = time.perf_counter()
    image_report = do_import_images(study, manifest, image_dir)
    images_s = time.perf_counter() - started
    figures = {
        "neurons": args.neurons,
        "manifest_rows": args.neurons * args.k,
        "distinct_images": args.images,
        "labels_s": round(labels_s, 1),
        "manifest_s": round(images_s, 1),
        "total_s": round(labels_s + images_s, 1),
        "load_average": os.getloadavg(),
        "labels": label_report.summary(),
        "manifest": image_report.summary(),
    }
    if not args.keep:
        delete_study(name)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"import-{args.neurons}.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
