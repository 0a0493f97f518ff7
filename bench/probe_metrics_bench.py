"""CPU time of the whole-probe metrics (no Django, no database).

- dense: 3,840 labels over 63,305 images from one dense model rater (float32 activations and
  soft concept scores, generated), all seven metrics; target under 30 s of CPU;
- sampled: 50 rated images per neuron (20 from the top alpha, 30 uniform from the rest, with
  their inclusion probabilities), 3 raters, 3,840 neurons; target under 1 s. The activation
  summary over the whole probe set (cut-offs, sums) is computed once per layer, with the
  dense pass, and timed apart.
Wall time on a shared machine varies with the load; ratios are taken on CPU time.
The baseline is a per-label loop over scikit-learn's average_precision_score plus numpy for
the other metrics, timed on a sample of columns and scaled linearly to all columns.

    .venv/bin/python bench/probe_metrics_bench.py [--images 63305] [--labels 3840]
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.probe_metrics import (  # noqa: E402
    DEFAULT_ALPHA,
    estimate_probe_metrics,
    probe_metrics,
    summarise_activations,
)

PER_NEURON, FROM_TOP, RATERS = 50, 20, 3


def generate(n_images: int, n_labels: int, seed: int = 0, block: int = 256):
    """Neurons responding to a planted concept; a dense rater's soft scores for it."""
    rng = np.random.default_rng(seed)
    acts = np.empty((n_images, n_labels), dtype=np.float32)
    concepts = np.empty((n_images, n_labels), dtype=np.float32)
    for start in range(0, n_labels, block):
        cols = slice(start, min(start + block, n_labels))
        width = cols.stop - cols.start
        present = rng.random((n_images, width), dtype=np.float32) < rng.uniform(
            0.002, 0.05, width
        ).astype(np.float32)
        gain = rng.uniform(1.0, 5.0, width).astype(np.float32)
        acts[:, cols] = present * gain + rng.standard_normal((n_images, width), np.float32)
        noise = rng.random((n_images, width), dtype=np.float32)
        concepts[:, cols] = np.clip(0.65 * present + 0.45 * noise, 0, 1)
    return acts, concepts


def timed(fn, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def loop_metrics(acts, concepts, cols, alpha, weights=None):
    """The per-label baseline: numpy for the set metrics, sklearn for AUPRC."""
    n = acts.shape[0]
    k = max(1, math.ceil(alpha * n))
    for j in cols:
        a, c = acts[:, j].astype(np.float64), concepts[:, j].astype(np.float64)
        top = a >= np.partition(a, n - k)[n - k]
        pos = c >= 0.5
        both = np.sum(top & pos)
        _ = (both / top.sum(), both / max(pos.sum(), 1), 2 * both / (top.sum() + pos.sum()))
        _ = np.corrcoef(a, c)[0, 1], a @ c / (np.linalg.norm(a) * np.linalg.norm(c))
        average_precision_score(top, c, sample_weight=None if weights is None else weights[:, j])


def sampled_ratings(acts, concepts, summary, rng):
    """50 images per neuron by a stated design, and three raters' yes/no on each."""
    n, n_labels = acts.shape
    idx = np.empty((PER_NEURON, n_labels), dtype=np.int64)
    inclusion = np.empty((PER_NEURON, n_labels))
    for j in range(n_labels):
        top = np.flatnonzero(acts[:, j] >= summary.cutoff[j])
        rest = rng.choice(n - top.size, PER_NEURON - FROM_TOP, replace=False)
        rest = np.setdiff1d(np.arange(n), top, assume_unique=True)[rest]
        idx[:, j] = np.concatenate([rng.choice(top, FROM_TOP, replace=False), rest])
        inclusion[:FROM_TOP, j] = FROM_TOP / top.size
        inclusion[FROM_TOP:, j] = (PER_NEURON - FROM_TOP) / (n - top.size)
    a = np.take_along_axis(acts, idx, axis=0).astype(np.float64)
    truth = np.take_along_axis(concepts, idx, axis=0) >= 0.5
    flips = rng.random((RATERS, *truth.shape)) < 0.1
    ratings = (truth[None] ^ flips).astype(np.float64)
    return a, ratings, inclusion


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=63_305)
    parser.add_argument("--labels", type=int, default=3_840)
    parser.add_argument("--baseline-columns", type=int, default=48)
    args = parser.parse_args()
    alpha = DEFAULT_ALPHA
    t0 = time.perf_counter()
    acts, concepts = generate(args.images, args.labels)
    print(f"generated {acts.shape} float32 x2 in {time.perf_counter() - t0:.1f} s")

    tracemalloc.start()
    _, wall, cpu = timed(probe_metrics, acts, concepts, alpha)
    extra_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(
        f"dense: {args.labels} labels x {args.images} images: {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU (target < 30 s), peak {extra_mb:.0f} MB beyond the inputs"
    )
    sample = np.linspace(0, args.labels - 1, args.baseline_columns).astype(int)
    _, _, base_cpu = timed(loop_metrics, acts, concepts, sample, alpha)
    scaled = base_cpu * args.labels / sample.size
    print(
        f"  per-label sklearn+numpy loop: {base_cpu:.2f} s CPU on {sample.size} columns, "
        f"scaled linearly to {scaled:.0f} s; ratio {scaled / cpu:.1f}x (CPU time)"
    )

    summary, s_wall, s_cpu = timed(summarise_activations, acts, alpha)
    print(f"activation summary (once per layer): {s_wall:.2f} s wall, {s_cpu:.2f} s CPU")
    a, ratings, inclusion = sampled_ratings(acts, concepts, summary, np.random.default_rng(1))

    def all_raters():
        return [estimate_probe_metrics(summary, a, r, inclusion) for r in ratings]

    _, wall, cpu = timed(all_raters)
    print(
        f"sampled: {PER_NEURON} images x {RATERS} raters x {args.labels} neurons: "
        f"{wall:.3f} s wall, {cpu:.3f} s CPU (target < 1 s)"
    )
    sample = np.arange(0, args.labels, max(1, args.labels // 480))
    weights = 1 / inclusion

    def loop_raters():
        for r in ratings:
            loop_metrics(a, r, sample, alpha, weights)

    _, _, base_cpu = timed(loop_raters)
    scaled = base_cpu * args.labels / sample.size
    print(
        f"  per-label sklearn+numpy loop: {base_cpu:.2f} s CPU on {sample.size} columns x "
        f"{RATERS} raters, scaled linearly to {scaled:.1f} s; ratio {scaled / cpu:.0f}x (CPU time)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"peak RSS of the process {peak:.0f} MB (inputs {2 * acts.nbytes / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
