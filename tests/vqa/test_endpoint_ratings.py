"""The OpenAI-compatible label rater against a real HTTP server on loopback."""

import base64

import pytest

from evaluation.raters.base import LabelItem, Pair, RaterSite, RaterUnavailable
from evaluation.raters.openai_rating import build_openai_rating
from evaluation.raters.vqa_answers import parse_rating
from evaluation.raters.vqa_openai_settings import (
    RATING_PROMPT,
    EndpointNotAllowed,
    check_openai_rating_params,
    full_openai_rating_params,
)
from tests.doubles.chat_server import chat_server
from tests.doubles.images import context_for, image_set

IMAGES = image_set(4)
SHAS = list(IMAGES)


def _rater(server, **params):
    fast = {"retries": 2, "backoff_s": 0.01, "timeout_s": 2.0}
    return build_openai_rating(
        {"base_url": server.base_url, "model": "llava-test", **fast, **params}, "cpu"
    )


def _label_of(body: dict) -> str:
    return body["messages"][0]["content"][0]["text"].split("'")[1]


@pytest.mark.parametrize(
    "answer, rating",
    [
        ("4", 4),
        ("Rating: 5", 5),
        ("**3**", 3),
        ("**Rating:** 2", 2),
        ('"1"', 1),
        ("4/5", 4),
        ("5. The images all show dogs", 5),
        ("maybe 4?", None),
        ("6", None),
        ("0", None),
        ("45", None),
        ("4.5", None),
        ("3-4", None),
        ("4 or 5", None),
        ("4/10", None),
        ("I would rate it 4", None),
        ("<html><body>502 Bad Gateway</body></html>", None),
        ("", None),
    ],
)
def test_rating_parsing_is_strict(answer, rating):
    assert parse_rating(answer) == rating


def test_one_message_per_label_with_all_its_images():
    items = [
        LabelItem(11, 1, "dog", (SHAS[0], SHAS[1], SHAS[2])),
        LabelItem(12, 2, "cat", (SHAS[3],)),
    ]
    with chat_server(lambda n, body: ("text", "4")) as server:
        ratings = _rater(server).rate_labels(items, context_for(IMAGES))
    assert len(server.requests) == len(items)
    sent = {_label_of(body): body for body in server.requests}
    for item in items:
        body = sent[item.label]
        assert body["model"] == "llava-test"
        [message] = body["messages"]
        text, *images = message["content"]
        assert text == {"type": "text", "text": RATING_PROMPT.format(label=item.label)}
        urls = [part["image_url"]["url"] for part in images]
        assert all(url.startswith("data:image/png;base64,") for url in urls)
        decoded = [base64.b64decode(url.split(",", 1)[1]) for url in urls]
        assert decoded == [IMAGES[sha] for sha in item.image_sha256s]
    assert [(r.item_id, r.rating, r.unparseable) for r in ratings] == [
        (11, 4.0, False),
        (12, 4.0, False),
    ]
    assert ratings[0].prompt == RATING_PROMPT.format(label="dog")
    assert ratings[0].extra == {"images": 3}


def test_unparseable_answers_are_stored_as_such_with_their_text():
    answers = {
        "dog": "4",
        "cat": "Rating: 5",
        "sky": "**3**",
        "red": "maybe 4?",
        "blue": "6",
        "water": "<html>proxy error</html>",
    }
    items = [LabelItem(i, i, label, (SHAS[i % 4],)) for i, label in enumerate(answers)]
    with chat_server(lambda n, body: ("text", answers[_label_of(body)])) as server:
        ratings = _rater(server, concurrency=3).rate_labels(items, context_for(IMAGES))
    assert [r.rating for r in ratings] == [4.0, 5.0, 3.0, None, None, None]
    assert [r.unparseable for r in ratings] == [False, False, False, True, True, True]
    assert [r.answer for r in ratings] == list(answers.values())
    assert all(r.verdict is None for r in ratings)


def test_a_body_without_an_answer_is_unparseable_with_the_raw_text():
    body = "<html>proxy error</html>"
    with chat_server(lambda n, request: ("raw", body)) as server:
        [rating] = _rater(server).rate_labels(
            [LabelItem(1, 1, "dog", (SHAS[0],))], context_for(IMAGES)
        )
    assert rating.unparseable and rating.rating is None and rating.answer == body


def test_server_errors_are_retried():
    replies = {0: ("status", 503), 1: ("status", 429)}
    with chat_server(lambda n, body: replies.get(n, ("text", "2"))) as server:
        [rating] = _rater(server).rate_labels(
            [LabelItem(1, 1, "dog", (SHAS[0],))], context_for(IMAGES)
        )
    assert rating.rating == 2.0 and len(server.requests) == 3


def test_the_key_comes_from_a_fenced_variable_and_goes_to_an_allowed_host(monkeypatch):
    monkeypatch.setenv("NEURONJUDGE_VQA_LAB_KEY", "sk-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/x")
    with chat_server(lambda n, body: ("text", "5")) as server:
        params = {"base_url": server.base_url, "model": "m", "api_key_env": "DATABASE_URL"}
        with pytest.raises(EndpointNotAllowed, match="starting with NEURONJUDGE_VQA_"):
            build_openai_rating(params, "cpu")
        allowed = {**params, "api_key_env": "NEURONJUDGE_VQA_LAB_KEY"}
        with pytest.raises(EndpointNotAllowed, match="'127.0.0.1' is not in"):
            build_openai_rating(allowed, "cpu", RaterSite(allowed_hosts=frozenset({"gpu-box"})))
        assert server.requests == []
        rater = build_openai_rating(allowed, "cpu")
        assert rater.endpoint.client.follow_redirects is False
        rater.rate_labels([LabelItem(1, 1, "dog", (SHAS[0],))], context_for(IMAGES))
    assert server.headers_seen[0]["Authorization"] == "Bearer sk-secret"


def test_a_label_rater_refuses_pairs():
    with (
        chat_server(lambda n, body: ("text", "5")) as server,
        pytest.raises(RaterUnavailable, match="label_rating study"),
    ):
        _rater(server).rate([Pair(1, SHAS[0], "dog")], context_for(IMAGES))
    assert server.requests == []


@pytest.mark.parametrize(
    "params, message",
    [
        ({"model": "m"}, "needs base_url"),
        ({"base_url": "http://127.0.0.1/v1", "model": "m", "api_key": "sk"}, "environment"),
        ({"base_url": "http://127.0.0.1/v1", "model": "m", "prompt": "Rate it"}, "{label}"),
        ({"base_url": "http://127.0.0.1/v1", "model": "m", "prompt": "{label} {k}"}, "template"),
        ({"base_url": "http://127.0.0.1/v1", "model": "m", "samples": 3}, "unknown"),
        ({"base_url": "http://127.0.0.1/v1", "model": "m", "concurrency": 0}, "concurrency"),
        ({"base_url": "http://evil.example/v1", "model": "m"}, "'evil.example' is not in"),
    ],
)
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_openai_rating_params(params)


def test_stored_parameters_carry_the_prompt():
    full = full_openai_rating_params({"base_url": "http://127.0.0.1:8000/v1", "model": "m"})
    assert full["prompt"] == RATING_PROMPT and full["api_key_env"] == "NEURONJUDGE_VQA_API_KEY"
    assert full_openai_rating_params(full) == full
