"""The OpenAI-compatible endpoint rater against a real HTTP server on loopback."""

import base64
import time

import pytest

from evaluation.raters.base import Pair, RaterContext
from evaluation.raters.openai_vqa import (
    EndpointError,
    build_openai_vqa,
    check_openai_vqa_params,
)
from evaluation.raters.vqa_answers import parse_yes_no
from tests.doubles.chat_server import chat_server
from tests.doubles.images import context_for, image_set

IMAGES = image_set(3)
SHAS = list(IMAGES)


def _context() -> RaterContext:
    return context_for(IMAGES)


def _rater(server, **params):
    fast = {"retries": 3, "backoff_s": 0.01, "timeout_s": 2.0}
    return build_openai_vqa(
        {"base_url": server.base_url, "model": "llava-test", **fast, **params}, "cpu"
    )


def _label_of(body: dict) -> str:
    text = body["messages"][0]["content"][0]["text"]
    return text.split("'")[1]


@pytest.mark.parametrize(
    "answer, verdict",
    [
        ("Yes", "yes"),
        ("yes.", "yes"),
        ("  **Yes**, it does", "yes"),
        ("No, it does not", "no"),
        ("no", "no"),
        ("Answer: No.", "no"),
        ("Maybe", "unparseable"),
        ("The image shows a dog", "unparseable"),
        ("Not sure", "unparseable"),
        ("", "unparseable"),
    ],
)
def test_answer_parsing(answer, verdict):
    assert parse_yes_no(answer) == verdict


def test_answers_become_verdicts_with_image_as_data_url():
    answers = {"dog": "Yes.", "cat": "No, it does not", "sky": "I cannot tell"}
    with chat_server(lambda n, body: ("text", answers[_label_of(body)])) as server:
        pairs = [Pair(i, SHAS[i], label) for i, label in enumerate(["dog", "cat", "sky"])]
        verdicts = _rater(server).rate(pairs, _context())
    assert [v.verdict for v in verdicts] == ["yes", "no", "unparseable"]
    assert [v.score for v in verdicts] == [1.0, 0.0, None]
    assert verdicts[2].extra["answers"] == ["I cannot tell"]
    sent = {_label_of(body): body for body in server.requests}
    assert sent["dog"]["model"] == "llava-test"
    assert sent["dog"]["messages"][0]["content"][0]["text"] == (
        "Does this image relate to the concept of 'dog', answer in one word Yes or No"
    )
    url = sent["cat"]["messages"][0]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == IMAGES[SHAS[1]]


def test_server_errors_are_retried_until_success():
    replies = {0: ("status", 500), 1: ("status", 503), 2: ("status", 429)}
    with chat_server(lambda n, body: replies.get(n, ("text", "Yes"))) as server:
        [verdict] = _rater(server).rate([Pair(1, SHAS[0], "dog")], _context())
    assert verdict.verdict == "yes"
    assert len(server.requests) == 4


def test_persistent_errors_fail_with_a_clear_message():
    with (
        chat_server(lambda n, body: ("status", 502)) as server,
        pytest.raises(EndpointError, match="failed 3 times; last error: HTTP 502"),
    ):
        _rater(server, retries=2).rate([Pair(1, SHAS[0], "dog")], _context())
    assert len(server.requests) == 3


def test_a_dead_endpoint_fails_without_asking_about_every_pair():
    pairs = [Pair(i, SHAS[i % 3], f"label{i}") for i in range(30)]
    with (
        chat_server(lambda n, body: ("status", 503)) as server,
        pytest.raises(EndpointError, match="HTTP 503"),
    ):
        _rater(server, retries=1, concurrency=2).rate(pairs, _context())
    assert len(server.requests) <= 4  # the two in flight and their retries, not 60


def test_client_errors_are_not_retried():
    with (
        chat_server(lambda n, body: ("status", 401)) as server,
        pytest.raises(EndpointError, match="refused the request: HTTP 401"),
    ):
        _rater(server).rate([Pair(1, SHAS[0], "dog")], _context())
    assert len(server.requests) == 1


def test_a_hanging_request_times_out_and_is_retried():
    replies = {0: ("hang", 3.0)}
    with chat_server(lambda n, body: replies.get(n, ("text", "No"))) as server:
        started = time.monotonic()
        [verdict] = _rater(server, timeout_s=0.5).rate([Pair(1, SHAS[0], "dog")], _context())
        elapsed = time.monotonic() - started
    assert verdict.verdict == "no"
    assert len(server.requests) == 2
    assert elapsed < 2.5  # gave up on the hung request after its timeout


def test_an_endpoint_that_always_hangs_fails_within_the_timeouts():
    with chat_server(lambda n, body: ("hang", 3.0)) as server:
        started = time.monotonic()
        with pytest.raises(EndpointError, match="Timeout"):
            _rater(server, timeout_s=0.3, retries=1).rate([Pair(1, SHAS[0], "dog")], _context())
        assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    "body",
    ["<html>proxy error</html>", '{"choices": [{"message": {"content": null}}]}'],
)
def test_a_body_without_an_answer_is_unparseable_with_the_raw_text(body):
    with chat_server(lambda n, request: ("raw", body)) as server:
        [verdict] = _rater(server).rate([Pair(1, SHAS[0], "dog")], _context())
    assert verdict.verdict == "unparseable" and verdict.score is None
    assert verdict.extra["answers"] == [body]


def test_n_samples_give_the_yes_fraction():
    answers = ["Yes", "No", "Yes", "maybe"]
    with chat_server(lambda n, body: ("text", answers[n % 4])) as server:
        verdicts = _rater(server, samples=4, concurrency=1).rate(
            [Pair(1, SHAS[0], "dog")], _context()
        )
    [verdict] = verdicts
    assert len(server.requests) == 4
    assert verdict.score == pytest.approx(2 / 3)  # unparseable samples are left out
    assert verdict.verdict == "yes"
    assert verdict.extra | {"answers": None} == {
        "answers": None,
        "yes": 2,
        "no": 1,
        "unparseable": 1,
    }


def test_concurrency_is_bounded():
    with chat_server(lambda n, body: ("text", "Yes"), delay=0.1) as server:
        pairs = [Pair(i, SHAS[i % 3], f"label{i}") for i in range(12)]
        verdicts = _rater(server, concurrency=3).rate(pairs, _context())
    assert len(verdicts) == 12 and {v.verdict for v in verdicts} == {"yes"}
    assert server.max_in_flight == 3


def test_api_key_comes_from_the_named_environment_variable(monkeypatch):
    monkeypatch.setenv("NEURONJUDGE_VQA_LAB_VLLM_KEY", "sk-secret")
    with chat_server(lambda n, body: ("text", "Yes")) as server:
        _rater(server, api_key_env="NEURONJUDGE_VQA_LAB_VLLM_KEY").rate(
            [Pair(1, SHAS[0], "dog")], _context()
        )
    assert server.headers_seen[0]["Authorization"] == "Bearer sk-secret"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"model": "m"}, "needs base_url"),
        ({"base_url": "http://x", "model": "m", "samples": "three"}, "samples must be a number"),
        ({"base_url": "http://x", "model": "m", "samples": 1.5}, "whole number"),
        (["http://x"], "JSON object"),
        ({"base_url": "ftp://x", "model": "m"}, "http"),
        ({"base_url": "http://x", "model": "m", "api_key": "sk"}, "environment variable"),
        ({"base_url": "http://x", "model": "m", "prompt": "no label"}, "{label}"),
        ({"base_url": "http://x", "model": "m", "samples": 0}, "samples"),
        ({"base_url": "http://x", "model": "m", "colour": 1}, "unknown"),
    ],
)
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_openai_vqa_params(params)
