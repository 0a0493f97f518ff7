"""Short names for raters on crowded figures (heatmap axes, verdict lists): what tells two
raters apart (method, threshold, model) in a few characters; pages show the full name on
hover. "ES 0.25 ViT-B-32", "CP 1% demo-clip", "VQA blip2-opt-2.7b", "human: alice"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from evaluation.agreement.consensus import DAWID_SKENE, MAJORITY
from evaluation.models import Rater

CONSENSUS_NAMES = {DAWID_SKENE: "consensus: Dawid-Skene", MAJORITY: "consensus: majority"}
KIND_SHORT = {
    Rater.Kind.OPENCLIP_ES: "ES",
    Rater.Kind.OPENCLIP_CP: "CP",
    Rater.Kind.VQA_BLIP2: "VQA",
    Rater.Kind.VQA_OPENAI: "VQA",
}


def short_model(model: str) -> str:
    """The model's last path part without the project's own prefix."""
    tail = model.rstrip("/").rsplit("/", 1)[-1].removeprefix("local-dir:")
    return tail.removeprefix("neuronjudge-") or model


def _setting(rater: Rater) -> str:
    params = rater.params or {}
    if rater.kind == Rater.Kind.OPENCLIP_ES and isinstance(params.get("threshold"), int | float):
        return f"{params['threshold']:g}"
    if rater.kind == Rater.Kind.OPENCLIP_CP and isinstance(params.get("proportion"), int | float):
        return f"{params['proportion'] * 100:g}%"
    return ""


LONGEST = 24  # characters of a name kept whole; longer ones keep their start and end


def shorten(name: str) -> str:
    """ "prolific-1-5f3c0ffee4b1a2c3d4e5f607" -> "prolific-1-5f…d4e5f607": ids differ at the end."""
    return name if len(name) <= LONGEST else f"{name[:13]}…{name[-8:]}"


def short_name(rater: Rater) -> str:
    if rater.is_human:
        return f"human: {shorten(rater.name.removeprefix('human:'))}"
    model = (rater.params or {}).get("model")
    parts = [KIND_SHORT.get(rater.kind, rater.kind), _setting(rater)]
    parts.append(short_model(str(model)) if model else "")
    named = " ".join(p for p in parts if p)
    return named if (model or _setting(rater)) else f"{named} {rater.name}"


def display_names(raters: Iterable[Rater]) -> dict[str, str]:
    """Full name -> short name for the raters and the human consensus raters; two raters
    whose short names would be the same are told apart by their pretrained tag, then by
    their id."""
    raters = list(raters)
    names = {r.name: short_name(r) for r in raters}
    for tiebreak in (_pretrained, lambda r: f"#{r.pk}"):
        counts = Counter(names.values())
        for r in raters:
            if counts[names[r.name]] > 1 and tiebreak(r):
                names[r.name] = f"{names[r.name]} {tiebreak(r)}"
    return names | CONSENSUS_NAMES


def _pretrained(rater: Rater) -> str:
    return str((rater.params or {}).get("pretrained") or "")
