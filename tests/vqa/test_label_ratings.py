"""BLIP-2 rating labels 1-5 on a tiny BLIP-2 with digit answers, built in-process."""

import io
import math

import pytest
import torch
from PIL import Image

from evaluation.raters.base import LabelItem, LabelRating, Pair, RaterUnavailable, rate_label_chunk
from evaluation.raters.blip2_rating import (
    Blip2LabelRater,
    build_blip2_rating,
    rating_probabilities,
)
from evaluation.raters.registry import build_rater
from evaluation.raters.vqa_blip2_rating_settings import (
    RATING_PROMPT,
    check_blip2_rating_params,
    full_blip2_rating_params,
)
from evaluation.raters.vqa_blip2_settings import DEFAULT_PROMPT as YES_NO_PROMPT
from tests.doubles.images import context_for, image_set
from tests.doubles.tiny_blip2 import tiny_blip2

IMAGES = image_set(5)
SHAS = list(IMAGES)
ITEMS = [
    LabelItem(101, 1, "red", (SHAS[0], SHAS[1], SHAS[2])),
    LabelItem(102, 2, "green circle", (SHAS[1], SHAS[3])),
    LabelItem(103, 3, "blue striped dotted dog", (SHAS[4],)),
    LabelItem(104, 4, "sky", (SHAS[2], SHAS[3], SHAS[4], SHAS[0])),
]


@pytest.fixture(scope="module")
def rating_model():
    return tiny_blip2(seed=0, digits=True)


def _rater(model_and_processor, **params) -> Blip2LabelRater:
    model, processor = model_and_processor
    return Blip2LabelRater(model, processor, check_blip2_rating_params(params))


def _by_hand(model_and_processor, sha: str, prompt: str) -> list[float]:
    """Answer-position probabilities of the whole vocabulary, through the model's own forward
    with the processor's inputs (not the rater's embedding path)."""
    model, processor = model_and_processor
    image = Image.open(io.BytesIO(IMAGES[sha])).convert("RGB")
    inputs = processor(images=[image], text=[prompt], return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1].double()
    return torch.softmax(logits, dim=-1).tolist()


def test_rating_is_the_expected_value_of_the_digit_probabilities(rating_model):
    vocab = rating_model[1].tokenizer.get_vocab()
    got = _rater(rating_model).rate_labels(ITEMS, context_for(IMAGES))
    for item, rating in zip(ITEMS, got, strict=True):
        prompt = RATING_PROMPT.format(label=item.label)
        per_image = []
        for sha in item.image_sha256s:
            probs = _by_hand(rating_model, sha, prompt)
            p = [probs[vocab[str(r)]] for r in range(1, 6)]
            per_image.append(sum(r * pr for r, pr in zip(range(1, 6), p, strict=True)) / sum(p))
        assert rating.item_id == item.item_id and not rating.unparseable
        assert rating.extra["image_ratings"] == pytest.approx(per_image, abs=1e-5)
        assert rating.rating == pytest.approx(sum(per_image) / len(per_image), abs=1e-5)
        assert rating.prompt == prompt
    assert len({round(r.rating, 4) for r in got}) == len(ITEMS)  # image and label reach it
    highest = _rater(rating_model, combine="max").rate_labels(ITEMS, context_for(IMAGES))
    for mean, top in zip(got, highest, strict=True):
        assert top.rating == pytest.approx(max(mean.extra["image_ratings"]), abs=1e-6)


def test_label_verdict_is_yes_when_any_image_is_yes(rating_model):
    vocab = rating_model[1].tokenizer.get_vocab()
    item = ITEMS[3]
    scores = []
    for sha in item.image_sha256s:
        probs = _by_hand(rating_model, sha, YES_NO_PROMPT.format(label=item.label))
        yes = sum(probs[vocab[w]] for w in ("yes", "Yes", "YES"))
        no = sum(probs[vocab[w]] for w in ("no", "No", "NO"))
        scores.append(yes / (yes + no))
    [got] = _rater(rating_model).rate_labels([item], context_for(IMAGES))
    assert got.extra["yes_scores"] == pytest.approx(scores, abs=1e-5)
    assert got.extra["yes_no_prompt"] == YES_NO_PROMPT.format(label=item.label)
    between = (sorted(scores)[-1] + sorted(scores)[-2]) / 2  # only the top image passes
    [one_yes] = _rater(rating_model, threshold=between).rate_labels([item], context_for(IMAGES))
    assert one_yes.verdict == "yes" and one_yes.extra["yes_images"] == 1
    above_all = min(0.999, max(scores) + 1e-3)
    [none] = _rater(rating_model, threshold=above_all).rate_labels([item], context_for(IMAGES))
    assert none.verdict == "no" and none.extra["yes_images"] == 0


def test_each_batch_of_prompts_is_one_forward_pass_without_generate(rating_model, monkeypatch):
    model, _ = rating_model
    calls: list[int] = []
    hook = model.language_model.register_forward_hook(
        lambda module, args, kwargs, out: calls.append(kwargs["inputs_embeds"].shape[0]),
        with_kwargs=True,
    )
    monkeypatch.setattr(model, "generate", lambda *a, **k: pytest.fail("generate() was called"))
    prompts = 2 * sum(len(item.image_sha256s) for item in ITEMS)  # rating and yes/no per image
    try:
        rater = _rater(rating_model, batch_size=prompts)
        context = context_for(IMAGES)
        rater.rate_labels(ITEMS, context)
        assert calls == [prompts] and rater.forward_passes == 1
        assert context.notes["blip2_rating_prompts_per_pass"] == prompts
        calls.clear()
        _rater(rating_model, batch_size=4).rate_labels(ITEMS, context_for(IMAGES))
        assert len(calls) == math.ceil(prompts / 4) and sum(calls) == prompts
    finally:
        hook.remove()


def test_ratings_do_not_depend_on_batch_size_or_padding(rating_model):
    alone = _rater(rating_model, batch_size=1).rate_labels(ITEMS, context_for(IMAGES))
    for batch_size in (3, 7, 64):
        batched = _rater(rating_model, batch_size=batch_size).rate_labels(
            ITEMS, context_for(IMAGES)
        )
        assert [r.item_id for r in batched] == [item.item_id for item in ITEMS]
        assert [r.verdict for r in batched] == [r.verdict for r in alone]
        for a, b in zip(alone, batched, strict=True):
            assert b.rating == pytest.approx(a.rating, abs=1e-5)
            assert b.extra["yes_scores"] == pytest.approx(a.extra["yes_scores"], abs=1e-5)


def test_each_image_goes_through_the_vision_side_once(rating_model, monkeypatch):
    model, _ = rating_model
    sent: list[int] = []
    original = model.get_image_features

    def counting(pixel_values, **kwargs):
        sent.append(pixel_values.shape[0])
        return original(pixel_values=pixel_values, **kwargs)

    monkeypatch.setattr(model, "get_image_features", counting)
    context = context_for(IMAGES)
    _rater(rating_model, batch_size=5).rate_labels(ITEMS, context)
    assert sum(sent) == len(IMAGES)  # ITEMS repeat images across labels
    assert sorted(context.images.reads) == sorted(IMAGES)


def test_a_cache_smaller_than_a_batch_keeps_the_images_the_batch_needs(rating_model):
    expected = _rater(rating_model).rate_labels(ITEMS, context_for(IMAGES))
    small = _rater(rating_model, image_cache=0, image_batch_size=2, batch_size=12)
    got = small.rate_labels(ITEMS, context_for(IMAGES))
    assert [r.rating for r in got] == pytest.approx([r.rating for r in expected], abs=1e-5)


def test_rating_probabilities_sum_spellings_and_renormalise():
    probs = torch.tensor([[0.20, 0.05, 0.05, 0.10, 0.10, 0.20, 0.10, 0.20]])
    # "1" is spelled by ids 0 and 5, "2".."5" by 1..4; ids 6 and 7 are other words.
    p, expected = rating_probabilities(torch.log(probs), [[0, 5], [1], [2], [3], [4]])
    assert p.tolist()[0] == pytest.approx([0.40, 0.05, 0.05, 0.10, 0.10])
    assert expected.item() == pytest.approx((0.40 + 0.10 + 0.15 + 0.40 + 0.50) / 0.70)


def test_tokenizer_without_digit_answers_is_refused(tiny):
    with pytest.raises(RaterUnavailable, match="no single-token answers '1' to '5'"):
        _rater(tiny)


def test_saved_checkpoint_loads_through_the_factory(rating_model, tmp_path):
    model, processor = rating_model
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded = build_blip2_rating({"model": str(tmp_path), "batch_size": 8}, "cpu")
    expected = _rater(rating_model).rate_labels(ITEMS[:2], context_for(IMAGES))
    got = loaded.rate_labels(ITEMS[:2], context_for(IMAGES))
    assert [r.rating for r in got] == pytest.approx([r.rating for r in expected], abs=1e-5)


def test_a_label_rater_is_not_built_for_a_pair_run():
    with pytest.raises(RaterUnavailable, match="not \\(neuron, image\\) pairs"):
        build_rater("vqa_blip2_rating", {"model": "/nonexistent/blip2-dir"})  # no weights read


def test_a_label_rater_refuses_pairs(rating_model):
    with pytest.raises(RaterUnavailable, match="label_rating study"):
        _rater(rating_model).rate([Pair(1, SHAS[0], "red")], context_for(IMAGES))


class _Stub:
    def __init__(self, ratings):
        self.ratings = ratings

    def rate_labels(self, items, context):
        return self.ratings


def _rating(item_id: int, rating: float | None) -> LabelRating:
    return LabelRating(item_id, rating, str(rating), rating is None, "prompt")


def test_a_chunk_checks_the_raters_answers():
    items = ITEMS[:2]
    good = [_rating(101, 4.0), _rating(102, None)]
    assert rate_label_chunk(_Stub(good), items, context_for(IMAGES)) == good
    with pytest.raises(RuntimeError, match="other labels"):
        rate_label_chunk(_Stub(good[:1]), items, context_for(IMAGES))
    with pytest.raises(RuntimeError, match="breaks the 1-5 scale"):
        rate_label_chunk(_Stub([_rating(101, 5.5), _rating(102, 1.0)]), items, context_for(IMAGES))
    bare = [LabelItem(7, 1, "red", ())]
    with pytest.raises(ValueError, match="labels without images cannot be rated: items \\[7\\]"):
        rate_label_chunk(_Stub([]), bare, context_for(IMAGES))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"prompt": "Rate this image"}, "prompt must contain"),
        ({"yes_no_prompt": "{label} {other}"}, "yes_no_prompt is not a valid template"),
        ({"combine": "median"}, "combine must be one of mean, max"),
        ({"threshold": 0}, "threshold"),
        ({"batch_size": 0}, "batch_size"),
        ({"mode": "generate"}, "unknown BLIP-2 rating parameters: mode"),
    ],
)
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        check_blip2_rating_params(params)


def test_stored_parameters_carry_both_prompts():
    full = full_blip2_rating_params({"batch_size": 16.0})
    assert full["prompt"] == RATING_PROMPT and full["yes_no_prompt"] == YES_NO_PROMPT
    assert full["batch_size"] == 16 and full["combine"] == "mean"
    assert full_blip2_rating_params(full) == full


def test_flan_t5_style_model_rates_independently_of_batch_size():
    t5 = tiny_blip2(seed=1, t5=True, digits=True)
    alone = _rater(t5, batch_size=1).rate_labels(ITEMS, context_for(IMAGES))
    batched = _rater(t5, batch_size=5).rate_labels(ITEMS, context_for(IMAGES))
    assert [r.rating for r in batched] == pytest.approx([r.rating for r in alone], abs=1e-5)
    assert all(1 <= r.rating <= 5 for r in alone)
    assert len({round(r.rating, 6) for r in alone}) > 1
