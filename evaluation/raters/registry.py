"""Every automatic rater kind, one entry each: what forms, serializers, runs and reports ask.

Parameter checks and factories are named as "module:function" and imported when called, so
the web process never imports torch. Every kind follows one pattern:

- ``params``: ``check(params: dict, site: RaterSite) -> dict``, torch-free: the full
  configuration with defaults filled in, or a ValueError naming what is wrong;
- ``factory``: ``build(params: dict, device: str, site: RaterSite) -> PairRater`` (or a
  ``LabelRater`` for the kinds whose ``question`` is ``label_rating``), run on the workers only;
- ``models``: optional ``list_models() -> list[tuple[str, str]]``, torch-free: (value, label)
  of the models this machine has for the kind, the default first;
- ``dense``: optional ``is_yes(scores: ndarray, params: dict) -> ndarray[bool]``, torch-free,
  for the kinds whose raters also score the whole probe set (``score_probe_set``, see
  ``raters.base.DenseRater``): the verdicts their stored scores stand for. Kinds without it
  rate the (sampled) pairs only.

Adding a rater kind is one new module (its check and factory) and one entry here, plus its
``Rater.Kind`` choice (a database choice, so a migration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from evaluation.raters.base import (
    LOOPBACK_SITE,
    LabelRater,
    PairRater,
    RaterSite,
    RaterUnavailable,
)

PAIR_YES_NO = "pair_yes_no"  # one verdict per (neuron, image)
LABEL_RATING = "label_rating"  # one 1-5 rating per label, its k images shown together


@dataclass(frozen=True)
class RaterKind:
    kind: str
    label: str
    params: str  # "module:function" checking parameters (torch-free)
    factory: str  # "module:function" building the rater (workers only)
    form_fields: tuple[str, ...]  # start-run form fields that feed the parameters
    carries_score: bool = True  # judgments store a score besides the verdict
    higher_means_yes: bool = True  # which way of the score means yes
    models: str | None = None  # "module:function" listing local models (torch-free)
    dense: str | None = None  # "module:function" turning dense scores into yes/no (torch-free)
    question: str = PAIR_YES_NO  # which study question the kind answers

    def check_params(self, params: Any, site: RaterSite = LOOPBACK_SITE) -> dict[str, Any]:
        if not isinstance(params, dict):
            raise ValueError("parameters must be a JSON object")
        return _load(self.params)(params, site)

    def build(self, params: dict[str, Any], device: str, site: RaterSite) -> Any:
        return _load(self.factory)(params, device, site)

    def local_models(self) -> list[tuple[str, str]]:
        return _load(self.models)() if self.models else []

    @property
    def scores_probe_set(self) -> bool:
        return self.dense is not None

    def dense_yes(self, scores: Any, params: dict[str, Any]) -> Any:
        if self.dense is None:
            raise ValueError(f"{self.label} rates sampled images only, not the whole probe set")
        return _load(self.dense)(scores, params)


RATER_KINDS: dict[str, RaterKind] = {
    entry.kind: entry
    for entry in (
        RaterKind(
            kind="openclip_es",
            label="OpenCLIP embedding similarity",
            params="evaluation.raters.clip_spec:full_es_params",
            factory="evaluation.raters.openclip:build_embedding_similarity",
            form_fields=("model", "pretrained", "precision", "threshold"),
            models="evaluation.raters.clip_models:local_clip_models",
            dense="evaluation.raters.dense_cut:similarity_above_threshold",
        ),
        RaterKind(
            kind="openclip_cp",
            label="OpenCLIP concept proportion",
            params="evaluation.raters.clip_spec:full_cp_params",
            factory="evaluation.raters.openclip:build_concept_proportion",
            form_fields=("model", "pretrained", "precision", "proportion"),
            higher_means_yes=False,  # score = rank / |S|: a low rank is a yes
            models="evaluation.raters.clip_models:local_clip_models",
            dense="evaluation.raters.dense_cut:rank_within_proportion",
        ),
        RaterKind(
            kind="vqa_blip2",
            label="VQA: BLIP-2",
            params="evaluation.raters.vqa_blip2_settings:full_blip2_params",
            factory="evaluation.raters.blip2:build_blip2",
            form_fields=("model",),
            models="evaluation.raters.vqa_blip2_settings:blip2_models",
        ),
        RaterKind(
            kind="vqa_openai",
            label="VQA: OpenAI-compatible endpoint",
            params="evaluation.raters.vqa_openai_settings:full_openai_vqa_params",
            factory="evaluation.raters.openai_vqa:build_openai_vqa",
            form_fields=("model",),
        ),
        RaterKind(
            kind="vqa_blip2_rating",
            label="VQA: BLIP-2 rating 1-5",
            params="evaluation.raters.vqa_blip2_rating_settings:full_blip2_rating_params",
            factory="evaluation.raters.blip2_rating:build_blip2_rating",
            form_fields=("model",),
            models="evaluation.raters.vqa_blip2_settings:blip2_models",
            question=LABEL_RATING,
        ),
        RaterKind(
            kind="vqa_openai_rating",
            label="VQA: endpoint rating 1-5",
            params="evaluation.raters.vqa_openai_settings:full_openai_rating_params",
            factory="evaluation.raters.openai_rating:build_openai_rating",
            form_fields=("model",),
            question=LABEL_RATING,
        ),
    )
}


class UnknownRaterKind(ValueError):
    pass


def rater_kind(kind: str) -> RaterKind:
    """The entry for an automatic kind; UnknownRaterKind (a ValueError) for any other."""
    try:
        return RATER_KINDS[kind]
    except KeyError:
        raise UnknownRaterKind(f"{kind!r} is not an automatic rater kind") from None


def is_automatic(kind: str) -> bool:
    return kind in RATER_KINDS


def kind_choices(question: str | None = PAIR_YES_NO) -> list[tuple[str, str]]:
    """(kind, label) of the automatic kinds answering `question` (every kind for None), in
    registry order: for forms and serializers. The default keeps the pair-run forms to the
    kinds that rate pairs."""
    return [
        (entry.kind, entry.label)
        for entry in RATER_KINDS.values()
        if question is None or entry.question == question
    ]


def higher_means_yes(kind: str) -> bool | None:
    """Which way a kind's score points: True, False, or None when it carries no score (humans,
    consensus, unknown kinds)."""
    entry = RATER_KINDS.get(kind)
    return entry.higher_means_yes if entry is not None and entry.carries_score else None


def check_params(kind: str, params: Any, site: RaterSite = LOOPBACK_SITE) -> dict[str, Any]:
    """The full, validated configuration of a kind (defaults filled in)."""
    return rater_kind(kind).check_params(params, site)


def build_rater(
    kind: str, params: dict[str, Any], device: str = "auto", site: RaterSite = LOOPBACK_SITE
) -> PairRater:
    """The pair rater of a `pair_yes_no` kind; a label kind is refused before any weights load."""
    entry = rater_kind(kind)
    if entry.question != PAIR_YES_NO:
        raise RaterUnavailable(
            f"{entry.label} rates labels with their images shown together, not (neuron, image) "
            "pairs: it runs on a study asking label_rating"
        )
    return entry.build(params, device, site)


def build_label_rater(
    kind: str, params: dict[str, Any], device: str = "auto", site: RaterSite = LOOPBACK_SITE
) -> LabelRater:
    """The label rater of a `label_rating` kind; ValueError for a kind that rates pairs."""
    entry = rater_kind(kind)
    if entry.question != LABEL_RATING:
        raise ValueError(f"{kind!r} rates (neuron, image) pairs, not labels")
    return entry.build(params, device, site)


def _load(target: str) -> Callable[..., Any]:
    module_name, attribute = target.split(":")
    return getattr(import_module(module_name), attribute)
