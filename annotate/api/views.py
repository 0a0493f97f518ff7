"""API views for studies, concept sets, neurons and the imports that fill them."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, F, Func, IntegerField, Prefetch
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
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
    StudyDeletedSerializer,
    StudyMemberSerializer,
    StudySerializer,
)
from annotate.models import ConceptSet, LabelSet, Neuron, NeuronImage
from annotate.ownership import (
    DeleteRefused,
    OwnershipError,
    do_delete_study,
    do_grant_owner,
    do_remove_role,
    do_set_role,
    study_members,
)
from annotate.permissions import access_study, visible_studies
from annotate.sampling import SamplingError, do_sample_probe_images

# The level of access_study each action of a study needs.
STUDY_NEEDS = {"retrieve": "see", "update": "manage", "partial_update": "manage", "destroy": "own"}
CONFIRM = OpenApiParameter(
    "confirm", str, description="The study's name: archive a study that has human judgments"
)


class StudyViewSet(viewsets.ModelViewSet):
    """Studies. Staff create them and own what they create; owners and managers change
    them; annotators and members see only the studies they belong to."""

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

    def get_object(self):
        need = STUDY_NEEDS.get(self.action, "manage")
        study = access_study(self.request.user, self.kwargs["pk"], need=need)
        return self.get_queryset().get(pk=study.pk)

    @transaction.atomic
    def perform_create(self, serializer):
        study = serializer.save(owner=self.request.user)
        do_grant_owner(study, self.request.user)

    @extend_schema(
        parameters=[CONFIRM],
        responses={
            200: StudyDeletedSerializer,
            204: None,
            409: OpenApiResponse(description="Human judgments and no confirmation"),
        },
    )
    def destroy(self, request, pk=None):
        """Delete a study (owner only). One with human judgments is archived instead, and only
        when `confirm` (query parameter or JSON field) names it; its data are kept."""
        study = self.get_object()
        confirm = request.query_params.get("confirm")
        if confirm is None and isinstance(request.data, dict):
            confirm = request.data.get("confirm")
        try:
            outcome = do_delete_study(study, request.user, confirm)
        except DeleteRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if not outcome.archived:
            return Response(status=status.HTTP_204_NO_CONTENT)
        body = {"archived": True, "human_judgments": outcome.human_judgments}
        return Response(body, status=status.HTTP_200_OK)

    @extend_schema(methods=["get"], request=None, responses={200: StudyMemberSerializer(many=True)})
    @extend_schema(
        methods=["post"],
        request=StudyMemberSerializer,
        responses={200: StudyMemberSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"], permission_classes=[IsStaff])
    def members(self, request, pk=None):
        """The study's members and their roles (any member reads them). The owner adds a
        staff member or changes their role by posting {"user": username, "role": role}."""
        if request.method == "GET":
            return Response(study_members(access_study(request.user, pk, need="view")))
        study = access_study(request.user, pk, need="own")
        form = StudyMemberSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            do_set_role(study, form.validated_data["user"], form.validated_data["role"])
        except OwnershipError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(study_members(study))

    @extend_schema(request=None, responses={200: StudyMemberSerializer(many=True)})
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"members/(?P<username>[\w.@+-]+)",
        permission_classes=[IsStaff],
    )
    def remove_member(self, request, pk=None, username=None):
        """Take a member off the study (owner only); a study keeps at least one owner."""
        study = access_study(request.user, pk, need="own")
        try:
            do_remove_role(study, username)
        except OwnershipError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(study_members(study))

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
        study = access_study(request.user, pk, need="manage")
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
        """Import judgments made elsewhere: per image (rater,layer,unit,rank,verdict), per
        label (rater,layer,unit,label_set,rating), best of (rater,layer,unit,chosen), or
        `format` dnd-human-evals: the same file twice changes nothing; a changed verdict is
        refused by line."""
        study = access_study(request.user, pk, need="manage")
        form = JudgmentImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        return imports.respond(
            imports.import_judgments,
            study,
            data["file"],
            data["rater_kind"],
            data["notes"],
            data.get("format"),
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
        study = access_study(request.user, pk, need="manage")
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
        study = access_study(request.user, pk, need="manage")
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
            Neuron.objects.filter(study__in=visible_studies(self.request.user, "view"))
            .prefetch_related(Prefetch("images", queryset=images))
            .order_by("study_id", "layer", "unit", "id")
        )
