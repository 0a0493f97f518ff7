"""API views for studies, concept sets, neurons and the imports that fill them."""

from __future__ import annotations

from django.db.models import Count, F, Func, IntegerField, Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from annotate.api import imports
from annotate.api.filters import NeuronFilter, StudyFilter
from annotate.api.permissions import IsStaff, StaffWritesOthersRead
from annotate.api.sampling import SampleProbeImagesSerializer, SampleReportSerializer
from annotate.api.serializers import (
    ConceptSetDetailSerializer,
    ConceptSetImportSerializer,
    ConceptSetSerializer,
    ImageImportSerializer,
    ImportFailedSerializer,
    ImportReportSerializer,
    JudgmentImportSerializer,
    LabelImportSerializer,
    NeuronSerializer,
    StudySerializer,
)
from annotate.models import ConceptSet, LabelSet, Neuron, NeuronImage
from annotate.permissions import access_study, visible_studies
from annotate.sampling import SamplingError, do_sample_probe_images


class StudyViewSet(viewsets.ModelViewSet):
    """Studies. Staff create and change them (and own what they create); annotators see
    only the studies they were added to."""

    serializer_class = StudySerializer
    permission_classes = [StaffWritesOthersRead]
    filterset_class = StudyFilter
    ordering = ["id"]

    def get_queryset(self):
        label_sets = LabelSet.objects.annotate(neuron_count=Count("neurons")).order_by("pk")
        return (
            visible_studies(self.request.user)
            .prefetch_related(Prefetch("label_sets", queryset=label_sets))
            .order_by("id")
        )

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    @extend_schema(
        request={"multipart/form-data": LabelImportSerializer},
        responses={200: ImportReportSerializer, 400: ImportFailedSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import-labels",
        parser_classes=[MultiPartParser],
        permission_classes=[IsStaff],
    )
    def import_labels(self, request, pk=None):
        """Import a CLIP-Dissect or MILAN label CSV into this study (all or nothing)."""
        study = access_study(request.user, pk, manage=True)
        form = LabelImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        options = {name: data.get(name) for name in ("label_set", "format", "layer")}
        return imports.respond(imports.import_labels, study, data["file"], options)

    @extend_schema(
        request={"multipart/form-data": JudgmentImportSerializer},
        responses={200: ImportReportSerializer, 400: ImportFailedSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import-judgments",
        parser_classes=[MultiPartParser],
        permission_classes=[IsStaff],
    )
    def import_judgments(self, request, pk=None):
        """Import judgments made elsewhere (rater,layer,unit,rank,verdict[,score][,label_set]):
        the same file twice changes nothing; a changed verdict is refused by line."""
        study = access_study(request.user, pk, manage=True)
        form = JudgmentImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        return imports.respond(
            imports.import_judgments, study, data["file"], data["rater_kind"], data["notes"]
        )

    @extend_schema(
        request={"multipart/form-data": ImageImportSerializer},
        responses={200: ImportReportSerializer, 400: ImportFailedSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import-images",
        parser_classes=[MultiPartParser],
        permission_classes=[IsStaff],
    )
    def import_images(self, request, pk=None):
        """Import a manifest (layer,unit,rank,path) and a zip of the images it names."""
        study = access_study(request.user, pk, manage=True)
        form = ImageImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        return imports.respond(imports.import_images, study, data["manifest"], data["images"])

    @extend_schema(
        request=SampleProbeImagesSerializer,
        responses={200: SampleReportSerializer, 400: ImportFailedSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="sample-probe-images",
        permission_classes=[IsStaff],
    )
    def sample_probe_images(self, request, pk=None):
        """Draw images from the study's probe set beyond each neuron's top-k (M uniform from
        the rest, per_stratum from each of Q halving activation strata), each with its
        inclusion probability; the same design again changes nothing."""
        study = access_study(request.user, pk, manage=True)
        form = SampleProbeImagesSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            report = do_sample_probe_images(study, form.design())
        except SamplingError as exc:
            detail = f"Sampling refused, nothing was changed: {exc}"
            return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
        return Response(report.as_dict())


class ConceptSetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Concept sets (the vocabulary CP ranks a label in). Create one by uploading a file."""

    queryset = ConceptSet.objects.order_by("id")
    permission_classes = [IsStaff]
    parser_classes = [MultiPartParser, *viewsets.GenericViewSet.parser_classes]
    filterset_fields = {"name": ["exact", "icontains"], "sha256": ["exact"]}

    def get_serializer_class(self):
        if self.action == "retrieve":
            return ConceptSetDetailSerializer
        return ConceptSetSerializer

    def get_queryset(self):
        size = Func(F("concepts"), function="cardinality", output_field=IntegerField())
        queryset = super().get_queryset().annotate(size=size)
        # A concept set can hold 20,000 words: lists count them in SQL instead of loading them.
        return queryset.defer("concepts") if self.action == "list" else queryset

    @extend_schema(
        request={"multipart/form-data": ConceptSetImportSerializer},
        responses={
            200: ConceptSetSerializer,
            201: ConceptSetSerializer,
            400: ImportFailedSerializer,
        },
    )
    def create(self, request):
        form = ConceptSetImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        outcome = imports.run_import(imports.import_concept_set, data["name"], data["file"])
        if isinstance(outcome, Response):
            return outcome
        concept_set, report = outcome
        code = status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
        return Response(ConceptSetSerializer(concept_set).data, status=code)


class NeuronViewSet(viewsets.ReadOnlyModelViewSet):
    """Neurons with their rated images; filter by study, layer, unit, role, label."""

    serializer_class = NeuronSerializer
    permission_classes = [IsStaff]
    filterset_class = NeuronFilter

    def get_queryset(self):
        images = NeuronImage.objects.select_related("image").order_by("rank")
        return (
            Neuron.objects.filter(study__in=visible_studies(self.request.user))
            .prefetch_related(Prefetch("images", queryset=images))
            .order_by("study_id", "layer", "unit", "id")
        )
