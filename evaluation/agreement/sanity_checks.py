"""How often each rater says yes on sanity-probe neurons, next to its yes-rate on real ones.

Probes: a generic label ("objects"), a label shuffled in from another neuron of the same layer,
and another neuron's images under this neuron's label. A discriminating rater says yes far
less on probes than on real neurons; one that says yes to everything shows the same high rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

PROBE_ROLES = ("generic_label", "shuffled_label", "control_images")
ROLES = ("real", *PROBE_ROLES)
# A rater whose yes-rate on mismatched probes comes within this of its real rate is flagged.
MIN_GAP = 0.15


@dataclass(frozen=True)
class RoleRate:
    yes: int
    n: int
    rate: float
    ci: tuple[float, float]


@dataclass(frozen=True)
class SanityRow:
    rater: str
    rates: dict[str, RoleRate]  # role -> yes-rate
    flagged: bool
    reason: str


def _rate(yes: int, n: int) -> RoleRate:
    if n == 0:
        return RoleRate(0, 0, float("nan"), (float("nan"), float("nan")))
    lo, hi = proportion_confint(yes, n, alpha=0.05, method="wilson")
    return RoleRate(int(yes), int(n), yes / n, (float(lo), float(hi)))


def _flag(rates: dict[str, RoleRate]) -> tuple[bool, str]:
    real = rates["real"].rate
    reasons = []
    for role in PROBE_ROLES:
        probe = rates[role].rate
        if np.isnan(probe) or np.isnan(real):
            continue
        if probe >= 0.9 or real - probe < MIN_GAP:
            reasons.append(f"{role.replace('_', ' ')}: {probe:.0%} yes vs {real:.0%} on real")
    return bool(reasons), "; ".join(reasons)


def sanity_table(table: pd.DataFrame) -> list[SanityRow]:
    """`table` has columns rater, role, verdict (distractor pairs already left out)."""
    binary = table[table["verdict"].isin(["yes", "no"])]
    if binary.empty:
        return []
    grouped = (
        pd.DataFrame(
            {
                "rater": binary["rater"].astype(str),
                "role": binary["role"].astype(str),
                "yes": (binary["verdict"] == "yes").to_numpy(),
            }
        )
        .groupby(["rater", "role"])["yes"]
        .agg(["sum", "count"])
    )
    counts = {key: (int(y), int(n)) for key, y, n in grouped.itertuples(name=None)}
    rows = []
    for rater in sorted({r for r, _ in counts}):
        rates = {role: _rate(*counts.get((rater, role), (0, 0))) for role in ROLES}
        if not any(rates[r].n for r in PROBE_ROLES):
            continue
        flagged, reason = _flag(rates)
        rows.append(SanityRow(rater, rates, flagged, reason))
    return rows
