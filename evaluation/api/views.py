"""API views for raters, evaluation runs and judgments."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from annotate.api.permissions import IsStaff
from annotate.permissions import access_run, access_study, visible_judgments, visible_studies
from evaluation.api.filters import JudgmentFilter, RaterFilter, RunFilter
from evaluation.api.serializers import JudgmentSerializer, RaterSerializer, RunSerializer
from evaluation.models import EvaluationRun, Rater
from evaluation.run_actions import RunRefused, do_cancel_run, do_resume_run, do_start_run


class RaterViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Raters: human annotators and configurations of automatic methods (staff only)."""

    queryset = Rater.objects.select_related("user").order_by("id")
    serializer_class = RaterSerializer
    permission_classes = [IsStaff]
    filterset_class = RaterFilter


class RunViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Evaluation runs. Creating one starts it; poll it for status and progress."""

    serializer_class = RunSerializer
    permission_classes = [IsStaff]
    filterset_class = RunFilter

    def get_queryset(self):
        return (
            EvaluationRun.objects.filter(study__in=visible_studies(self.request.user, "view"))
            .select_related("created_by")
            .order_by("-id")
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        study = access_study(self.request.user, data["study"].pk, need="manage")
        try:
            serializer.instance = do_start_run(
                study, data["rater"], data.get("options", {}), self.request.user
            )
        except RunRefused as exc:
            raise ValidationError({"detail": str(exc)}) from None

    @extend_schema(request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop a queued or running run; the judgments it made are kept."""
        run = access_run(request.user, pk, need="manage")
        if not do_cancel_run(run.pk):
            return Response(
                {"detail": f"Run {run.pk} is {run.status}, not queued or running."},
                status=status.HTTP_409_CONFLICT,
            )
        run.refresh_from_db()
        return Response(self.get_serializer(run).data)

    @extend_schema(request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Queue a failed or cancelled run again, or an active one no live worker holds;
        pairs already judged are skipped. 503 if the task queue is down (run unchanged)."""
        run = access_run(request.user, pk, need="manage")
        try:
            do_resume_run(run.pk)
        except RunRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        run.refresh_from_db()
        return Response(self.get_serializer(run).data)


class JudgmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Judgments. Members see their studies'; an annotator sees only their own (blind)."""

    serializer_class = JudgmentSerializer
    filterset_class = JudgmentFilter

    def get_queryset(self):
        return visible_judgments(self.request.user).select_related("neuron_image").order_by("id")
