"""GPU figures in one short run: OpenCLIP CP+ES and the BLIP-2 one-pass scorer, random weights.

    bash bench/gpu_check.sh              # on the GPU machine (see docs/gpu-check.md)
    bash bench/gpu_check.sh --cpu-smoke  # the same code path, tiny shapes, on a CPU

Needs torch, torchvision, transformers and open_clip, and no database, broker or network:
models are built from their configs with random weights (speed does not depend on the
values) and driven through the real rater classes of evaluation/raters. Each workload is
timed whole, its reference loop (from bench/openclip_bench.py and bench/blip2_bench.py) on a
sample in the same run, and its FLOPs are counted on a sample, so that the arithmetic floor
(FLOPs / peak) shows how far the measured time is from the physical limit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import blip2_bench  # noqa: E402
import openclip_bench  # noqa: E402

from evaluation.raters.base import MemoryVectorCache, Pair, RaterContext, StageTimer  # noqa: E402
from evaluation.raters.blip2 import Blip2Rater, check_blip2_params  # noqa: E402
from evaluation.raters.clip_encoder import ClipEncoder  # noqa: E402
from evaluation.raters.clip_spec import ClipSpec  # noqa: E402
from evaluation.raters.openclip import (  # noqa: E402
    ConceptProportionRater,
    EmbeddingSimilarityRater,
)

TARGET_PAIRS = 19_200  # the reference study: 3,840 neurons x 5 images
# Dense fp16/bf16 tensor-core peaks from the vendors' datasheets, TFLOP/s; most specific first.
DATASHEET_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),
    ("H200", 989.4),
    ("A100", 312.0),
    ("L40S", 362.1),
    ("L4", 121.0),
    ("V100", 125.0),
    ("T4", 65.0),
)
SHAPES = {
    # neurons x images each = pairs; notebook_* and reference_pairs: the reference loops'
    # samples; flop_neurons / flop_pairs: the samples FLOPs are counted on.
    "gpu": dict(neurons=3840, images=5, concepts=None, clip="ViT-B-32", blip2="full",
                blip2_batch=256, notebook_neurons=200, notebook_concepts=0, reference_pairs=64,
                flop_neurons=16, flop_pairs=32, matmul=8192),
    "cpu-smoke": dict(neurons=4, images=2, concepts=64, clip="ViT-S-32-alt", blip2="tiny",
                      blip2_batch=8, notebook_neurons=1, notebook_concepts=16, reference_pairs=2,
                      flop_neurons=1, flop_pairs=2, matmul=512),
}  # fmt: skip


def find_data() -> Path | None:
    """The CLIP-Dissect labels and concept sets: beside the checkout, inside it, or in .whl/."""
    candidates = [os.environ.get("NJ_CLIP_DISSECT_DATA", "")]
    candidates += [ROOT.parent / "shared/data/clip-dissect", ROOT / "shared/data/clip-dissect"]
    candidates.append(ROOT / ".whl/data/clip-dissect")
    for folder in map(Path, filter(None, map(str, candidates))):
        if (folder / "concept_sets/10k.txt").is_file():
            return folder
    return None


def workload(shape: dict) -> tuple[list, list[str], list[list[str]], dict[str, bytes], str]:
    """Neurons with their labels, the concept set, and distinct generated images per neuron."""
    data = find_data()
    if data is None:  # still the same shapes; labels are placeholders
        concepts = [f"concept {i}" for i in range(9894)]
        neurons = [("layer4", n, concepts[n * 7 % len(concepts)]) for n in range(shape["neurons"])]
        source = "synthetic (no CLIP-Dissect data found)"
    else:
        labels = data / "results/clip_dissect_resnet50_imagenet_broden.csv"
        neurons = openclip_bench.load_neurons(labels, shape["neurons"])
        text = (data / "concept_sets/10k.txt").read_text()
        concepts = [c for c in text.split("\n") if c]
        source = str(data)
    concepts = concepts[: shape["concepts"] or len(concepts)]
    images, blobs = openclip_bench.make_images(neurons, shape["images"])
    return neurons, concepts, images, blobs, source


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def counted_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def datasheet_peak(device_name: str) -> float | None:
    return next((peak for key, peak in DATASHEET_TFLOPS if key in device_name), None)


def peaks(device: str, size: int) -> dict:
    """The datasheet peak where the GPU is known, and a large matmul's measured rate."""
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b
    reps = 40 if device == "cuda" else 5
    _, seconds = timed(lambda: [a @ b for _ in range(reps)])
    name = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "CPU"
    override = os.environ.get("GPU_PEAK_TFLOPS")
    sheet = float(override) if override else datasheet_peak(name) if device == "cuda" else None
    return {
        "device_name": name,
        "datasheet_tflops": sheet,
        "measured_matmul_tflops": round(2 * size**3 * reps / seconds / 1e12, 2),
        "matmul": f"{size}x{size} {str(dtype).removeprefix('torch.')}",
    }


def figures(pairs: int, seconds: float, reference: dict, flops: int, peak: dict) -> dict:
    """Rates and projections to 19,200 pairs; `reference` holds the reference loop's sample
    and its time projected to this run's whole workload."""
    rate = pairs / seconds
    ref_rate = pairs / reference["projected_seconds"]
    scale = TARGET_PAIRS / pairs
    return {
        "pairs": pairs,
        "seconds": round(seconds, 3),
        "pairs_per_second": round(rate, 2),
        "seconds_for_19200_pairs": round(seconds * scale, 2),
        "reference_sample_pairs": reference["sample_pairs"],
        "reference_sample_seconds": round(reference["sample_seconds"], 3),
        "reference_pairs_per_second": round(ref_rate, 3),
        "reference_seconds_for_19200_pairs": round(reference["projected_seconds"] * scale, 1),
        "speedup_vs_reference": round(rate / ref_rate, 2),
        "flops_for_19200_pairs": int(flops * scale),
        "floor_seconds_for_19200_pairs": {
            key.removesuffix("_tflops"): round(flops * scale / (peak[key] * 1e12), 3)
            for key in ("datasheet_tflops", "measured_matmul_tflops")
            if peak[key]
        },
    }


def openclip_workload(shape, device, data, peak) -> dict:
    import open_clip

    neurons, concepts, images, blobs, source = data
    precision = "fp16" if device == "cuda" else "fp32"
    torch.manual_seed(0)
    name = shape["clip"]
    model, _, preprocess = open_clip.create_model_and_transforms(
        name, pretrained=None, device=device
    )
    model.requires_grad_(False)  # inference only; and FLOP counting hooks want no grad
    tokenizer = open_clip.get_tokenizer(name)
    spec = ClipSpec(name, "random-weights", None, precision)

    def encoder() -> ClipEncoder:  # a fresh one: its in-process text memo starts empty
        return ClipEncoder(spec, model, preprocess, tokenizer, device)

    args = SimpleNamespace(
        batch_size=None, store_every=1024, proportion=0.01, threshold=0.25,
        notebook_neurons=shape["notebook_neurons"], notebook_concepts=shape["notebook_concepts"],
    )  # fmt: skip
    warm = encoder()
    openclip_bench.neuronjudge(warm, neurons[:2], images, blobs, concepts[:64], args)
    ours = encoder()
    (_, stages, _), seconds = timed(
        lambda: openclip_bench.neuronjudge(ours, neurons, images, blobs, concepts, args)
    )
    ref_n = min(len(neurons), shape["notebook_neurons"])
    vectors = ours.embed_texts(concepts, openclip_bench._plain())
    ours_text = torch.from_numpy(np.stack([vectors[c] for c in concepts])).to(device)
    autocast = torch.autocast(device, dtype=torch.float16) if device == "cuda" else nullcontext()
    with autocast:  # the same precision on both sides: the ratio measures the loop alone
        (projected, _), sample_s = timed(
            lambda: openclip_bench.notebook(
                model, preprocess, tokenizer, neurons, images, blobs, concepts, args, device,
                ours_text,
            )
        )  # fmt: skip
    reference = dict(
        sample_pairs=ref_n * shape["images"], sample_seconds=sample_s, projected_seconds=projected
    )
    flops = openclip_flops(encoder(), neurons, images, blobs, concepts, shape["flop_neurons"])
    result = figures(len(neurons) * shape["images"], seconds, reference, flops, peak)
    result.update(
        workload="OpenCLIP CP+ES", model=f"{name} (random weights)", precision=precision,
        concepts=len(concepts), neurons=len(neurons), data=source, stages=stages,
        reference="notebook loop: one neuron at a time, CP then ES (bench/openclip_bench.py)",
    )  # fmt: skip
    return result


def openclip_flops(encoder, neurons, images, blobs, concepts, sample: int) -> int:
    """The concept set once, plus the per-neuron work of a sample scaled to every neuron."""
    context = RaterContext(
        images=openclip_bench.MemoryImages(blobs), timer=StageTimer(), concepts=concepts,
        cache=MemoryVectorCache(), device=encoder.device,
    )  # fmt: skip
    once = counted_flops(lambda: encoder.embed_texts(concepts, context))
    pairs = [Pair(n * 100 + i, sha, neurons[n][2]) for n in range(sample) for i, sha in
             enumerate(images[n])]  # fmt: skip
    cp = ConceptProportionRater({"proportion": 0.01}, encoder)
    es = EmbeddingSimilarityRater({"threshold": 0.25}, encoder)
    per = counted_flops(lambda: (cp.rate(pairs, context), es.rate(pairs, context)))
    return int(once + per * len(neurons) / sample)


def blip2_workload(shape, device, data, peak) -> dict:
    neurons, _, images, blobs, _ = data
    pairs = [
        Pair(n * 100 + i, sha, neurons[n][2]) for n in range(len(neurons))
        for i, sha in enumerate(images[n])
    ]  # fmt: skip
    (model, processor), build_s = timed(
        lambda: blip2_bench.build(shape["blip2"], torch.device(device), [p.label for p in pairs])
    )
    model.requires_grad_(False)  # inference only; and FLOP counting hooks want no grad
    batch = shape["blip2_batch"]
    settings = check_blip2_params({"batch_size": batch, "image_batch_size": min(batch, 128)})

    def rater() -> Blip2Rater:  # a fresh one: its image-feature cache starts empty
        return Blip2Rater(model, processor, settings)

    def context() -> RaterContext:
        return RaterContext(images=blip2_bench.MemoryImages(blobs), timer=StageTimer())

    rater().rate(pairs[:4], context())
    blip2_bench.reference_loop(model, processor, pairs[:1], blobs, torch.device(device), 2)
    timer_context = context()
    _, seconds = timed(lambda: rater().rate(pairs, timer_context))
    sample = pairs[:: max(1, len(pairs) // shape["reference_pairs"])][: shape["reference_pairs"]]
    _, ref_seconds = timed(
        lambda: blip2_bench.reference_loop(model, processor, sample, blobs, torch.device(device), 2)
    )
    flop_sample = pairs[: shape["flop_pairs"]]
    flops = counted_flops(lambda: rater().rate(flop_sample, context()))
    flops = int(flops * len(pairs) / len(flop_sample))
    reference = dict(
        sample_pairs=len(sample), sample_seconds=ref_seconds,
        projected_seconds=ref_seconds * len(pairs) / len(sample),
    )  # fmt: skip
    result = figures(len(pairs), seconds, reference, flops, peak)
    result.update(
        workload="BLIP-2 yes/no one-pass scorer", precision="bf16" if device == "cuda" else "fp32",
        model="Blip2ForConditionalGeneration, "
        f"{'blip2-opt-2.7b' if shape['blip2'] == 'full' else 'tiny'} shape, random weights",
        parameters=sum(p.numel() for p in model.parameters()),
        model_build_seconds=round(build_s, 1),
        stages=timer_context.timer.as_dict(),
        reference="the study's loop: one image at a time, generate() 2 tokens, parse the answer "
        "(bench/blip2_bench.py)",
    )  # fmt: skip
    return result


def report_lines(name: str, r: dict) -> list[str]:
    floor = ", ".join(f"{s:.2f} s ({k})" for k, s in r["floor_seconds_for_19200_pairs"].items())
    return [
        f"{name}: {r['workload']}, {r['model']}, {r['precision']}",
        f"  {r['pairs_per_second']:.1f} pairs/s; {r['seconds_for_19200_pairs']:.1f} s for "
        f"19,200 pairs ({r['pairs']} measured in {r['seconds']:.1f} s)",
        f"  reference loop: {r['reference_pairs_per_second']:.2f} pairs/s on "
        f"{r['reference_sample_pairs']} pairs = {r['reference_seconds_for_19200_pairs']:.0f} s "
        f"for 19,200; ratio {r['speedup_vs_reference']:.1f}x",
        f"  arithmetic floor: {r['flops_for_19200_pairs'] / 1e12:.1f} TFLOP for 19,200 pairs "
        f"-> {floor or 'unknown peak (set GPU_PEAK_TFLOPS)'}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny shapes on the CPU")
    parser.add_argument("--only", choices=("openclip", "blip2"), help="run one workload")
    args = parser.parse_args()
    mode = "cpu-smoke" if args.cpu_smoke else "gpu"
    if mode == "gpu" and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device visible to torch; use --cpu-smoke on a CPU")
    device = "cuda" if mode == "gpu" else "cpu"
    shape = SHAPES[mode]
    peak = peaks(device, shape["matmul"])
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
        "gpu": peak["device_name"] if device == "cuda" else None,
        "peak": peak,
        "projection": "none: 19,200 pairs were run"
        if mode == "gpu"
        else "linear from a tiny workload on a CPU: checks the code path, not the figures",
        "workloads": {},
    }
    print(f"gpu_check {mode}: {peak['device_name']}, python {report['python']}, torch "
          f"{torch.__version__}; peak {peak['datasheet_tflops']} TFLOP/s datasheet, "
          f"{peak['measured_matmul_tflops']} measured ({peak['matmul']})", flush=True)  # fmt: skip
    data, data_s = timed(lambda: workload(shape))
    neurons, concepts, _, _, source = data
    print(f"workload: {len(neurons)} neurons x {shape['images']} images, {len(concepts)} "
          f"concepts from {source} (made in {data_s:.1f} s)", flush=True)  # fmt: skip
    runs = {"openclip": openclip_workload, "blip2": blip2_workload}
    for name, run in runs.items():
        if args.only and name != args.only:
            continue
        report["workloads"][name] = run(shape, device, data, peak)
        print("\n".join(report_lines(name, report["workloads"][name])), flush=True)
        write(report)  # after each workload, so a run cut short keeps what it measured
        if device == "cuda":
            torch.cuda.empty_cache()


def write(report: dict) -> None:
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
