"""Report tables that read the database directly: run times, cross-study, disputed neurons."""

from __future__ import annotations

from collections import defaultdict

from django.core.cache import cache
from django.db.models import Count, Max, Min

from annotate.models import Neuron, NeuronImage, Study
from evaluation.models import EvaluationRun, Judgment, Rater, RunStatus
from evaluation.reports import (
    CACHE_SECONDS,
    ReportRequest,
    cache_key,
    cached_json,
    get_study_report,
    judgment_fingerprint,
)


def _finished_runs_stamp(study: Study) -> str:
    """Changes when a run of the study finishes."""
    done = EvaluationRun.objects.filter(study=study, status=RunStatus.DONE)
    runs = done.aggregate(n=Count("id"), last=Max("finished_at"))
    return f"{runs['n']}:{runs['last'].timestamp() if runs['last'] else 0}"


def cached_run_times(study: Study) -> list[dict]:
    """`run_times`, cached until a judgment changes (the human spans aggregate every human
    judgment of the study) or a run finishes."""
    key = f"run-times:{study.pk}:{judgment_fingerprint(study)}:{_finished_runs_stamp(study)}"
    return cache.get_or_set(key, lambda: run_times(study), CACHE_SECONDS)


def study_report_with_runs_json(study: Study, request: ReportRequest) -> bytes:
    """report.json's body: the report, the study and its run times, cached as bytes until a
    judgment changes or a run finishes."""
    key = cache_key(study, request, judgment_fingerprint(study))
    key += f":with-runs:{_finished_runs_stamp(study)}"
    return cached_json(
        key,
        lambda: (
            get_study_report(study, request)
            | {"study": {"id": study.pk, "name": study.name}, "runs": cached_run_times(study)}
        ),
    )


def run_times(study: Study) -> list[dict]:
    """Like the reference Table 3: the latest finished run of each automatic rater.

    Human time is the span from each annotator's first to last judgment, an upper bound.
    """
    rows = []
    seen: set[int] = set()
    runs = EvaluationRun.objects.filter(study=study, status=RunStatus.DONE).select_related("rater")
    for run in runs.order_by("-finished_at"):
        if run.rater_id in seen:
            continue
        seen.add(run.rater_id)
        wall = run.wall_seconds
        rows.append(
            {
                "rater": run.rater.name,
                "kind": run.rater.kind,
                "pairs": run.done_pairs,
                "wall_seconds": wall,
                "pairs_per_second": run.done_pairs / wall if wall else None,
                "stage_seconds": run.stage_seconds or {},
                "finished": run.finished_at.isoformat() if run.finished_at else None,
            }
        )
    humans = (
        Judgment.objects.filter(study=study, rater__kind=Rater.Kind.HUMAN)
        .values("rater__name")
        .annotate(n=Count("id"), first=Min("created"), last=Max("created"))
        .order_by("rater__name")
    )
    for h in humans:
        span = (h["last"] - h["first"]).total_seconds()
        rows.append(
            {
                "rater": h["rater__name"],
                "kind": Rater.Kind.HUMAN.value,
                "pairs": h["n"],
                "wall_seconds": span,
                "pairs_per_second": h["n"] / span if span else None,
                "stage_seconds": {},
                "finished": h["last"].isoformat(),
            }
        )
    return rows


def cross_study(studies, request: ReportRequest | None = None) -> list[dict]:
    """Like the reference Table 2: per study and rater, the share of neuron labels judged
    correct, and agreement (IoU, kappa) with the human consensus at the neuron level."""
    rows = []
    for study in studies:
        report = get_study_report(study, request)
        with_ref = {r["rater"]: r for r in report["neuron"]["by_layer"] if r["layer"] == "Overall"}
        for rate in report["neuron"]["yes_rates"]:
            if rate["layer"] != "Overall":
                continue
            ref = with_ref.get(rate["rater"], {})
            rows.append(
                {
                    "study": study.name,
                    "study_id": study.pk,
                    "probe_dataset": study.probe_dataset,
                    "concept_set": study.concept_set.name if study.concept_set else "",
                    "rater": rate["rater"],
                    "neurons": rate["n"],
                    "labels_correct": rate["rate"],
                    "ci_low": rate["ci"][0],
                    "ci_high": rate["ci"][1],
                    "iou_with_consensus": ref.get("iou"),
                    "kappa_with_consensus": ref.get("kappa"),
                }
            )
    return rows


def disputed_details(study: Study, report: dict, limit: int = 20) -> list[dict]:
    """The most disputed neurons with their images and every rater's verdict, score, answer."""
    disputed = report["disputed"][:limit]
    ids = [d["neuron"] for d in disputed]
    neurons = {n.pk: n for n in Neuron.objects.filter(study=study, pk__in=ids)}
    images = defaultdict(list)
    pairs = NeuronImage.objects.filter(neuron_id__in=ids, is_distractor=False).select_related(
        "image"
    )
    for ni in pairs.order_by("neuron_id", "rank"):
        images[ni.neuron_id].append(ni)
    verdicts = defaultdict(list)
    judgments = Judgment.objects.filter(neuron_image__in=[ni for v in images.values() for ni in v])
    for j in judgments.select_related("rater").order_by("rater__kind", "rater__name"):
        verdicts[j.neuron_image_id].append(
            {
                "rater": j.rater.name,
                "kind": j.rater.kind,
                "verdict": j.verdict,
                "score": j.score,
                "answer": answer_text(j.extra),
            }
        )
    return [
        {
            "neuron": neurons[d["neuron"]],
            "score": d["score"],
            "images": [{"pair": ni, "judgments": verdicts[ni.pk]} for ni in images[d["neuron"]]],
        }
        for d in disputed
        if d["neuron"] in neurons
    ]


def answer_text(extra: dict | None) -> str:
    """The words a VQA model answered, as stored by the BLIP-2 and OpenAI-compatible raters."""
    if not extra:
        return ""
    if "answers" in extra:
        return " / ".join(str(a) for a in extra["answers"])
    return str(extra.get("answer", ""))
