"""The BLIP-2 rater on a tiny BLIP-2 built in-process (no downloads)."""

import pytest
import torch

from evaluation.raters.base import Pair, RaterUnavailable
from evaluation.raters.blip2 import (
    Blip2Rater,
    answer_token_ids,
    build_blip2,
    check_blip2_params,
    full_blip2_params,
    yes_no_probabilities,
)
from tests.doubles.images import context_for, image_set

LABELS = ["red", "green circle", "blue striped dotted dog", "sky", "cat water", "never seen"]
IMAGES = image_set(5)


def _pairs(per_image: int = 3) -> list[Pair]:
    """Pairs ordered by image, as the runner hands them over, labels of different lengths."""
    shas = list(IMAGES)
    return [
        Pair(i * per_image + j, sha, LABELS[(i + 2 * j) % len(LABELS)])
        for i, sha in enumerate(shas)
        for j in range(per_image)
    ]


def _rater(tiny, **params) -> Blip2Rater:
    model, processor = tiny
    return Blip2Rater(model, processor, check_blip2_params(params))


def test_one_pass_scores_do_not_depend_on_batch_size_or_padding(tiny):
    pairs = _pairs()
    alone = _rater(tiny, batch_size=1).rate(pairs, context_for(IMAGES))
    for batch_size in (4, 7, len(pairs)):
        batched = _rater(tiny, batch_size=batch_size).rate(pairs, context_for(IMAGES))
        assert [v.pair_id for v in batched] == [p.pair_id for p in pairs]
        assert [v.verdict for v in batched] == [v.verdict for v in alone]
        for a, b in zip(alone, batched, strict=True):
            assert b.score == pytest.approx(a.score, abs=1e-5)
            assert b.extra["p_yes"] == pytest.approx(a.extra["p_yes"], abs=1e-5)


def test_scores_are_probabilities_and_verdicts_follow_the_threshold(tiny):
    verdicts = _rater(tiny).rate(_pairs(), context_for(IMAGES))
    assert {v.verdict for v in verdicts} == {"yes", "no"}  # the tiny model is not constant
    for v in verdicts:
        p_yes, p_no = v.extra["p_yes"], v.extra["p_no"]
        assert 0 < p_yes + p_no <= 1 + 1e-6
        assert v.score == pytest.approx(p_yes / (p_yes + p_no), rel=1e-4)
        assert v.verdict == ("yes" if v.score > 0.5 else "no")
    cutoff = sorted(v.score for v in verdicts)[-2]
    strict = _rater(tiny, threshold=cutoff).rate(_pairs(), context_for(IMAGES))
    assert sum(v.verdict == "yes" for v in strict) == 1


def test_one_pass_verdict_equals_generated_first_token(tiny):
    pairs = _pairs()
    one_pass = _rater(tiny, batch_size=5).rate(pairs, context_for(IMAGES))
    generated = _rater(tiny, mode="generate", batch_size=5, max_new_tokens=3).rate(
        pairs, context_for(IMAGES)
    )
    first_tokens = [v.extra["answer"].split()[0].lower() for v in generated]
    assert [v.verdict for v in generated] == first_tokens
    assert [v.verdict for v in one_pass] == first_tokens
    assert set(first_tokens) == {"yes", "no"}


def test_batched_generate_gives_the_same_answers_as_one_at_a_time(tiny):
    pairs = _pairs(per_image=2)[:6]
    alone = _rater(tiny, mode="generate", batch_size=1).rate(pairs, context_for(IMAGES))
    batched = _rater(tiny, mode="generate", batch_size=4).rate(pairs, context_for(IMAGES))
    assert [v.extra["answer"] for v in batched] == [v.extra["answer"] for v in alone]


def test_image_side_runs_once_per_unique_image(tiny, monkeypatch):
    model, _ = tiny
    sent: list[int] = []
    original = model.get_image_features

    def counting(pixel_values, **kwargs):
        sent.append(pixel_values.shape[0])
        return original(pixel_values=pixel_values, **kwargs)

    monkeypatch.setattr(model, "get_image_features", counting)
    rater = _rater(tiny, batch_size=4, image_batch_size=2)
    pairs = _pairs(per_image=4)  # 5 images x 4 labels, batches of 4 pairs
    context = context_for(IMAGES)
    rater.rate(pairs[:10], context)
    rater.rate(pairs[10:], context)  # the image split across calls is not sent again
    assert sum(sent) == len(IMAGES) == rater.image_feature_calls
    assert max(sent) <= 2
    assert sorted(context.images.reads) == sorted(IMAGES)  # each image read once too
    assert "embed_images" in context.timer.seconds and "score" in context.timer.seconds


def test_a_cache_smaller_than_a_batch_keeps_the_images_the_batch_needs(tiny):
    pairs = _pairs()
    expected = _rater(tiny).rate(pairs, context_for(IMAGES))
    got = _rater(tiny, image_cache=0, image_batch_size=2, batch_size=9).rate(
        pairs, context_for(IMAGES)
    )
    assert [v.score for v in got] == pytest.approx([v.score for v in expected], abs=1e-5)


def test_answer_tokens_include_case_variants(tiny):
    _, processor = tiny
    vocab = processor.tokenizer.get_vocab()
    assert answer_token_ids(processor.tokenizer, ["yes", "Yes", "YES"]) == [
        vocab["yes"],
        vocab["Yes"],
        vocab["YES"],
    ]


def test_yes_no_probabilities_sum_variants():
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.3, 0.4]]))
    p_yes, p_no, score = yes_no_probabilities(logits, [0, 1], [2])
    assert p_yes.item() == pytest.approx(0.3)
    assert p_no.item() == pytest.approx(0.3)
    assert score.item() == pytest.approx(0.5)


def test_saved_checkpoint_loads_through_the_factory(tiny, tiny_dir):
    loaded = build_blip2({"model": str(tiny_dir), "batch_size": 8}, "cpu")
    pairs = _pairs(per_image=2)
    expected = _rater(tiny).rate(pairs, context_for(IMAGES))
    got = loaded.rate(pairs, context_for(IMAGES))
    assert [v.score for v in got] == pytest.approx([v.score for v in expected], abs=1e-5)


@pytest.mark.parametrize("model", ["Salesforce/blip2-not-downloaded", "/nonexistent/blip2-dir"])
def test_missing_weights_fail_fast_naming_the_model(model):
    with pytest.raises(RaterUnavailable) as caught:
        build_blip2({"model": model}, "cpu")
    message = str(caught.value)
    assert model in message
    assert "HF_HUB_OFFLINE" in message and "local directory" in message


@pytest.mark.parametrize(
    "params, message",
    [
        ({"prompt": "Is this an image?"}, "must contain"),
        ({"prompt": "{label} {other}"}, "not a valid template"),
        ({"mode": "beam"}, "mode must be"),
        ({"threshold": 1.0}, "threshold"),
        ({"batch_size": 0}, "batch_size"),
        ({"temperature": 0.3}, "unknown BLIP-2 parameters: temperature"),
        ({"threshold": "high"}, "threshold must be a number"),
        ({"prompt": 3}, "prompt must be a string"),
    ],
)
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        check_blip2_params(params)


def test_stored_parameters_have_every_default_filled_in():
    full = full_blip2_params({"threshold": 0.7, "batch_size": 16.0})
    assert full["threshold"] == 0.7 and full["batch_size"] == 16
    assert full["model"] == "Salesforce/blip2-opt-2.7b" and full["mode"] == "one_pass"
    assert full_blip2_params(full) == full


@pytest.fixture(scope="module")
def tiny_t5():
    from tests.doubles.tiny_blip2 import tiny_blip2

    return tiny_blip2(seed=1, t5=True)


def test_flan_t5_style_model_scores_one_pass_like_generate(tiny_t5):
    pairs = _pairs()
    alone = _rater(tiny_t5, batch_size=1).rate(pairs, context_for(IMAGES))
    batched = _rater(tiny_t5, batch_size=6).rate(pairs, context_for(IMAGES))
    assert [v.score for v in batched] == pytest.approx([v.score for v in alone], abs=1e-5)
    assert len({round(v.score, 6) for v in alone}) > 1  # the image and label reach the answer
    generated = _rater(tiny_t5, mode="generate", batch_size=5, max_new_tokens=2).rate(
        pairs, context_for(IMAGES)
    )
    first_tokens = [v.extra["answer"].split()[0].lower() for v in generated]
    assert [v.verdict for v in batched] == first_tokens
