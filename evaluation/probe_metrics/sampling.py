"""Which images of the probe set beyond a neuron's top-k are rated, and with what chance.

The design, for one neuron and R = the probe set's pictures that are not among its top-k
(n = abs(R)), R ranked by activation, highest first (ties by the order given):
- uniform: m pictures drawn from R without replacement, so each has chance m / n;
- stratified: R cut at activation quantiles into q strata that halve towards the top: the
  top stratum holds the highest n / 2^(q-1) pictures, each lower stratum the next block of
  twice that, the bottom stratum the lower half (q = 1: all of R). From each stratum s,
  `per_stratum` pictures are drawn without replacement, chance per_stratum / abs(s) (all
  of it when smaller). So the top of the activation range, where the metrics' cut lies, is
  rated far more densely than the rest, and the rest is still covered.
The two draws are independent and their union is rated, each picture once, so a picture's
inclusion probability is 1 - (1 - p_uniform)(1 - p_stratum). Top-k pictures are always
rated: probability 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SampleDesign:
    random: int  # m: uniform draws from the rest
    strata: int  # q: halving activation strata
    per_stratum: int = 1
    seed: int = 0

    def check(self) -> SampleDesign:
        for name in ("random", "strata", "per_stratum", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
        if self.random == 0 and self.strata == 0:
            raise ValueError("nothing to draw: give --random or --strata (or both) above 0")
        if self.strata and self.per_stratum < 1:
            raise ValueError("per_stratum must be at least 1")
        if self.strata > 30:
            raise ValueError("strata must be at most 30 (the top stratum halves each time)")
        return self

    @property
    def label(self) -> str:
        """Stored with each drawn image: the same label means the same draw."""
        return (
            f"random={self.random};strata={self.strata};"
            f"per_stratum={self.per_stratum};seed={self.seed}"
        )


def stratum_edges(n: int, strata: int) -> list[int]:
    """Rank boundaries (0 = highest activation) of the halving strata, top first."""
    if strata == 0:
        return [0]
    return [0, *(math.ceil(n / 2**j) for j in range(strata - 1, 0, -1)), n]


def draw_sample(
    activations: np.ndarray, design: SampleDesign, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Positions into `activations` (one value per picture of R) drawn by `design`, in
    ascending order, and each one's inclusion probability."""
    n = activations.shape[0]
    chance = np.zeros(n)
    drawn = np.zeros(n, dtype=bool)
    if n == 0:
        return np.empty(0, dtype=np.int64), chance
    if design.random:
        m = min(design.random, n)
        drawn[rng.choice(n, size=m, replace=False)] = True
        chance[:] = m / n
    by_rank = np.argsort(-activations, kind="stable")
    edges = stratum_edges(n, design.strata)
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        size = stop - start
        if size == 0:
            continue
        take = min(design.per_stratum, size)
        members = by_rank[start:stop]
        drawn[members[rng.choice(size, size=take, replace=False)]] = True
        chance[members] = 1 - (1 - chance[members]) * (1 - take / size)
    positions = np.flatnonzero(drawn)
    return positions, chance[positions]
