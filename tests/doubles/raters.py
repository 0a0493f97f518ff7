"""A deterministic rater used only to test the run machinery (the real raters have own tests).

It says yes when the label's first letter matches the image hash's parity, and counts calls.
"""

from dataclasses import replace

from evaluation.raters import registry
from evaluation.raters.base import PairVerdict

CALLS: list[int] = []


class ParityRater:
    def __init__(self, params, device):
        self.fail_after = params.get("fail_after")

    def rate(self, pairs, context):
        CALLS.append(len(pairs))
        if self.fail_after is not None and sum(CALLS) > self.fail_after:
            raise RuntimeError("simulated crash")
        with context.timer.stage("score"):
            return [
                PairVerdict(
                    p.pair_id,
                    "yes" if int(p.image_sha256, 16) % 2 else "no",
                    score=float(int(p.image_sha256[:4], 16)),
                    extra={"label": p.label},
                )
                for p in pairs
            ]


def build(params, device, site=None):
    return ParityRater(params, device)


def use_factory(monkeypatch, kind: str, factory: str) -> None:
    """Build `kind` with a test double's factory ("module:function") for this test."""
    entry = registry.RATER_KINDS[kind]
    monkeypatch.setitem(registry.RATER_KINDS, kind, replace(entry, factory=factory))
