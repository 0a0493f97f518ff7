"""Human annotation through the API: the same domain calls as the annotation page.

Only annotators of the study reach it (others get 404); the payloads carry a unit's label
and image links, never anyone else's verdicts.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.members import access_annotation_study
from annotate.annotation.questions import LABEL_ANSWER_KEYS
from annotate.annotation.submission import (
    SubmissionConflict,
    SubmissionError,
    do_submit_unit,
    do_undo_submission,
    recent_answers,
    undo_seconds,
)
from annotate.api.serializers import (
    NextUnitsRequestSerializer,
    NextUnitsSerializer,
    SubmitSerializer,
    SubmittedSerializer,
    UndoSerializer,
)


def _refused(exc: SubmissionError) -> Response:
    code = status.HTTP_409_CONFLICT if isinstance(exc, SubmissionConflict) else 400
    return Response({"detail": str(exc)}, status=code)


def _study(request, study_id):
    return access_annotation_study(request.user, int(study_id))


class AnnotationViewSet(viewsets.ViewSet):
    """An annotator's work on one study: next units, submit answers, review and undo them."""

    lookup_field = "study_id"
    lookup_value_regex = r"\d+"

    @extend_schema(request=NextUnitsRequestSerializer, responses={200: NextUnitsSerializer})
    @action(detail=True, methods=["post"], url_path="next")
    def next_units(self, request, study_id=None):
        study = _study(request, study_id)
        form = NextUnitsRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return Response(access_next_unit(request.user, study, form.validated_data["prefetch"]))

    @extend_schema(request=SubmitSerializer, responses={200: SubmittedSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, study_id=None):
        """Store one unit's answers; the same client_id sent again returns the same answer."""
        study = _study(request, study_id)
        form = SubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            stored = do_submit_unit(
                request.user,
                study,
                client_id=data["client_id"],
                neuron_id=data["neuron"],
                answers=data.get("answers"),
                label_answer={k: data[k] for k in LABEL_ANSWER_KEYS if k in data},
                order_shown=data["order_shown"],
                ms_spent=data["ms_spent"],
            )
        except SubmissionError as exc:
            return _refused(exc)
        return Response(stored)

    @extend_schema(request=UndoSerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def undo(self, request, study_id=None):
        """Take back your latest submission, within the undo window."""
        study = _study(request, study_id)
        form = UndoSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            return Response(
                do_undo_submission(request.user, study, form.validated_data["client_id"])
            )
        except SubmissionError as exc:
            return _refused(exc)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def answers(self, request, study_id=None):
        """Your latest answers, newest first; `changeable` ones can still be undone."""
        study = _study(request, study_id)
        return Response(
            {"answers": recent_answers(request.user, study), "undo_seconds": undo_seconds()}
        )
