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

    name = models.CharField(max_length=200, unique=True)
    target_network = models.CharField(max_length=200)
    layers = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    probe_dataset = models.CharField(max_length=200)
    concept_set = models.ForeignKey(
        ConceptSet, null=True, blank=True, on_delete=models.PROTECT, related_name="studies"
    )
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.CLIP_DISSECT)
    k = models.PositiveSmallIntegerField(default=5, help_text="Top images per neuron")
    overlap = models.PositiveSmallIntegerField(
        default=3, help_text="Human annotators wanted per neuron"
    )
    notes = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    is_demo = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(condition=Q(k__gte=1, k__lte=100), name="study_k_range"),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="study_overlap_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Neuron(models.Model):
    """A hidden unit and the label its dissection gave it.

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
    layer = models.CharField(max_length=200)
    unit = models.PositiveIntegerField()
    label = models.TextField()
    method_score = models.FloatField(null=True, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.REAL)
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="probes"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "layer", "unit"],
                condition=Q(role="real"),
                name="neuron_unique_unit_per_study",
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
    """

    neuron = models.ForeignKey(Neuron, on_delete=models.CASCADE, related_name="images")
    image = models.ForeignKey(ProbeImage, on_delete=models.PROTECT, related_name="uses")
    rank = models.PositiveSmallIntegerField()
    activation = models.FloatField(null=True, blank=True)
    is_distractor = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["neuron", "rank"], name="neuronimage_unique_rank"),
            models.UniqueConstraint(fields=["neuron", "image"], name="neuronimage_unique_image"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="neuronimage_rank_positive"),
        ]
        ordering = ["neuron_id", "rank"]

    def __str__(self) -> str:
        return f"{self.neuron_id}#{self.rank}"
