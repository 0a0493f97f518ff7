"""A label-rating run started as users start it, rated by a real Celery worker process."""

import time

import pytest

from evaluation import run_actions
from evaluation.models import EvaluationRun, LabelJudgment, Rater, RunStatus
from tests.doubles.chat_server import chat_server
from tests.doubles.workers import start_worker, stop_worker
from tests.runs.label_study import label_rating_study, real_labels

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_rates_every_label_once_in_chunks(make_study, settings):
    study = label_rating_study(make_study)

    def reply(n, body):
        return ("text", "4" if "'dog'" in body["messages"][0]["content"][0]["text"] else "2")

    with chat_server(reply) as server:
        params = {"base_url": server.base_url, "model": "llava", "retries": 0}
        rater = Rater.objects.create(name="llava rating", kind="vqa_openai_rating", params=params)
        worker = start_worker("labels", {"MEDIA_ROOT": str(settings.MEDIA_ROOT)})
        try:
            run = run_actions.do_start_run(study, rater, {"chunk_pairs": 2}, user=None)
            deadline = time.monotonic() + 120
            while EvaluationRun.objects.get(pk=run.pk).is_active and worker.poll() is None:
                assert time.monotonic() < deadline, "the worker did not finish the run"
                time.sleep(0.1)
        finally:
            log = stop_worker(worker)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, (run.error, log)
    assert run.total_pairs == run.done_pairs == 6 and run.chunks.count() == 3
    assert set(run.chunks.values_list("status", flat=True)) == {"done"}
    judged = LabelJudgment.objects.filter(rater=rater)
    assert sorted(judged.values_list("neuron_id", flat=True)) == [n.pk for n in real_labels(study)]
    assert dict(judged.values_list("neuron__label", "rating"))["dog"] == 4
    assert len(server.requests) == 6
