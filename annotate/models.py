"""Studies, the neurons they label and the probe images that show them."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class ConceptSet(models.Model):
    """A named, ordered list of concepts (e.g. CLIP-Dissect's 10k.txt, 9,894 words)."""

    name = models.CharField(max_length=200, unique=True)
    concepts = ArrayField(models.TextField())
    sha256 = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the concepts")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({len(self.concepts)} concepts)"


class Study(models.Model):
    """One dissection to evaluate: which network, probe set and method gave the labels."""

    class Method(models.TextChoices):
        CLIP_DISSECT = "clip_dissect", "CLIP-Dissect"
        MILAN = "milan", "MILAN"
        NETDISSECT = "netdissect", "Network Dissection"
        OTHER = "other", "Other"

    class QuestionType(models.TextChoices):
        PAIR_YES_NO = "pair_yes_no", "Yes/no per image"
        LABEL_RATING = "label_rating", "Rating 1-5 per label"
        BEST_OF = "best_of", "Best of the label sets' labels"

    name = models.CharField(max_length=200, unique=True)
    target_network = models.CharField(max_length=200)
    layers = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    probe_dataset = models.CharField(max_length=200)
    concept_set = models.ForeignKey(
        ConceptSet, null=True, blank=True, on_delete=models.PROTECT, related_name="studies"
    )
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.CLIP_DISSECT)
    question_type = models.CharField(
        max_length=20,
        choices=QuestionType.choices,
        default=QuestionType.PAIR_YES_NO,
        db_default=QuestionType.PAIR_YES_NO,  # raw and COPY writers keep working
        help_text="What humans are asked; chosen when the study is created",
    )
    k = models.PositiveSmallIntegerField(default=5, help_text="Top images per neuron")
    overlap = models.PositiveSmallIntegerField(
        default=3, help_text="Human annotators wanted per neuron"
    )
    notes = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    is_demo = models.BooleanField(default=False)
    probe_set = models.ForeignKey(
        "ProbeSet", null=True, blank=True, on_delete=models.PROTECT, related_name="studies",
        help_text="The ordered images its activations were computed on",
    )  # fmt: skip
    probe_alpha = models.FloatField(
        default=0.005,
        db_default=0.005,
        help_text="Whole-probe metrics: top fraction of images by activation",
    )
    created = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Set instead of deleting a study with human judgments"
    )
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(condition=Q(k__gte=1, k__lte=100), name="study_k_range"),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="study_overlap_positive"),
            models.CheckConstraint(
                condition=Q(question_type__in=["pair_yes_no", "label_rating", "best_of"]),
                name="study_question_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(probe_alpha__gt=0, probe_alpha__lte=1), name="study_probe_alpha_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StudyRole(models.Model):
    """A staff member's part in one study: owners manage members and may delete, managers
    change, import, run and invite, viewers read pages, reports and exports."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MANAGER = "manager", "Manager"
        VIEWER = "viewer", "Viewer"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_roles"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="studyrole_once_per_study")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.study}"


class LabelSet(models.Model):
    """One method's (or configuration's) labels for a study's neurons.

    A study compares label sets over the same units: each set has its own Neuron rows (a
    label is judged on its own), while the images behind them are stored once.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="label_sets")
    name = models.CharField(max_length=200)
    method = models.CharField(max_length=200, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="labelset_unique_name")
        ]
        ordering = ["study_id", "pk"]

    def __str__(self) -> str:
        return self.name


class Neuron(models.Model):
    """A hidden unit and the label one label set gave it.

    `label_set` may be left out when writing: a database trigger then puts the neuron in
    its study's first label set (creating one named after the study's method), so every
    writer (ORM, bulk COPY, raw SQL) keeps working with one label set per study.

    Besides the real neurons a study may hold probe neurons for sanity checks: a generic
    label, a label shuffled in from another neuron, or another neuron's images under this
    neuron's label. They point at their source neuron and never count as real units.
    """

    class Role(models.TextChoices):
        REAL = "real", "Real neuron"
        GENERIC_LABEL = "generic_label", "Sanity: generic label"
        SHUFFLED_LABEL = "shuffled_label", "Sanity: label from another neuron"
        CONTROL_IMAGES = "control_images", "Sanity: images from another neuron"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="neurons")
    label_set = models.ForeignKey(
        LabelSet, on_delete=models.CASCADE, related_name="neurons", null=True, blank=True
    )
    layer = models.CharField(max_length=200)
    unit = models.PositiveIntegerField()
    label = models.TextField()
    method_score = models.FloatField(null=True, blank=True)
    score_name = models.CharField(
        max_length=40, blank=True, help_text="What method_score is: similarity, iou, ..."
    )
    category = models.CharField(max_length=200, blank=True, help_text="e.g. NetDissect's")
    alternatives = ArrayField(models.TextField(), default=list, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REAL)
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="probes"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["label_set", "layer", "unit"],
                condition=Q(role="real"),
                name="neuron_unique_unit_per_label_set",
            ),
            models.CheckConstraint(
                condition=Q(label_set__isnull=False), name="neuron_has_label_set"
            ),
            models.CheckConstraint(
                condition=Q(role="real", source__isnull=True)
                | (~Q(role="real") & Q(source__isnull=False)),
                name="neuron_probe_has_source",
            ),
        ]
        indexes = [models.Index(fields=["study", "role", "layer", "unit"])]

    def __str__(self) -> str:
        return f"{self.layer}:{self.unit} {self.label!r}"


def probe_image_path(instance: "ProbeImage", filename: str) -> str:
    ext = (instance.format or "bin").lower()
    return f"probe/{instance.sha256[:2]}/{instance.sha256[2:4]}/{instance.sha256}.{ext}"


class ProbeImage(models.Model):
    """An image stored once, addressed by the SHA-256 of its bytes."""

    sha256 = models.CharField(max_length=64, unique=True)
    file = models.FileField(upload_to=probe_image_path, max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    size_bytes = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} {self.width}x{self.height} {self.format}"


class NeuronImage(models.Model):
    """One of a neuron's top-k activating images: the (neuron, image) pair that is rated.

    A distractor is an image from an unrelated neuron shown with this neuron's label as a
    known "no"; it is ranked after the real top-k and left out of agreement figures.
    A sampled image was drawn from the rest of the probe set (`annotate.sampling`) with a
    known inclusion probability; ranked after the top-k too, it is left out of the top-k
    figures and feeds the whole-probe metrics. Annotators are never told which is which.
    """

    neuron = models.ForeignKey(Neuron, on_delete=models.CASCADE, related_name="images")
    image = models.ForeignKey(ProbeImage, on_delete=models.PROTECT, related_name="uses")
    rank = models.PositiveSmallIntegerField()
    activation = models.FloatField(null=True, blank=True)
    is_distractor = models.BooleanField(default=False)
    # Database defaults too: raw INSERTs and COPY writers that predate sampling omit these.
    is_sampled = models.BooleanField(default=False, db_default=False)
    inclusion_probability = models.FloatField(
        null=True, blank=True, help_text="Of a sampled image: the chance its design drew it"
    )
    sample_design = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_default="",
        help_text="Of a sampled image: the design that drew it",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["neuron", "rank"], name="neuronimage_unique_rank"),
            models.CheckConstraint(
                condition=Q(is_sampled=False, inclusion_probability__isnull=True)
                | Q(
                    is_sampled=True,
                    is_distractor=False,
                    inclusion_probability__gt=0,
                    inclusion_probability__lte=1,
                ),
                name="neuronimage_sampled_has_probability",
            ),
            models.UniqueConstraint(fields=["neuron", "image"], name="neuronimage_unique_image"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="neuronimage_rank_positive"),
        ]
        ordering = ["neuron_id", "rank"]

    def __str__(self) -> str:
        return f"{self.neuron_id}#{self.rank}"


# The neuron's own top-k images: neither distractors nor images sampled from the probe set.
TOP_K = Q(is_distractor=False, is_sampled=False)


# --- Probe sets and activations ------------------------------------------------------------


class ProbeSet(models.Model):
    """An ordered list of images that activations are computed on (e.g. Broden, 63,305
    images in `ImageFolder` order): row i of an activation tensor is image i. Stored once
    and shared by every study on it."""

    name = models.CharField(max_length=200, unique=True)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the images' hashes in order")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.size:,} images)"


class ProbeSetImage(models.Model):
    """Row `index` of a probe set: which stored image it is and where it was found."""

    probe_set = models.ForeignKey(ProbeSet, on_delete=models.CASCADE, related_name="rows")
    index = models.PositiveIntegerField()
    image = models.ForeignKey(ProbeImage, on_delete=models.PROTECT, related_name="probe_rows")
    path = models.TextField(help_text="Relative path in the probe folder(s)")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["probe_set", "index"], name="probesetimage_unique"),
        ]
        ordering = ["probe_set_id", "index"]


def activations_path(instance: "LayerActivations", filename: str) -> str:
    return f"activations/{instance.sha256[:2]}/{instance.sha256}.npy"


class LayerActivations(models.Model):
    """Every unit's activation on every image of the probe set, for one layer of a study.

    The file is a `.npy` of shape `[n_units, n_images]` in C order (the transpose of what
    dissection tools save), so one unit is one contiguous row: `read_unit` memory-maps the
    file and copies that row only. Files are named by the SHA-256 of their data.
    """

    class Dtype(models.TextChoices):
        FLOAT32 = "float32", "float32"
        FLOAT16 = "float16", "float16"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="activations")
    layer = models.CharField(max_length=200)
    probe_set = models.ForeignKey(ProbeSet, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=activations_path, max_length=300)
    dtype = models.CharField(max_length=10, choices=Dtype.choices)
    n_units = models.PositiveIntegerField()
    n_images = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the stored array's data")
    source = models.CharField(max_length=300, help_text="Name of the imported file")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "layer activations"
        constraints = [
            models.UniqueConstraint(fields=["study", "layer"], name="activations_once_per_layer"),
        ]

    def read_unit(self, unit: int):
        """One unit's activations over the probe set, as a numpy array in `dtype`."""
        from evaluation.activations import read_unit, read_unit_from

        if not 0 <= unit < self.n_units:
            raise ValueError(f"layer {self.layer} has units 0..{self.n_units - 1}, not {unit}")
        try:
            path = self.file.path
        except NotImplementedError:  # remote storage: seek into the file instead
            with self.file.open("rb") as handle:
                return read_unit_from(handle, unit)
        return read_unit(path, unit)


# --- Human annotation ---------------------------------------------------------------------


class AnnotationSettings(models.Model):
    """How a study is annotated by humans: order, gold checks, quota, crowd completion."""

    study = models.OneToOneField(
        Study, primary_key=True, on_delete=models.CASCADE, related_name="annotation_settings"
    )
    shuffle_images = models.BooleanField(default=True, help_text="Show each unit's images shuffled")
    gold_rate = models.FloatField(default=0.1, help_text="Share of units served that are gold")
    quota = models.PositiveIntegerField(default=0, help_text="Units per annotator (0: no limit)")
    min_gold_accuracy = models.FloatField(
        default=0.7, help_text="Annotators under this gold accuracy are left out of agreement"
    )
    completion_code = models.CharField(
        max_length=64, blank=True, help_text="Prolific completion code shown at the end"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0, gold_rate__lte=1), name="annotation_gold_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(min_gold_accuracy__gte=0, min_gold_accuracy__lte=1),
                name="annotation_min_gold_accuracy_range",
            ),
        ]


class Invite(models.Model):
    """A link that adds annotators to one study: by account, or as crowd workers."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", "Annotators with an account"
        CROWD = "crowd", "Crowd workers (Prolific / MTurk)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="invites")
    token = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ACCOUNT)
    is_active = models.BooleanField(default=True)
    max_participants = models.PositiveIntegerField(
        default=100, help_text="New annotators this link may add; 0 closes it to newcomers"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)


class StudyAnnotator(models.Model):
    """A user allowed to annotate one study; crowd workers carry their platform id."""

    class Platform(models.TextChoices):
        NONE = "", "Account"
        PROLIFIC = "prolific", "Prolific"
        MTURK = "mturk", "Mechanical Turk"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="annotators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotated_studies"
    )
    invite = models.ForeignKey(Invite, null=True, blank=True, on_delete=models.SET_NULL)
    platform = models.CharField(max_length=10, choices=Platform.choices, blank=True, default="")
    participant_id = models.CharField(max_length=128, blank=True)
    # Prolific SESSION_ID or MTurk assignmentId of the first arrival: a returning participant
    # without this browser's cookie must bring it.
    platform_session = models.CharField(max_length=128, blank=True)
    completion_code = models.CharField(max_length=64, blank=True)
    joined = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="annotator_once_per_study"),
            models.UniqueConstraint(
                fields=["study", "platform", "participant_id"],
                condition=~Q(platform=""),
                name="annotator_participant_once_per_study",
            ),
        ]


class Unit(models.Model):
    """A real neuron as a unit of human work, with counters kept up to date on each claim.

    `claimed` counts annotators holding or having submitted it (open and done assignments);
    `done` counts submissions. Assignment reads these columns instead of counting rows.
    """

    neuron = models.OneToOneField(
        Neuron, primary_key=True, on_delete=models.CASCADE, related_name="annotation_unit"
    )
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="units")
    is_gold = models.BooleanField(default=False)
    claimed = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["study", "claimed", "neuron"],
                condition=Q(is_gold=False),
                name="unit_next_regular",
            ),
            models.Index(fields=["study", "neuron"], condition=Q(is_gold=True), name="unit_gold"),
        ]


class Assignment(models.Model):
    """One unit leased to one annotator; never given to the same annotator twice."""

    class State(models.TextChoices):
        OPEN = "open", "In progress"
        DONE = "done", "Submitted"
        EXPIRED = "expired", "Lease expired"

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="assignments")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    is_gold = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotator", "unit"], name="assignment_once"),
        ]
        indexes = [
            models.Index(
                fields=["study", "expires"], condition=Q(state="open"), name="assignment_open"
            ),
            # Covers the per-annotator counts that every "next" reads (index-only scan).
            models.Index(
                fields=["annotator", "study", "state", "is_gold"], name="assignment_counts"
            ),
        ]


class Submission(models.Model):
    """One annotator's answers to one unit, stored once per client-made id."""

    client_id = models.UUIDField(unique=True)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    neuron = models.ForeignKey(Neuron, on_delete=models.CASCADE, related_name="submissions")
    order_shown = ArrayField(models.BigIntegerField(), help_text="NeuronImage ids as shown")
    ms_spent = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotator", "neuron"], name="submission_once"),
        ]
        indexes = [models.Index(fields=["annotator", "study", "created"])]


class GoldAnswer(models.Model):
    """The known answer for one (neuron, image) pair of a gold unit."""

    neuron_image = models.OneToOneField(
        NeuronImage, primary_key=True, on_delete=models.CASCADE, related_name="gold_answer"
    )
    answer = models.CharField(max_length=3, choices=[("yes", "Yes"), ("no", "No")])


# --- Sign-in throttle -----------------------------------------------------------------------


class LoginFailure(models.Model):
    """Failed sign-ins of one (username, client address) pair, kept in PostgreSQL so that the
    throttle holds when the cache is down. `key` is a hash: mistyped passwords that land in
    the username field are not stored."""

    key = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure = models.DateTimeField(db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)
