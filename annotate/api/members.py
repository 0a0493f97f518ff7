"""A study's invite links and annotators through the API, for those who manage the study:
the same domain calls as the annotation staff page."""

from __future__ import annotations

from django.db.models import Count
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from annotate.annotation.members import (
    InviteError,
    do_create_invite,
    do_revoke_invite,
    settings_for,
)
from annotate.annotation.progress import annotator_rows
from annotate.api.serializers import AnnotatorSerializer, InviteCreateSerializer, InviteSerializer
from annotate.models import Invite
from annotate.permissions import access_study

STUDY_ID = OpenApiParameter("study_id", OpenApiTypes.INT, OpenApiParameter.PATH)
INVITE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


class StudyScoped:
    """Views under /studies/{study_id}/: the study, fetched and checked once per request."""

    def managed_study(self):
        if not hasattr(self, "_study"):
            self._study = access_study(
                self.request.user, int(self.kwargs["study_id"]), need="manage"
            )
        return self._study


@extend_schema_view(
    list=extend_schema(parameters=[STUDY_ID]),
    create=extend_schema(
        parameters=[STUDY_ID], request=InviteCreateSerializer, responses={201: InviteSerializer}
    ),
    retrieve=extend_schema(parameters=[STUDY_ID, INVITE_ID]),
    revoke=extend_schema(parameters=[STUDY_ID, INVITE_ID], request=None),
)
class InviteViewSet(
    StudyScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """A study's invite links, newest first; revoked ones stay listed, inactive."""

    serializer_class = InviteSerializer
    lookup_value_regex = r"\d+"
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invite.objects.none()
        return (
            Invite.objects.filter(study=self.managed_study())
            .select_related("created_by")
            .annotate(joined=Count("studyannotator"))
            .order_by("-created", "-pk")
        )

    def create(self, request, study_id=None):
        form = InviteCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            invite = do_create_invite(
                self.managed_study(), request.user, data["kind"], data.get("max_participants")
            )
        except InviteError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(self._shown(invite.pk), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def revoke(self, request, study_id=None, pk=None):
        """Close the link: joining by it fails from now on; who joined keeps annotating."""
        try:
            invite = do_revoke_invite(self.managed_study(), int(pk))
        except Invite.DoesNotExist:
            raise NotFound("No such invite.") from None
        return Response(self._shown(invite.pk))

    def _shown(self, pk: int) -> dict:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data


@extend_schema_view(list=extend_schema(parameters=[STUDY_ID]))
class AnnotatorViewSet(StudyScoped, viewsets.GenericViewSet):
    """A study's annotators with their progress: units done and in progress (live leases),
    median time per unit, gold accuracy (null before any answer on a known pair)."""

    serializer_class = AnnotatorSerializer
    filter_backends: list = []

    def list(self, request, study_id=None):
        study = self.managed_study()
        rows = annotator_rows(study, settings_for(study).min_gold_accuracy)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
