"""manage.py probe_metrics ACTIVATIONS.npy CONCEPTS.npy [--alpha 0.005] [--json]: the
whole-probe metrics for concept vectors computed elsewhere, column i against column i."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from evaluation.probe_metrics import DEFAULT_ALPHA, METRIC_NAMES, probe_metrics

PER_COLUMN_ROWS = 20  # the readable table lists columns one by one up to this many


def load_matrix(path: str) -> np.ndarray:
    """A 2-D numeric .npy array, memory-mapped; CommandError naming the file otherwise."""
    file = Path(path)
    if file.suffix != ".npy":
        raise CommandError(f"{path}: not an .npy file")
    if not file.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        array = np.load(file, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CommandError(f"{path}: not a readable .npy array ({exc})") from exc
    if array.ndim != 2:
        raise CommandError(f"{path}: must be 2-D [images, columns], has shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise CommandError(f"{path}: must hold numbers, has dtype {array.dtype}")
    _check_finite(path, array)
    return array


def _check_finite(path: str, array: np.ndarray, block: int = 256) -> None:
    for start in range(0, array.shape[1], block):
        bad = ~np.isfinite(array[:, start : start + block])
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise CommandError(
                f"{path}: {int(bad.sum())} NaN or infinite value(s) in columns from {start}, "
                f"first at image {row}, column {start + col}"
            )


class Command(BaseCommand):
    help = "Recall, precision, F1, IoU, correlation, cosine and AUPRC per column of two arrays."

    def add_arguments(self, parser):
        parser.add_argument("activations", help=".npy [images, columns] of neuron activations")
        parser.add_argument("concepts", help=".npy [images, columns] of concept values in [0, 1]")
        parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **opts):
        alpha = opts["alpha"]
        if not 0 < alpha <= 1:
            raise CommandError(f"--alpha must be in (0, 1], got {alpha}")
        activations = load_matrix(opts["activations"])
        concepts = load_matrix(opts["concepts"])
        if activations.shape != concepts.shape:
            raise CommandError(
                f"{opts['concepts']}: shape {concepts.shape} differs from "
                f"{opts['activations']}'s {activations.shape}"
            )
        metrics = probe_metrics(activations, concepts, alpha)
        if opts["json"]:
            body = {name: [float(v) for v in metrics[name]] for name in METRIC_NAMES}
            self.stdout.write(json.dumps({"alpha": alpha, "metrics": body}, allow_nan=False))
        else:
            self.stdout.write(self._table(metrics, alpha, activations.shape))

    def _table(self, metrics, alpha, shape) -> str:
        lines = [f"{shape[0]} images, {shape[1]} columns, alpha {alpha}"]
        lines.append(f"{'column':>8} " + " ".join(f"{n:>11}" for n in METRIC_NAMES))
        lines.append(f"{'mean':>8} " + " ".join(f"{metrics[n].mean():11.4f}" for n in METRIC_NAMES))
        if shape[1] <= PER_COLUMN_ROWS:
            for j in range(shape[1]):
                cells = " ".join(f"{metrics[n][j]:11.4f}" for n in METRIC_NAMES)
                lines.append(f"{j:>8} {cells}")
        return "\n".join(lines)
