"""Raters, the judgments they make, and the runs that make them."""

import hashlib
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from annotate.models import Neuron, NeuronImage, Study
from evaluation.raters.registry import RATER_KINDS


def params_digest(kind: str, params: dict) -> str:
    """A stable hash of a rater configuration: same kind and parameters, same rater."""
    blob = json.dumps({"kind": kind, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class Rater(models.Model):
    """A human annotator, or one full configuration of an automatic method."""

    class Kind(models.TextChoices):
        HUMAN = "human", "Human"
        # Automatic kinds: labels and everything else in evaluation.raters.registry.
        VQA_BLIP2 = "vqa_blip2", RATER_KINDS["vqa_blip2"].label
        VQA_OPENAI = "vqa_openai", RATER_KINDS["vqa_openai"].label
        VQA_BLIP2_RATING = "vqa_blip2_rating", RATER_KINDS["vqa_blip2_rating"].label
        VQA_OPENAI_RATING = "vqa_openai_rating", RATER_KINDS["vqa_openai_rating"].label
        OPENCLIP_CP = "openclip_cp", RATER_KINDS["openclip_cp"].label
        OPENCLIP_ES = "openclip_es", RATER_KINDS["openclip_es"].label
        CONSENSUS = "consensus", "Human consensus"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rater",
    )
    params = models.JSONField(default=dict, blank=True)
    params_sha256 = models.CharField(max_length=64, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="human", user__isnull=False)
                | (~Q(kind="human") & Q(user__isnull=True)),
                name="rater_human_has_user",
            ),
            models.UniqueConstraint(
                fields=["kind", "params_sha256"],
                condition=Q(user__isnull=True),
                name="rater_unique_configuration",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.params_sha256 = params_digest(self.kind, self.params)
        super().save(*args, **kwargs)

    @property
    def is_human(self) -> bool:
        return self.kind == self.Kind.HUMAN


class Verdict(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    SKIP = "skip", "Skipped"
    UNCLEAR = "unclear", "Label unclear"
    UNPARSEABLE = "unparseable", "Answer not parseable"


class Judgment(models.Model):
    """One rater's verdict on one (neuron, image) pair. Never doubled: unique per pair."""

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="judgments")
    neuron_image = models.ForeignKey(
        NeuronImage, on_delete=models.CASCADE, related_name="judgments"
    )
    # A copy of neuron_image.neuron.study that a BEFORE INSERT OR UPDATE trigger keeps
    # (migration 0003), whatever the writer sends, so per-study reads (reports, exports) use
    # the (study, rater) index instead of joining every judgment of the database.
    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, null=True, editable=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    score = models.FloatField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    # Human judgments carry the client-made id of the submission they came in.
    submission = models.UUIDField(null=True, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rater", "neuron_image"], name="judgment_unique_per_rater_pair"
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="judgment_verdict_valid"
            ),
            # Checked after the trigger has filled it: a pair without a study cannot slip in.
            models.CheckConstraint(condition=Q(study__isnull=False), name="judgment_has_study"),
        ]
        indexes = [
            models.Index(fields=["neuron_image", "rater"]),
            models.Index(fields=["study", "rater"], name="judgment_study_rater"),
        ]


class LabelJudgment(models.Model):
    """One rater's judgment of a label (a Neuron row) with the unit's images shown together,
    not of one image: a 1-5 rating (`label_rating`), or which of the unit's label sets' labels
    fits best (`best_of`: `chosen`, or none with `none_fits`).

    A rating belongs to its label: unique per (rater, neuron). A best-of choice belongs to
    the unit: unique per (rater, study, layer, unit); its `neuron` is the unit's neuron the
    question was asked from (by convention the study's first label set's). `study`, `layer`
    and `unit` are copies of the neuron's that a BEFORE INSERT OR UPDATE trigger keeps
    (migration 0004), and the same trigger refuses a `chosen` neuron of another unit.
    """

    class Question(models.TextChoices):
        LABEL_RATING = "label_rating", "Rating 1-5 per label"
        BEST_OF = "best_of", "Best of the label sets' labels"

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="label_judgments")
    neuron = models.ForeignKey(Neuron, on_delete=models.CASCADE, related_name="label_judgments")
    question = models.CharField(max_length=20, choices=Question.choices)
    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, null=True, editable=False, related_name="+"
    )
    layer = models.CharField(max_length=200, editable=False, blank=True)
    unit = models.PositiveIntegerField(null=True, editable=False)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    uninterpretable = models.BooleanField(default=False)
    none_fits = models.BooleanField(default=False, help_text="No label fits the images")
    # A model's answer that gave no rating (its raw text in `extra["answer"]`): not a human
    # flag, so it is kept apart from `uninterpretable`.
    unparseable = models.BooleanField(default=False, db_default=False)
    chosen = models.ForeignKey(
        Neuron, null=True, blank=True, on_delete=models.CASCADE, related_name="chosen_in"
    )
    extra = models.JSONField(default=dict, blank=True)
    submission = models.UUIDField(null=True, blank=True, db_index=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(question__in=["label_rating", "best_of"]),
                name="labeljudgment_question_valid",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="labeljudgment_rating_range",
            ),
            # A rating may be missing only when the rater said why (uninterpretable, none fits)
            # or a model's answer could not be read.
            models.CheckConstraint(
                condition=~Q(question="label_rating")
                | (
                    Q(chosen__isnull=True)
                    & (
                        Q(rating__isnull=False)
                        | Q(uninterpretable=True)
                        | Q(none_fits=True)
                        | Q(unparseable=True)
                    )
                ),
                name="labeljudgment_rating_shape",
            ),
            models.CheckConstraint(
                condition=Q(unparseable=False) | Q(question="label_rating", rating__isnull=True),
                name="labeljudgment_unparseable_has_no_rating",
            ),
            # A best-of answer is one label, or none with a reason, never both.
            models.CheckConstraint(
                condition=~Q(question="best_of")
                | (
                    Q(rating__isnull=True)
                    & (
                        Q(chosen__isnull=False, none_fits=False)
                        | (Q(chosen__isnull=True) & (Q(none_fits=True) | Q(uninterpretable=True)))
                    )
                ),
                name="labeljudgment_best_of_shape",
            ),
            models.UniqueConstraint(
                fields=["rater", "neuron"],
                condition=Q(question="label_rating"),
                name="labeljudgment_one_rating_per_label",
            ),
            models.UniqueConstraint(
                fields=["rater", "study", "layer", "unit"],
                condition=Q(question="best_of"),
                name="labeljudgment_one_choice_per_unit",
            ),
            models.CheckConstraint(
                condition=Q(study__isnull=False, unit__isnull=False),
                name="labeljudgment_has_unit",
            ),
        ]
        indexes = [models.Index(fields=["study", "rater"], name="labeljudgment_study_rater")]

    def __str__(self) -> str:
        return f"{self.rater_id} on {self.neuron_id}: {self.rating or self.chosen_id}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


def stale_heartbeat_before() -> datetime:
    """A running chunk whose heartbeat is older than this has lost its worker."""
    return timezone.now() - timedelta(seconds=settings.NEURONJUDGE_STALE_CHUNK_SECONDS)


class EvaluationRun(models.Model):
    """One automatic rater applied to every (neuron, image) pair of one study, or for a
    label-rating kind to every label (real neuron with its top images); `total_pairs` and
    `done_pairs` then count labels (`counts` says which)."""

    rater = models.ForeignKey(Rater, on_delete=models.PROTECT, related_name="runs")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    options = models.JSONField(default=dict, blank=True, help_text="device, batch size, ...")
    total_pairs = models.PositiveIntegerField(default=0)
    done_pairs = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    wall_seconds = models.FloatField(null=True, blank=True)
    stage_seconds = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=dict, blank=True, help_text="What the run had to decide")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rater", "study"],
                condition=Q(status__in=["queued", "running"]),
                name="run_one_active_per_rater_study",
            )
        ]
        ordering = ["-created"]

    @property
    def progress(self) -> float:
        return self.done_pairs / self.total_pairs if self.total_pairs else 0.0

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def counts(self) -> str:
        """What done_pairs and total_pairs count: labels for a label-rating kind, else pairs."""
        entry = RATER_KINDS.get(self.rater.kind)
        return "labels" if entry is not None and entry.question == "label_rating" else "pairs"

    def can_resume(self) -> bool:
        """Failed or cancelled; or queued or running with no chunk in a live worker's hands
        (its messages lost to a broker outage, or its worker gone under another name).
        Re-publishing is harmless: a chunk is claimed once and judged pairs are skipped."""
        if self.status in (RunStatus.FAILED, RunStatus.CANCELLED):
            return True
        if not self.is_active:
            return False
        live = self.chunks.filter(
            status=RunChunk.Status.RUNNING, heartbeat__gte=stale_heartbeat_before()
        )
        return not live.exists()


class RunChunk(models.Model):
    """A slice of a run (a range of neuron ids) that one worker rates at a time: the pairs
    of those neurons, the neurons' labels (a label run), or (dense) each neuron's label on
    every image of the probe set; `pairs` is how many items it holds."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        PAIRS = "pairs", "Pairs"
        DENSE = "dense", "Whole probe set"

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.PAIRS)
    first_neuron_id = models.BigIntegerField()
    last_neuron_id = models.BigIntegerField()
    pairs = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    stage_seconds = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="chunk_unique_index")]
        indexes = [models.Index(fields=["status", "heartbeat"])]


class DenseRating(models.Model):
    """One automatic rater's score of one neuron's label on every image of its study's probe
    set, row i for image i: one array per (rater, neuron) instead of a Judgment per image.

    `scores` holds little-endian values of `dtype` (ES cosines as float16, CP rank
    proportions as float32); `evaluation.dense_scores` reads them.
    """

    class Dtype(models.TextChoices):
        FLOAT32 = "float32", "float32"
        FLOAT16 = "float16", "float16"

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="dense_ratings")
    neuron = models.ForeignKey(
        "annotate.Neuron", on_delete=models.CASCADE, related_name="dense_ratings"
    )
    dtype = models.CharField(max_length=10, choices=Dtype.choices)
    n_images = models.PositiveIntegerField()
    scores = models.BinaryField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rater", "neuron"], name="denserating_unique"),
        ]


class Embedding(models.Model):
    """Cached encoder output, keyed by model and content (image SHA-256 or text SHA-256).

    Kept in PostgreSQL so that every worker on every machine shares one cache.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        TEXT = "text", "Text"

    model_key = models.CharField(max_length=64, help_text="Hash of the encoder configuration")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    key = models.CharField(max_length=64)
    dim = models.PositiveIntegerField()
    vector = models.BinaryField(help_text="float32 little-endian, L2-normalised")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_key", "kind", "key"], name="embedding_unique_key"
            )
        ]


class WorkerHeartbeat(models.Model):
    """Last time each Celery worker answered, so pages can say whether runs can start."""

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.CharField(max_length=200)
    device = models.CharField(max_length=200, blank=True)
    seen = models.DateTimeField()
