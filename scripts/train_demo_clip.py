"""Train the small demo CLIP on the generated probe set (shapes x colours x textures).

    .venv/bin/python scripts/train_demo_clip.py [--epochs 150] [--out evaluation/demo_model]

open_clip's own CLIP model (a tiny config) and ClipLoss, a short AdamW loop on CPU. The
weights are written in float16 safetensors (a few MB) next to `open_clip_config.json`, so
open_clip loads the folder with `local-dir:`; `neuronjudge.json` records how it was trained
and the embedding-similarity threshold calibrated on the training images.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import open_clip
import torch
from PIL import Image
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotate.demo_images import COLORS, SHAPES, TEXTURES, generate_probe_set  # noqa: E402

MODEL_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
PREPROCESS_CFG = {
    "size": 64,
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}
TRAIN_SEEDS = (1, 2, 3)


GENERIC_CAPTIONS = ("objects", "things")  # true of every picture: the sanity probes' labels


def captions_for(image) -> list[str]:
    """Every true description of an image, from single words to the full caption, and the
    generic labels that fit any picture (so the demo can show them passing top-k)."""
    return [
        image.caption,
        image.color,
        image.shape,
        image.texture,
        f"a {image.color} {image.shape}",
        f"{image.texture} {image.shape}",
        f"{image.color} {image.texture}",
        *GENERIC_CAPTIONS,
    ]


def load_images(seeds, preprocess) -> tuple[list, torch.Tensor]:
    images = [img for seed in seeds for img in generate_probe_set(seed=seed, variants=2)]
    pixels = torch.stack(
        [preprocess(Image.open(io.BytesIO(img.png)).convert("RGB")) for img in images]
    )
    return images, pixels


def train(epochs: int, batch_size: int, seed: int) -> tuple[torch.nn.Module, list, torch.Tensor]:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = open_clip.CLIP(**MODEL_CFG, output_dict=True)
    preprocess = open_clip.image_transform(
        64, is_train=False, mean=PREPROCESS_CFG["mean"], std=PREPROCESS_CFG["std"]
    )
    tokenizer = open_clip.SimpleTokenizer(context_length=MODEL_CFG["text_cfg"]["context_length"])
    images, pixels = load_images(TRAIN_SEEDS, preprocess)
    loss_fn = open_clip.ClipLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    steps = epochs * ((len(images) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    model.train()
    for epoch in range(epochs):
        order = list(range(len(images)))
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            texts = [rng.choice(captions_for(images[i])) for i in idx]
            batch = pixels[idx]
            if rng.random() < 0.5:
                batch = batch.flip(-1)
            out = model(batch, tokenizer(texts))
            loss = loss_fn(out["image_features"], out["text_features"], out["logit_scale"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        if epoch % 10 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:3d} loss {total / len(images):.3f}", flush=True)
    model.eval()
    return model, images, pixels


def calibrate_threshold(model, images, pixels) -> dict:
    """The cosine that best separates true from false single-word labels on training images."""
    words = [*COLORS, *SHAPES, *TEXTURES]
    tokenizer = open_clip.SimpleTokenizer(context_length=MODEL_CFG["text_cfg"]["context_length"])
    with torch.no_grad():
        img = model.encode_image(pixels, normalize=True)
        txt = model.encode_text(tokenizer(words), normalize=True)
    sims = (img @ txt.T).numpy()
    truth = np.array([[w in im.concepts for w in words] for im in images])
    candidates = np.linspace(-1, 1, 401)
    accuracy = [((sims > t) == truth).mean(axis=None) for t in candidates]
    best = float(candidates[int(np.argmax(accuracy))])
    balanced = [0.5 * ((sims > t)[truth].mean() + (sims <= t)[~truth].mean()) for t in candidates]
    best_balanced = float(candidates[int(np.argmax(balanced))])
    return {
        "es_threshold": round(best_balanced, 4),
        "es_balanced_accuracy": round(float(max(balanced)), 4),
        "accuracy_threshold": round(best, 4),
        "mean_cosine_true": round(float(sims[truth].mean()), 4),
        "mean_cosine_false": round(float(sims[~truth].mean()), 4),
    }


def save(model, out: Path, meta: dict) -> str:
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    weights = out / "open_clip_model.safetensors"
    save_file(state, str(weights))
    config = {"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}
    (out / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    meta = {**meta, "weights_sha256": digest, "weights_bytes": weights.stat().st_size}
    (out / "neuronjudge.json").write_text(json.dumps(meta, indent=2) + "\n")
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)  # as the committed weights
    parser.add_argument("--batch-size", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "evaluation" / "demo_model")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model, images, pixels = train(args.epochs, args.batch_size, args.seed)
    calibration = calibrate_threshold(model, images, pixels)
    meta = {
        "description": "demo model trained on synthetic shapes",
        "trained_on": f"annotate.demo_images.generate_probe_set(seed in {list(TRAIN_SEEDS)})",
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "train_seconds": round(time.perf_counter() - started, 1),
        **calibration,
    }
    digest = save(model, args.out, meta)
    print(json.dumps({**meta, "weights_sha256": digest}, indent=2))


if __name__ == "__main__":
    main()
