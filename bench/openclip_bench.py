"""OpenCLIP CP+ES: NeuronJudge's raters against the reference notebooks' loop, in one run.

    .venv/bin/python bench/openclip_bench.py --neurons 384 [--device cuda] [--batch-size 64]

Workload shaped like the reference study: the layer1-4 neurons and labels of CLIP-Dissect's
ResNet-50/Broden results (3,840 neurons), 5 generated 224x224 images each, the 10k concept
set, and the full-size ViT-B-32 architecture with random weights (no weights can be
downloaded here; speed does not depend on weight values). Both sides use the same model
object and count everything after model load: concept-set encoding, image decoding and
preprocessing, encoding and scoring. NeuronJudge's side runs the real rater classes with an
in-memory embedding cache that starts empty (a cold run), in pair batches like a worker.
The notebook loop, per neuron: preprocess its 5 images, encode them, softmax against the
concept embeddings, top-k (CP); then encode the images again and the label (ES).
The verdicts of both sides are compared, so the speed-up is not bought with other answers.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotate.demo_images import COLORS, SHAPES, TEXTURES, render  # noqa: E402
from evaluation.raters.base import MemoryVectorCache, Pair, RaterContext, StageTimer  # noqa: E402
from evaluation.raters.clip_encoder import ClipEncoder, pick_device  # noqa: E402
from evaluation.raters.clip_spec import ClipSpec  # noqa: E402
from evaluation.raters.openclip import (  # noqa: E402
    ConceptProportionRater,
    EmbeddingSimilarityRater,
)

DATA = ROOT.parent / "shared" / "data" / "clip-dissect"
LAYERS = ("layer1", "layer2", "layer3", "layer4")


class MemoryImages:
    def __init__(self, blobs: dict[str, bytes]):
        self.blobs = blobs

    def read(self, sha256: str) -> bytes:
        return self.blobs[sha256]


def load_neurons(path: Path, count: int) -> list[tuple[str, int, str]]:
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["layer"] in LAYERS]
    step = max(1, len(rows) // count)  # an even spread over the layers when scaled down
    return [(r["layer"], int(r["unit"]), r["description"]) for r in rows[::step][:count]]


def make_images(neurons, per_neuron: int) -> tuple[list[list[str]], dict[str, bytes]]:
    """Distinct generated 224x224 PNGs, `per_neuron` for each neuron (none shared)."""
    blobs: dict[str, bytes] = {}
    per: list[list[str]] = []
    combos = [(s, c, t) for s in SHAPES for c in COLORS for t in TEXTURES]
    for n in range(len(neurons)):
        shas = []
        for i in range(per_neuron):
            shape, color, texture = combos[(n * per_neuron + i) % len(combos)]
            png = render(shape, color, texture, variant=i, size=224, seed=n).png
            sha = hashlib.sha256(png).hexdigest()
            blobs[sha] = png
            shas.append(sha)
        per.append(shas)
    return per, blobs


def neuronjudge(encoder, neurons, images, blobs, concepts, args) -> tuple[float, dict, list]:
    pairs = [
        Pair(n * 100 + i, sha, label)
        for n, (_, _, label) in enumerate(neurons)
        for i, sha in enumerate(images[n])
    ]
    context = RaterContext(
        images=MemoryImages(blobs),
        timer=StageTimer(),
        concepts=concepts,
        cache=MemoryVectorCache(),
        device=encoder.device,
        batch_size=args.batch_size,
    )
    cp = ConceptProportionRater({"proportion": args.proportion}, encoder)
    es = EmbeddingSimilarityRater({"threshold": args.threshold}, encoder)
    start = time.perf_counter()
    verdicts = []
    for first in range(0, len(pairs), args.store_every):  # as a worker does, batch by batch
        batch = pairs[first : first + args.store_every]
        verdicts.extend(zip(cp.rate(batch, context), es.rate(batch, context), strict=True))
    return time.perf_counter() - start, context.timer.as_dict(), verdicts


@torch.inference_mode()
def notebook_concepts(model, tokenizer, concepts, device) -> tuple[float, torch.Tensor]:
    """The notebooks encode the concept set once, at open_clip's full 77 positions."""
    start = time.perf_counter()
    text = []
    for first in range(0, len(concepts), 256):
        feats = model.encode_text(tokenizer(concepts[first : first + 256]).to(device))
        text.append(feats / feats.norm(dim=-1, keepdim=True))
    return time.perf_counter() - start, torch.cat(text)


@torch.inference_mode()
def notebook_loop(
    model, preprocess, tokenizer, neurons, images, blobs, text_features, top, concept_index, device
) -> tuple[float, list]:
    """The reference loop: one neuron at a time, CP then ES, nothing shared between them."""

    def encode_images(shas):
        pixels = torch.stack(
            [preprocess(Image.open(io.BytesIO(blobs[s])).convert("RGB")) for s in shas]
        )
        feats = model.encode_image(pixels.to(device))
        return feats / feats.norm(dim=-1, keepdim=True)

    start = time.perf_counter()
    results = []
    for n, (_, _, label) in enumerate(neurons):
        image_features = encode_images(images[n])
        probs = (100.0 * image_features @ text_features.T).softmax(dim=-1)
        top_idx = probs.topk(top, dim=-1).indices.cpu().numpy()
        cp = [concept_index.get(label, -1) in row for row in top_idx]
        image_features = encode_images(images[n])
        label_features = model.encode_text(tokenizer([label]).to(device))
        label_features = label_features / label_features.norm(dim=-1, keepdim=True)
        es = (image_features @ label_features.T).squeeze(1).cpu().numpy()
        results.extend(zip(cp, es, strict=True))
    return time.perf_counter() - start, results


def notebook(
    model, preprocess, tokenizer, neurons, images, blobs, concepts, args, device, ours_text
):
    """Time the notebook loop; with --notebook-sample, on a sample, scaled up linearly (its
    cost is the same for every neuron and every concept, so the scaling is exact in kind)."""
    n_neurons = min(len(neurons), args.notebook_neurons or len(neurons))
    n_concepts = min(len(concepts), args.notebook_concepts or len(concepts))
    text_seconds, sample_features = notebook_concepts(
        model, tokenizer, concepts[:n_concepts], device
    )
    # Ranking needs every concept: the sampled ones come from the notebook's own full-length
    # encoding, the others from NeuronJudge's (equal to within float error, see the tests).
    features = (
        torch.cat([sample_features, ours_text[n_concepts:]])
        if n_concepts < len(concepts)
        else sample_features
    )
    concept_index = {c: i for i, c in reversed(list(enumerate(concepts)))}
    top = int(args.proportion * len(concepts))
    loop_seconds, results = notebook_loop(
        model,
        preprocess,
        tokenizer,
        neurons[:n_neurons],
        images,
        blobs,
        features,
        top,
        concept_index,
        device,
    )
    total = text_seconds * len(concepts) / n_concepts + loop_seconds * len(neurons) / n_neurons
    sampled = n_neurons < len(neurons) or n_concepts < len(concepts)
    print(
        f"notebook loop measured: concept set {n_concepts} of {len(concepts)} in "
        f"{text_seconds:.1f} s, {n_neurons} of {len(neurons)} neurons in {loop_seconds:.1f} s"
        + (" (scaled linearly to the whole workload)" if sampled else "")
    )
    return total, results


def _plain() -> RaterContext:
    return RaterContext(images=MemoryImages({}), timer=StageTimer())


def speed(name: str, seconds: float, pairs: int) -> str:
    return f"{name}: CP+ES on {pairs} pairs in {seconds:.1f} s = {pairs / seconds:.1f} pairs/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=3840)
    parser.add_argument("--images-per-neuron", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--store-every", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all)")
    parser.add_argument("--proportion", type=float, default=0.01)
    parser.add_argument("--threshold", type=float, default=0.25)
    parser.add_argument("--skip-notebook", action="store_true")
    parser.add_argument("--notebook-neurons", type=int, default=0, help="time the loop on N only")
    parser.add_argument("--notebook-concepts", type=int, default=0, help="time C concepts only")
    parser.add_argument(
        "--labels",
        type=Path,
        default=DATA / "results" / "clip_dissect_resnet50_imagenet_broden.csv",
    )
    parser.add_argument("--concepts", type=Path, default=DATA / "concept_sets" / "10k.txt")
    args = parser.parse_args()

    import open_clip

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    neurons = load_neurons(args.labels, args.neurons)
    concepts = [c for c in args.concepts.read_text().split("\n") if c]
    images, blobs = make_images(neurons, args.images_per_neuron)
    pairs = sum(len(s) for s in images)
    torch.manual_seed(0)
    load = time.perf_counter()
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", device=device)
    model.eval()
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    load = time.perf_counter() - load
    print(
        f"workload: {len(neurons)} neurons x {args.images_per_neuron} images = {pairs} pairs, "
        f"{len(concepts)} concepts, ViT-B-32 (random weights), device {device}, "
        f"{torch.get_num_threads()} CPU threads, model load {load:.1f} s (not counted)"
    )
    spec = ClipSpec("ViT-B-32", "random-weights", None, "fp32")
    encoder = ClipEncoder(spec, model, preprocess, tokenizer, device)
    ours, stages, verdicts = neuronjudge(encoder, neurons, images, blobs, concepts, args)
    print(speed("NeuronJudge", ours, pairs))
    print(f"  stages (s): {stages}")
    if args.skip_notebook:
        return
    ours_text = torch.from_numpy(
        np.stack([encoder.embed_texts(concepts, _plain())[c] for c in concepts])
    )
    theirs, reference = notebook(
        model, preprocess, tokenizer, neurons, images, blobs, concepts, args, device, ours_text
    )
    print(speed("notebook loop", theirs, pairs))
    cp_same = np.mean(
        [
            (c.verdict == "yes") == ref_cp
            for (c, _), (ref_cp, _) in zip(verdicts, reference, strict=False)
        ]
    )
    es_gap = max(
        abs(e.score - ref_es) for (_, e), (_, ref_es) in zip(verdicts, reference, strict=False)
    )
    print(f"pairs both rated: same CP verdict {cp_same:.4f}, largest ES gap {es_gap:.1e}")
    print(f"speed-up (notebook time / NeuronJudge time): {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
