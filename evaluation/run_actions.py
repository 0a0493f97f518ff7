"""The run lifecycle: start, plan, cancel, resume, re-queue stale chunks, finish.

Pages, the API, commands, the demo loader and the Celery tasks all call these functions.
Work goes to the workers by task name, only after the transaction that made it commits; if
the broker refuses it, the state change is undone and QueueUnavailable is raised, so no run
reads "queued" with nothing queued. Rating a claimed chunk lives in `evaluation.runs`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from annotate.models import NeuronImage, Study
from config.celery_app import app
from evaluation import label_runs
from evaluation.dense_runs import (
    DenseRefused,
    check_dense_options,
    dense_done,
    dense_total,
    plan_dense_chunks,
    wants_dense,
    wants_pairs,
)
from evaluation.models import (
    ACTIVE_STATUSES,
    EvaluationRun,
    Judgment,
    Rater,
    RunChunk,
    RunStatus,
    stale_heartbeat_before,
)
from evaluation.raters.registry import (
    LABEL_RATING,
    PAIR_YES_NO,
    RATER_KINDS,
    is_automatic,
    rater_kind,
)

log = logging.getLogger(__name__)

START_RUN = "tasks.evaluation.start_run"
RATE_CHUNK = "tasks.evaluation.rate_chunk"


class RunRefused(ValueError):
    """The run cannot start or resume; the message says why."""


class RunConflict(RunRefused):
    """A run of this rater on this study is already queued or running."""


class QueueUnavailable(RuntimeError):
    """The task queue (Redis) did not take the message; the run was left as it was."""


def study_pairs(study: Study):
    return NeuronImage.objects.filter(neuron__study=study)


ANSWERS = {
    PAIR_YES_NO: "rates (neuron, image) pairs yes/no",
    LABEL_RATING: "rates labels 1-5 with their images shown together",
}


def check_can_start(study: Study, rater: Rater, options: dict | None = None) -> None:
    """Refuse a run that cannot start; `options` may ask for dense (whole probe set) scores
    besides the pairs ("dense": true) or instead of them ("pairs": false)."""
    options = options or {}
    if not is_automatic(rater.kind):
        raise RunRefused(f"{rater.name} is not an automatic rater")
    check_fits_question(study, rater)
    try:
        check_dense_options(study, rater, options)
    except DenseRefused as exc:
        raise RunRefused(str(exc)) from None
    if label_runs.rates_labels(rater):
        if not label_runs.study_labels(study).exists():
            raise RunRefused(
                f"{study.name} has no labels with top images to rate: import its top images "
                "first, then start the run."
            )
    elif wants_pairs(options) and not study_pairs(study).exists():
        raise RunRefused(
            f"{study.name} has no images to rate: import its top images first, then start the run."
        )


def check_fits_question(study: Study, rater: Rater) -> None:
    """A run answers the study's question: a label-rating kind runs on a label_rating study,
    a pair kind on a pair_yes_no one; no automatic kind answers best_of yet."""
    question = rater_kind(rater.kind).question
    if question == study.question_type:
        return
    asks = Study.QuestionType(study.question_type).label.lower()
    fitting = [kind for kind, entry in RATER_KINDS.items() if entry.question == study.question_type]
    instead = (
        f"use one of these kinds instead: {', '.join(fitting)}"
        if fitting
        else "no automatic rater answers that question yet"
    )
    raise RunRefused(
        f"{rater.name} {ANSWERS[question]}, but {study.name} asks for {asks} "
        f"({study.question_type}): {instead}."
    )


def run_items(study: Study, rater: Rater) -> int:
    """How many items a run of `rater` rates: labels for a label-rating kind, else pairs."""
    if label_runs.rates_labels(rater):
        return label_runs.study_labels(study).count()
    return study_pairs(study).count()


def do_create_run(
    study: Study, rater: Rater, options: dict | None = None, user=None
) -> EvaluationRun:
    """The run row alone, queued to nobody: `do_start_run` also publishes it."""
    options = options or {}
    check_can_start(study, rater, options)
    total = run_items(study, rater) if wants_pairs(options) else 0
    total += dense_total(study) if wants_dense(options) else 0
    try:
        with transaction.atomic():
            return EvaluationRun.objects.create(
                study=study,
                rater=rater,
                options=options,
                created_by=user,
                total_pairs=total,
            )
    except IntegrityError:
        raise RunConflict(
            f"{rater.name} already has a queued or running run on {study.name}"
        ) from None


def do_start_run(study: Study, rater: Rater, options: dict | None, user) -> EvaluationRun:
    """Create the run and publish it once committed. Outside a transaction the publish (and
    any QueueUnavailable) happens before this returns; a refused publish deletes the run."""
    with transaction.atomic():
        run = do_create_run(study, rater, options, user=user)
        _publish_on_commit(
            [(START_RUN, run.pk)],
            undo=EvaluationRun.objects.filter(pk=run.pk).delete,
            refusal="The task queue is unavailable, so the run was not started. Try again shortly.",
        )
    return run


def do_plan_run(run_id: int, chunk_pairs: int | None = None) -> list[int]:
    """Split the run into chunks of about `chunk_pairs` pairs by neuron id (a label run's
    chunks count labels: `label_runs.chunk_labels`), then its dense chunks if it asked for
    them; idempotent."""
    run = EvaluationRun.objects.select_related("rater", "study__probe_set").get(pk=run_id)
    existing = list(run.chunks.order_by("index").values_list("id", flat=True))
    if existing or not run.is_active:
        return existing
    if label_runs.rates_labels(run.rater):
        size = label_runs.chunk_labels(run, chunk_pairs)
        per_neuron = label_runs.labels_per_neuron(run.study)
    elif wants_pairs(run.options):
        size = chunk_pairs or run.options.get("chunk_pairs") or settings.NEURONJUDGE_CHUNK_PAIRS
        per_neuron = (
            study_pairs(run.study)
            .values("neuron_id")
            .annotate(n=Count("id"))
            .order_by("neuron_id")
            .iterator(chunk_size=10000)
        )
    else:
        size, per_neuron = 1, []
    chunks: list[RunChunk] = []
    first = last = None
    pairs = 0
    for row in per_neuron:
        first = row["neuron_id"] if first is None else first
        last, pairs = row["neuron_id"], pairs + row["n"]
        if pairs >= size:
            chunks.append(_chunk(run, len(chunks), first, last, pairs))
            first, pairs = None, 0
    if first is not None:
        chunks.append(_chunk(run, len(chunks), first, last, pairs))
    if wants_dense(run.options):
        chunks.extend(plan_dense_chunks(run, len(chunks)))
    with transaction.atomic():
        RunChunk.objects.bulk_create(chunks, ignore_conflicts=True)
        EvaluationRun.objects.filter(pk=run.pk).update(total_pairs=sum(c.pairs for c in chunks))
    return list(run.chunks.order_by("index").values_list("id", flat=True))


def _chunk(run: EvaluationRun, index: int, first, last, pairs: int) -> RunChunk:
    return RunChunk(run=run, index=index, first_neuron_id=first, last_neuron_id=last, pairs=pairs)


def do_plan_and_queue_run(run_id: int) -> list[int]:
    """Plan the run and send each chunk to the rater workers (the start_run task)."""
    chunk_ids = do_plan_run(run_id)
    _publish_on_commit(
        [(RATE_CHUNK, chunk_id) for chunk_id in chunk_ids],
        undo=lambda: None,  # chunks stay pending: the run can be resumed
        refusal=f"The task queue is unavailable, so run {run_id}'s chunks were not queued.",
    )
    return chunk_ids


def do_cancel_run(run_id: int) -> bool:
    cancelled = EvaluationRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now()
    )
    return bool(cancelled)


def do_resume_run(run_id: int) -> list[int]:
    """Put a run back to work (`EvaluationRun.can_resume` says which): its unfinished chunks
    to the workers, or the run to planning if no worker planned it. Judged pairs are kept.
    Returns the chunks queued; raises RunRefused, RunConflict or QueueUnavailable."""
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        if not run.can_resume():
            raise RunRefused(
                f"Run {run.pk} is {run.status}; only a failed or cancelled run, or one whose "
                "chunks no live worker holds, resumes."
            )
        before = _RunState.of(run)
        try:
            with transaction.atomic():
                EvaluationRun.objects.filter(pk=run_id).update(
                    status=RunStatus.QUEUED, error="", finished_at=None
                )
        except IntegrityError:
            raise RunConflict(
                f"{run.rater.name} already has another queued or running run on this study"
            ) from None
        chunks = RunChunk.objects.filter(run_id=run_id).exclude(status=RunChunk.Status.DONE)
        chunk_ids = list(chunks.values_list("id", flat=True))
        chunks.update(status=RunChunk.Status.PENDING)
        planned = run.chunks.exists()
        _publish_on_commit(
            [(RATE_CHUNK, c) for c in chunk_ids] if planned else [(START_RUN, run_id)],
            undo=before.restore,
            refusal=f"The task queue is unavailable, so run {run_id} was not resumed. "
            "Try again shortly.",
        )
    return chunk_ids


def do_requeue_stale_chunks(dead_worker: str | None = None) -> list[int]:
    """Send back to the workers every running chunk whose worker stopped reporting (or is
    known dead), whatever that worker was called. Called on a beat schedule."""
    with transaction.atomic():
        dead = Q(heartbeat__lt=stale_heartbeat_before())
        if dead_worker:
            dead |= Q(worker=dead_worker)
        stale = RunChunk.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            dead, status=RunChunk.Status.RUNNING, run__status__in=ACTIVE_STATUSES
        )
        ids = list(stale.values_list("id", flat=True))
        RunChunk.objects.filter(pk__in=ids).update(status=RunChunk.Status.PENDING)
        _publish_on_commit(
            [(RATE_CHUNK, chunk_id) for chunk_id in ids],
            undo=partial(_back_to_running, ids),
            refusal="The task queue is unavailable, so stale chunks were not re-queued.",
        )
    return ids


def _back_to_running(chunk_ids: list[int]) -> None:
    """Unsent chunks read "running" again, so the next look for stale chunks finds them."""
    pending = RunChunk.objects.filter(pk__in=chunk_ids, status=RunChunk.Status.PENDING)
    pending.update(status=RunChunk.Status.RUNNING)


def do_finish_run(run_id: int) -> bool:
    """Mark the run done once every chunk is; True for the one caller that did it."""
    if RunChunk.objects.filter(run_id=run_id).exclude(status=RunChunk.Status.DONE).exists():
        return False
    run = EvaluationRun.objects.select_related("rater", "study__probe_set").get(pk=run_id)
    done = 0
    if label_runs.rates_labels(run.rater):
        done += label_runs.rated_labels(run)
    elif wants_pairs(run.options):
        done += Judgment.objects.filter(rater_id=run.rater_id, study_id=run.study_id).count()
    if wants_dense(run.options):
        done += dense_done(run)
    stages: dict[str, float] = {}
    for chunk_stages in run.chunks.values_list("stage_seconds", flat=True):
        for name, seconds in chunk_stages.items():
            stages[name] = round(stages.get(name, 0.0) + seconds, 4)
    span = run.chunks.aggregate(first=Min("heartbeat"), last=Max("heartbeat"))
    now = timezone.now()
    finished = EvaluationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.DONE,
        finished_at=now,
        done_pairs=done,
        stage_seconds=stages,
        wall_seconds=(now - (run.started_at or span["first"] or now)).total_seconds(),
    )
    return bool(finished)


@dataclass(frozen=True)
class _RunState:
    """What a resume changes, kept to put back if the broker refuses the message."""

    run_id: int
    status: str
    error: str
    finished_at: datetime | None
    chunk_statuses: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, run: EvaluationRun) -> _RunState:
        statuses: dict[str, list[int]] = {}
        for chunk_id, status in run.chunks.values_list("id", "status"):
            statuses.setdefault(status, []).append(chunk_id)
        return cls(run.pk, run.status, run.error, run.finished_at, statuses)

    def restore(self) -> None:
        with transaction.atomic():
            EvaluationRun.objects.filter(pk=self.run_id).update(
                status=self.status, error=self.error, finished_at=self.finished_at
            )
            for status, ids in self.chunk_statuses.items():
                RunChunk.objects.filter(pk__in=ids).update(status=status)


def _publish_on_commit(
    messages: list[tuple[str, int]], undo: Callable[[], object], refusal: str
) -> None:
    """Publish once the current transaction commits (at once outside one). If the broker
    refuses, run `undo` and raise QueueUnavailable(refusal) to whoever committed."""

    def publish() -> None:
        try:
            _send(messages)
        except BrokerError as exc:
            log.warning("not published (%s): %s", refusal, exc)
            undo()
            raise QueueUnavailable(refusal) from exc

    if messages:
        transaction.on_commit(publish)


def _send(messages: list[tuple[str, int]]) -> None:
    """Send by task name on a connection that fails at once when Redis is down: the default
    policy keeps a user waiting for seconds before an outage is reported. Nobody waits for
    a result, so no result-backend subscription is made (it retries for 20 s when down)."""
    if app.conf.task_always_eager:  # development without a broker, as `.delay` would do
        for name, arg in messages:
            app.tasks[name].apply((arg,))
        return
    options = {**app.conf.broker_transport_options, "max_retries": 0}
    with app.connection_for_write(transport_options=options) as connection:
        for name, arg in messages:
            app.send_task(name, (arg,), connection=connection, retry=False, ignore_result=True)
