"""What staff see: progress per unit and per annotator, with gold accuracy."""

from django.core.paginator import Paginator
from django.db.models import Aggregate, Count, F, FloatField, Max, Q, Sum
from django.utils import timezone

from annotate.annotation.quality import gold_tally
from annotate.models import Assignment, Study, StudyAnnotator, Submission, Unit

UNITS_PER_PAGE = 100


class Median(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def study_summary(study: Study) -> dict:
    totals = Unit.objects.filter(study=study, is_gold=False).aggregate(
        units=Count("neuron"),
        complete=Count("neuron", filter=Q(done__gte=study.overlap)),
        claimed=Sum("claimed"),
        done=Sum("done"),
    )
    totals["in_flight"] = (totals["claimed"] or 0) - (totals["done"] or 0)
    totals["wanted"] = totals["units"] * study.overlap
    totals["gold_units"] = Unit.objects.filter(study=study, is_gold=True).count()
    return totals


def annotator_rows(study: Study, min_accuracy: float) -> list[dict]:
    """One row per annotator: submissions, live leases, median seconds per unit, gold
    accuracy."""
    tally = gold_tally(study)
    leases = dict(
        Assignment.objects.filter(
            study=study, state=Assignment.State.OPEN, expires__gt=timezone.now()
        )
        .values_list("annotator_id")
        .annotate(n=Count("id"))
    )
    stats = {
        row["annotator_id"]: row
        for row in Submission.objects.filter(study=study)
        .values("annotator_id")
        .annotate(n=Count("id"), last=Max("created"), median_ms=Median("ms_spent"))
    }
    rows = []
    for member in StudyAnnotator.objects.filter(study=study).select_related("user__rater"):
        rater = getattr(member.user, "rater", None)
        right, answered = tally.get(rater.pk, (0, 0)) if rater else (0, 0)
        acc = right / answered if answered else None
        stat = stats.get(member.user_id, {})
        rows.append(
            {
                "username": member.user.username,
                "platform": member.get_platform_display(),
                # MTurk workers each get a code: staff check the ones submitted against it.
                "completion_code": member.completion_code if member.platform == "mturk" else "",
                "submitted": stat.get("n", 0),
                "in_progress": leases.get(member.user_id, 0),
                "joined": member.joined,
                "invite": member.invite_id,
                "last": stat.get("last"),
                "median_seconds": stat["median_ms"] / 1000 if stat else None,
                "gold_answered": answered,
                "gold_accuracy": acc,
                "excluded": acc is not None and acc < min_accuracy,
            }
        )
    return sorted(rows, key=lambda r: (-r["submitted"], r["username"]))


def unit_page(study: Study, page: int):
    units = (
        Unit.objects.filter(study=study)
        .select_related("neuron")
        .annotate(in_flight=F("claimed") - F("done"))
        .order_by("is_gold", "done", "neuron_id")
    )
    return Paginator(units, UNITS_PER_PAGE).get_page(page)
