"""Files in the shape of Describe-and-Dissect's human evaluations, generated for the tests.

Columns as the file ships (`data/DnD_results/human_evals/`): `Layer,Unit`, then for each
method M `M Label`, `M E1 Rating`, `M E2 Rating`, then `Uninterpretable E1`, `None E1`,
`Uninterpretable E2`, `None E2` (TRUE/FALSE).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

METHODS = ("CLIP-Dissect", "MILAN", "NetDissect", "DnD")
EVALUATORS = ("E1", "E2")
WORDS = ("dog", "stripes", "wheel", "sky", "grass", "face", "text", "water", "red", "fur")


@dataclass
class DnDFile:
    data: bytes
    # (evaluator, method, layer, unit) -> (rating, uninterpretable, none_fits)
    ratings: dict[tuple[str, str, str, int], tuple[int, bool, bool]]
    labels: dict[tuple[str, str, int], str]  # (method, layer, unit) -> label


def header(methods=METHODS) -> list[str]:
    columns = ["Layer", "Unit"]
    for m in methods:
        columns += [f"{m} Label", f"{m} E1 Rating", f"{m} E2 Rating"]
    return columns + ["Uninterpretable E1", "None E1", "Uninterpretable E2", "None E2"]


def dnd_file(units=None, methods=METHODS, seed: int = 0) -> DnDFile:
    """Ratings that agree more than chance: E2 is E1 moved by at most one step, mostly."""
    rng = np.random.default_rng(seed)
    units = units or {"layer3": 12, "layer4": 18}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header(methods))
    ratings, labels = {}, {}
    for layer, count in units.items():
        for unit in range(count):
            flags = {e: (bool(rng.random() < 0.1), bool(rng.random() < 0.1)) for e in EVALUATORS}
            row = [layer, unit]
            for m in methods:
                label = f"{WORDS[rng.integers(len(WORDS))]} {m.lower()} {unit}"
                first = int(rng.integers(1, 6))
                second = int(np.clip(first + rng.choice([-1, 0, 0, 1, 2]), 1, 5))
                labels[(m, layer, unit)] = label
                for e, r in zip(EVALUATORS, (first, second), strict=True):
                    ratings[(e, m, layer, unit)] = (r, *flags[e])
                row += [label, first, second]
            for e in EVALUATORS:
                row += ["TRUE" if f else "FALSE" for f in flags[e]]
            writer.writerow(row)
    return DnDFile(out.getvalue().encode(), ratings, labels)
