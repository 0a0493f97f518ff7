"""Which plain-Python factory builds the rater of each kind.

Factories are imported lazily so that the web process never imports torch.
Each factory is called as ``factory(params: dict, device: str)`` and returns a PairRater.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from evaluation.raters.base import PairRater

FACTORIES: dict[str, str] = {
    "openclip_es": "evaluation.raters.openclip:build_embedding_similarity",
    "openclip_cp": "evaluation.raters.openclip:build_concept_proportion",
    "vqa_blip2": "evaluation.raters.blip2:build_blip2",
    "vqa_openai": "evaluation.raters.openai_vqa:build_openai_vqa",
}


class UnknownRaterKind(ValueError):
    pass


def factory_for(kind: str) -> Callable[[dict[str, Any], str], PairRater]:
    try:
        target = FACTORIES[kind]
    except KeyError:
        raise UnknownRaterKind(f"no automatic rater of kind {kind!r}") from None
    module_name, attribute = target.split(":")
    return getattr(import_module(module_name), attribute)


def build_rater(kind: str, params: dict[str, Any], device: str = "auto") -> PairRater:
    return factory_for(kind)(params, device)
