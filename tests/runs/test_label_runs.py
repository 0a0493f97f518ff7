"""Runs of the label-rating kinds: one rating per label with its top images, chunked,
claimed, resumable and never doubled, through the same machinery as the pair runs."""

import math

import pytest
from django.urls import reverse

from evaluation import label_runs, run_actions, runs
from evaluation.agreement.ordinal import ordinal_agreement
from evaluation.label_judgments import rating_table
from evaluation.models import LabelJudgment, Rater, RunChunk, RunStatus
from evaluation.raters.base import RaterContext, StageTimer
from evaluation.raters.registry import build_label_rater
from evaluation.sources import StorageImageSource
from tests.doubles.chat_server import chat_server
from tests.runs.label_study import label_rating_study, real_labels, top_images

pytestmark = pytest.mark.django_db

ANSWERS = {
    "red": "5",
    "dog": "Rating: 4",
    "blue sky": "maybe 4?",  # unparseable
    "crimson": "4",
    "puppy": "**3**",
    "ocean": "2",
}


class WorkerKilled(BaseException):
    """Like SIGKILL, it escapes `except Exception`: the chunk is left claimed and running."""


@pytest.fixture(autouse=True)
def _fresh_worker_cache():
    label_runs._LABEL_RATERS.clear()
    yield
    label_runs._LABEL_RATERS.clear()


def _label_of(body: dict) -> str:
    return body["messages"][0]["content"][0]["text"].split("'")[1]


def _reply(n, body):
    return ("text", ANSWERS[_label_of(body)])


def _endpoint_rater(server) -> Rater:
    params = {"base_url": server.base_url, "model": "llava", "retries": 0, "concurrency": 2}
    return Rater.objects.create(name="llava rating", kind="vqa_openai_rating", params=params)


def _rate_all(run, worker="w1") -> int:
    return sum(
        runs.do_rate_chunk(chunk_id, worker=worker).rated
        for chunk_id in run_actions.do_plan_run(run.pk)
    )


def test_endpoint_run_stores_one_rating_per_label_with_its_prompt(make_study, client, staff):
    study = label_rating_study(make_study)
    with chat_server(_reply) as server:
        rater = _endpoint_rater(server)
        run = run_actions.do_create_run(study, rater, options={"chunk_pairs": 2})
        assert run.total_pairs == 6  # labels, not pairs: 3 units x 2 label sets
        assert len(run_actions.do_plan_run(run.pk)) == 3
        assert _rate_all(run) == 6
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.done_pairs == 6 and run.counts == "labels"
    client.force_login(staff)
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "6 / 6 labels" in page
    assert {"read_images", "score", "store", "query"} <= set(run.stage_seconds)

    # Each request: the prompt, then the label's k top images; no distractor, sample or probe.
    assert len(server.requests) == 6
    labels = {n.label: n for n in real_labels(study)}
    for body in server.requests:
        content = body["messages"][0]["content"]
        assert len(content) == 1 + study.k
        assert _label_of(body) in labels
    stored = {j.neuron.label: j for j in LabelJudgment.objects.filter(rater=rater)}
    assert {label: j.rating for label, j in stored.items()} == {
        "red": 5, "dog": 4, "blue sky": None, "crimson": 4, "puppy": 3, "ocean": 2,
    }  # fmt: skip
    for label, judgment in stored.items():
        assert judgment.question == "label_rating" and judgment.extra["answer"] == ANSWERS[label]
        assert f"'{label}'" in judgment.extra["prompt"] and judgment.extra["images"] == study.k
        assert not judgment.uninterpretable and not judgment.none_fits
    unreadable = stored["blue sky"]
    assert unreadable.unparseable and unreadable.extra["unparseable"] is True
    assert unreadable.extra["expected_rating"] is None
    assert not any(j.unparseable for label, j in stored.items() if label != "blue sky")


def test_a_killed_chunk_resumes_and_a_rerun_adds_nothing(make_study):
    study = label_rating_study(make_study)

    def killed(progress):
        raise WorkerKilled

    with chat_server(_reply) as server:
        rater = _endpoint_rater(server)
        run = run_actions.do_create_run(study, rater, options={"store_every": 2})
        [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
        with pytest.raises(WorkerKilled):
            runs.do_rate_chunk(chunk_id, worker="gpu1", on_progress=killed)
        assert LabelJudgment.objects.filter(rater=rater).count() == 2
        assert RunChunk.objects.get(pk=chunk_id).status == RunChunk.Status.RUNNING

        label_runs._LABEL_RATERS.clear()  # a new worker process builds the rater again
        assert run_actions.do_requeue_stale_chunks(dead_worker="gpu1") == [chunk_id]
        assert runs.do_rate_chunk(chunk_id, worker="gpu2").rated == 4
        assert not runs.do_rate_chunk(chunk_id, worker="gpu2").claimed  # done: not again
        run.refresh_from_db()
        assert run.status == RunStatus.DONE and run.done_pairs == 6

        again = run_actions.do_create_run(study, rater)
        assert _rate_all(again) == 0
        again.refresh_from_db()
        assert again.status == RunStatus.DONE and again.done_pairs == 6
    assert len(server.requests) == 6  # every label asked once, whatever happened
    judged = LabelJudgment.objects.filter(rater=rater)
    assert sorted(judged.values_list("neuron_id", flat=True)) == [n.pk for n in real_labels(study)]


def test_cancel_stops_a_label_run_between_stores(make_study):
    study = label_rating_study(make_study)
    with chat_server(_reply) as server:
        rater = _endpoint_rater(server)
        run = run_actions.do_create_run(study, rater, options={"store_every": 1})
        [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
        result = runs.do_rate_chunk(
            chunk_id, worker="w", on_progress=lambda p: run_actions.do_cancel_run(run.pk)
        )
    assert result.cancelled and result.rated == 1
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.done_pairs == 1


def test_blip2_run_rates_every_label_as_the_rater_does_directly(make_study, tmp_path):
    from tests.doubles.tiny_blip2 import tiny_blip2

    model, processor = tiny_blip2(seed=0, digits=True)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    study = label_rating_study(make_study)
    params = {"model": str(tmp_path), "batch_size": 4}
    rater = Rater.objects.create(name="tiny blip2 rating", kind="vqa_blip2_rating", params=params)
    run = run_actions.do_create_run(study, rater, options={"device": "cpu", "chunk_pairs": 4})
    assert _rate_all(run) == 6
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.done_pairs == 6
    assert run.notes["blip2_rating_prompts_per_pass"] == 4
    assert {"load", "score", "store"} <= set(run.stage_seconds)

    direct = build_label_rater("vqa_blip2_rating", rater.params, "cpu")
    context = RaterContext(images=StorageImageSource(), timer=StageTimer())
    labels = real_labels(study)
    from evaluation.raters.base import LabelItem

    items = [LabelItem(n.pk, n.pk, n.label, tuple(top_images(n))) for n in labels]
    expected = {r.item_id: r for r in direct.rate_labels(items, context)}
    for judgment in LabelJudgment.objects.filter(rater=rater):
        mine = expected[judgment.neuron_id]
        value = judgment.extra["expected_rating"]
        assert value == pytest.approx(mine.rating, abs=1e-5) and 1 <= value <= 5
        assert judgment.rating == math.floor(value + 0.5)
        assert judgment.extra["verdict"] == mine.verdict in ("yes", "no")
        assert judgment.extra["prompt"] == mine.prompt and judgment.neuron.label in mine.prompt
        assert len(judgment.extra["image_ratings"]) == study.k and not judgment.unparseable


@pytest.mark.parametrize(
    "expected, stored", [(1.0, 1), (2.5, 3), (3.4999, 3), (4.5, 5), (5.0, 5), (None, None)]
)
def test_ratings_are_stored_rounded_half_up(expected, stored):
    assert label_runs.stored_rating(expected) == stored


def test_model_ratings_meet_human_ones_in_the_ordinal_tables(make_study, django_user_model):
    study = label_rating_study(make_study)
    with chat_server(_reply) as server:
        rater = _endpoint_rater(server)
        _rate_all(run_actions.do_create_run(study, rater))
    user = django_user_model.objects.create_user("alice")
    human = Rater.objects.create(name="human:alice", kind="human", user=user)
    mine = {"red": 5, "dog": 3, "blue sky": 4, "crimson": 4, "puppy": 3, "ocean": 1}
    for neuron in real_labels(study):
        LabelJudgment.objects.create(
            rater=human, neuron=neuron, question="label_rating", rating=mine[neuron.label]
        )
    table = rating_table(study)
    model_rows = table[table["rater"] == rater.name]
    assert len(model_rows) == 6 and model_rows["rating"].isna().sum() == 1
    overall = [a for a in ordinal_agreement(table) if a.label_set is None]
    [pair] = overall
    assert {pair.first, pair.second} == {rater.name, human.name}
    assert pair.n == 5  # the unparseable answer is compared with nothing
    assert pair.kappa_quadratic == pytest.approx(
        _sklearn_kappa([5, 4, 4, 3, 2], [5, 3, 4, 3, 1]), abs=1e-12
    )


def _sklearn_kappa(a, b) -> float:
    from sklearn.metrics import cohen_kappa_score

    return cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5])


def test_a_chunk_holds_the_real_labels_with_their_first_k_top_images(make_study):
    from annotate.images import do_store_image
    from annotate.models import NeuronImage
    from tests.helpers import png_bytes

    study = label_rating_study(make_study)
    crowded = real_labels(study)[0]
    more = do_store_image(png_bytes((9, 9, 9), seed=777))
    NeuronImage.objects.create(neuron=crowded, image=more, rank=study.k + 5)
    rater = Rater.objects.create(name="r", kind="vqa_openai_rating", params={})
    run = run_actions.do_create_run(study, rater)
    [chunk_id] = run_actions.do_plan_run(run.pk)
    items = label_runs.pending_labels(RunChunk.objects.select_related("run").get(pk=chunk_id))
    assert sorted(item.neuron_id for item in items) == [n.pk for n in real_labels(study)]
    for item in items:
        neuron = next(n for n in real_labels(study) if n.pk == item.neuron_id)
        assert item.item_id == neuron.pk and item.label == neuron.label
        assert list(item.image_sha256s) == top_images(neuron)[: study.k]
    assert more.sha256 not in {sha for item in items for sha in item.image_sha256s}
