"""Report reads from PostgreSQL: the long judgment table, raters, gold accuracy, run times,
the disputed neurons' details, and the stamps that the cache keys are made of."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Count, Max, Min

from annotate.annotation import quality
from annotate.models import TOP_K, Neuron, NeuronImage, Study
from evaluation.models import EvaluationRun, Judgment, Rater, RunStatus
from evaluation.reports.read_arrays import VERDICTS, read_study_arrays


def load_long_table(study: Study) -> pd.DataFrame:
    """Every judgment of the study's real and probe top-k pairs, distractors and sampled
    images left out.

    Columns: rater_id, neuron, item (the pair), verdict, score, layer, role, label_set (its
    name), unit; verdict, layer, role and label_set are categoricals. Neuron, layer, role,
    label set and unit come from the study's pairs and neurons (one query each, beside the
    judgments), joined in numpy.
    """
    arrays = read_study_arrays(study.pk)
    position = np.searchsorted(arrays.pair_ids, arrays.item)
    kept = position < len(arrays.pair_ids)
    kept[kept] = arrays.pair_ids[position[kept]] == arrays.item[kept]  # not a distractor
    neuron_ids = arrays.pair_neurons[position[kept]]
    columns = ["id", "layer", "role", "label_set_id", "unit"]
    neurons = pd.DataFrame.from_records(
        list(study.neurons.values_list(*columns)), columns=columns
    ).set_index("id")
    neuron_rows = neurons.index.get_indexer(neuron_ids)
    return pd.DataFrame(
        {
            "rater_id": arrays.rater_id[kept],
            "neuron": neuron_ids,
            "item": arrays.item[kept],
            "verdict": pd.Categorical.from_codes(arrays.verdict[kept], VERDICTS),
            "score": arrays.score[kept],
            "layer": _take_categorical(neurons["layer"], neuron_rows),
            "role": _take_categorical(neurons["role"], neuron_rows),
            "label_set": _label_set_names(study, neurons["label_set_id"], neuron_rows),
            "unit": neurons["unit"].to_numpy(dtype=np.int64)[neuron_rows],
        }
    )


def _label_set_names(study: Study, ids: pd.Series, rows: np.ndarray) -> pd.Categorical:
    """The label set of each row by name, the study's label sets in order as categories."""
    found = list(study.label_sets.order_by("pk").values_list("id", "name"))
    codes = pd.Index([i for i, _ in found]).get_indexer(ids.to_numpy())
    return pd.Categorical.from_codes(codes[rows], categories=[name for _, name in found])


def _take_categorical(values: pd.Series, rows: np.ndarray) -> pd.Categorical:
    """values[rows] as a categorical: codes are copied, not 2 million Python strings."""
    categorical = pd.Categorical(values)
    return pd.Categorical.from_codes(categorical.codes[rows], categories=categorical.categories)


def study_raters(ids) -> dict[int, Rater]:
    """The raters with these ids, humans first, then by kind and name."""
    found = sorted(Rater.objects.filter(pk__in=ids), key=lambda r: (not r.is_human, r.kind, r.name))
    return {r.pk: r for r in found}


def judgment_fingerprint(study: Study) -> str:
    """Changes whenever a judgment is added, changed or deleted, in any study.

    Two O(1) lookups: the highest judgment id and the change counter that a trigger bumps at
    each commit (migration 0002). Counting the study's own judgments instead joined the whole
    judgment table and took 2 s at 500,000 pairs. Read it before the judgments themselves.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT max(id) FROM evaluation_judgment),"
            " (SELECT last_value FROM evaluation_judgment_changes)"
        )
        last_id, changes = cursor.fetchone()
    return f"{last_id or 0}:{changes}"


def finished_runs_stamp(study: Study) -> str:
    """Changes when a run of the study finishes."""
    done = EvaluationRun.objects.filter(study=study, status=RunStatus.DONE)
    runs = done.aggregate(n=Count("id"), last=Max("finished_at"))
    return f"{runs['n']}:{runs['last'].timestamp() if runs['last'] else 0}"


def gold_by_name(study: Study, raters: dict[int, Rater]) -> dict[str, tuple[float, int]]:
    """name -> (gold accuracy, known pairs answered); {} when the study has no known answers."""
    if not _has_known_answers(study):
        return {}
    tally = quality.gold_tally(study)  # rater id -> (right, answered)
    return {
        raters[i].name: (right / total, total)
        for i, (right, total) in tally.items()
        if i in raters and total
    }


def _has_known_answers(study: Study) -> bool:
    """Distractors or gold answers exist: worth the gold-accuracy queries (slow on big studies)."""
    pairs = NeuronImage.objects.filter(neuron__study=study)
    return (
        pairs.filter(is_distractor=True).exists()
        or pairs.filter(gold_answer__isnull=False).exists()
    )


def run_times(study: Study) -> list[dict]:
    """Like the reference Table 3: the latest finished run of each automatic rater."""
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
    return rows


def annotation_spans(study: Study) -> list[dict]:
    """Each annotator's judgments and the span from their first to their last: an upper bound
    on their time (breaks included), so no rate is given. Annotators are not runs."""
    humans = (
        Judgment.objects.filter(study=study, rater__kind=Rater.Kind.HUMAN)
        .values("rater__name")
        .annotate(n=Count("id"), first=Min("created"), last=Max("created"))
        .order_by("rater__name")
    )
    return [
        {
            "rater": h["rater__name"],
            "pairs": h["n"],
            "first": h["first"].isoformat(),
            "last": h["last"].isoformat(),
            "span_seconds": (h["last"] - h["first"]).total_seconds(),
        }
        for h in humans
    ]


DISPUTED_PAGE = 20  # neurons the disagreement browser shows unless asked for more


def disputed_details(study: Study, report: dict, limit: int = DISPUTED_PAGE) -> list[dict]:
    """The most disputed neurons with their images and every rater's verdict, score, answer
    (and the rater's short name, `display_names`)."""
    disputed = report["disputed"][:limit]
    ids = [d["neuron"] for d in disputed]
    short = report.get("display_names", {})
    found = Neuron.objects.filter(study=study, pk__in=ids).select_related("label_set")
    neurons = {n.pk: n for n in found}
    images = defaultdict(list)
    pairs = NeuronImage.objects.filter(TOP_K, neuron_id__in=ids).select_related("image")
    for ni in pairs.order_by("neuron_id", "rank"):
        images[ni.neuron_id].append(ni)
    verdicts = defaultdict(list)
    judgments = Judgment.objects.filter(neuron_image__in=[ni for v in images.values() for ni in v])
    for j in judgments.select_related("rater").order_by("rater__kind", "rater__name"):
        verdicts[j.neuron_image_id].append(
            {
                "rater": j.rater.name,
                "short": short.get(j.rater.name, j.rater.name),
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
