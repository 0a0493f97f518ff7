"""A synthetic study written straight into PostgreSQL with COPY, not through the API.

N neurons x k images (ViT-L/14-like: 4,096 MLP units per block), four automatic raters on
every pair and three humans on a share of the neurons, with the annotation rows such a
study holds (units with counters, done assignments, submissions). Verdicts are drawn
around a hidden truth so that agreement figures mean something. Probe images are a few
thousand tiny PNGs, reused: they are content-addressed, so the study costs rows, not files.

    .venv/bin/python bench/synthetic_study.py --neurons 100000      # 500,000 pairs
    .venv/bin/python bench/synthetic_study.py --neurons 2000 --name small
"""

from __future__ import annotations

import argparse
import io
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scale_env

UNITS_PER_LAYER = 4096
AUTOMATIC = {  # kind: accuracy against the hidden truth
    "openclip_es": 0.78,
    "openclip_cp": 0.74,
    "vqa_blip2": 0.85,
    "vqa_openai": 0.82,
}
HUMAN_ACCURACY = (0.92, 0.88, 0.85)
WORDS = [  # fmt: skip
    "dog",
    "cat",
    "car",
    "tree",
    "sky",
    "water",
    "grass",
    "road",
    "building",
    "face",
    "hand",
    "text",
    "wheel",
    "bird",
    "flower",
    "window",
    "door",
    "chair",
    "table",
    "boat",
    "cloud",
    "snow",
    "fire",
    "metal",
    "wood",
    "stripes",
    "dots",
    "grid",
    "red",
    "blue",
    "green",
    "yellow",
    "orange",
    "purple",
    "black",
    "white",
    "fur",
    "feathers",
    "scales",
    "leaves",
]


@dataclass
class Timings:
    steps: dict[str, float]

    def step(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.steps[name] = round(now - started, 2)
        print(f"  {name:<22} {now - started:7.2f} s", flush=True)
        return now


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """COPY rows into `table` on Django's connection (psycopg 3), inside its transaction."""
    from django.db import connection

    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def ids_in_insert_order(table: str, where: str, params: list) -> np.ndarray:
    """Ids of rows just copied: one sequence, one session, so id order is insert order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {where} ORDER BY id", params)
        return np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)


def probe_images(count: int) -> np.ndarray:
    """Ids of `count` tiny distinct PNGs, stored once and shared by every synthetic study."""
    from PIL import Image

    from annotate.images import do_store_image

    ids = []
    for index in range(count):
        image = Image.new("RGB", (8, 8), (index % 256, (index // 256) % 256, 128))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        ids.append(do_store_image(buffer.getvalue()).pk)
    return np.array(ids, dtype=np.int64)


def flip(rng: np.random.Generator, truth: np.ndarray, accuracy: float) -> np.ndarray:
    return np.where(rng.random(truth.shape) < accuracy, truth, ~truth)


def generate_study(
    name: str,
    neurons: int = 100_000,
    k: int = 5,
    human_share: float = 0.2,
    images: int = 2000,
    seed: int = 0,
):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from annotate.models import AnnotationSettings, Study, StudyAnnotator
    from evaluation.models import EvaluationRun, Rater, RunStatus

    if images < k:
        raise ValueError("need at least k distinct images")
    rng = np.random.default_rng(seed)
    now = timezone.now()
    timings = Timings({})
    print(f"Synthetic study {name!r}: {neurons:,} neurons x {k} images", flush=True)
    started = t = time.perf_counter()
    with transaction.atomic():
        image_ids = probe_images(images)
        t = timings.step("probe images", t)
        layers = [f"blocks.{i}.mlp" for i in range((neurons - 1) // UNITS_PER_LAYER + 1)]
        study = Study.objects.create(
            name=name,
            target_network="ViT-L/14 (synthetic)",
            probe_dataset="synthetic",
            layers=layers,
            k=k,
            overlap=len(HUMAN_ACCURACY),
        )
        labels = rng.choice(WORDS, size=neurons)
        method_scores = rng.uniform(0.1, 0.4, size=neurons).round(4)
        copy_rows(
            "annotate_neuron",
            ["study_id", "layer", "unit", "label", "method_score", "role"],
            (
                (study.pk, layers[i // UNITS_PER_LAYER], i % UNITS_PER_LAYER, labels[i],
                 method_scores[i], "real")
                for i in range(neurons)
            ),
        )  # fmt: skip
        neuron_ids = ids_in_insert_order("annotate_neuron", "study_id = %s", [study.pk])
        t = timings.step("neurons", t)

        # k distinct images per neuron: a random start and a stride of images // k.
        start = rng.integers(0, images, size=neurons)
        picks = image_ids[(start[:, None] + np.arange(k) * (images // k)) % images]
        activation = np.sort(rng.gamma(2.0, 1.0, size=(neurons, k)), axis=1)[:, ::-1].round(4)
        copy_rows(
            "annotate_neuronimage",
            ["neuron_id", "image_id", "rank", "activation", "is_distractor"],
            (
                (int(neuron_ids[n]), int(picks[n, r]), r + 1, float(activation[n, r]), False)
                for n in range(neurons)
                for r in range(k)
            ),
        )
        pair_ids = ids_in_insert_order(
            "annotate_neuronimage",
            "neuron_id IN (SELECT id FROM annotate_neuron WHERE study_id = %s)",
            [study.pk],
        ).reshape(neurons, k)
        t = timings.step("pairs", t)

        quality = rng.beta(2.0, 2.0, size=(neurons, 1))
        truth = rng.random((neurons, k)) < quality
        for kind, accuracy in AUTOMATIC.items():
            rater = Rater.objects.create(
                name=f"{name}:{kind}", kind=kind, params={"synthetic": name}
            )
            verdict = flip(rng, truth, accuracy)
            score = np.clip(rng.normal(0.5 + 0.3 * (2 * verdict - 1), 0.15), 0, 1).round(4)
            copy_rows(
                "evaluation_judgment",
                ["rater_id", "neuron_image_id", "verdict", "score", "extra", "created"],
                (
                    (rater.pk, int(p), "yes" if v else "no", float(s), "{}", now)
                    for p, v, s in zip(
                        pair_ids.ravel(), verdict.ravel(), score.ravel(), strict=True
                    )
                ),
            )
            EvaluationRun.objects.create(
                rater=rater, study=study, status=RunStatus.DONE, total_pairs=neurons * k,
                done_pairs=neurons * k, started_at=now, finished_at=now,
            )  # fmt: skip
            t = timings.step(f"judgments {kind}", t)

        AnnotationSettings.objects.create(study=study, gold_rate=0.0, shuffle_images=True)
        chosen = np.sort(rng.choice(neurons, size=int(human_share * neurons), replace=False))
        humans = len(HUMAN_ACCURACY)
        done = np.zeros(neurons, dtype=int)
        done[chosen] = humans
        with connection.cursor() as cursor:  # made by the image trigger; rewritten with counts
            cursor.execute("DELETE FROM annotate_unit WHERE study_id = %s", [study.pk])
        copy_rows(
            "annotate_unit",
            ["neuron_id", "study_id", "is_gold", "claimed", "done"],
            ((int(neuron_ids[n]), study.pk, False, int(done[n]), int(done[n]))
             for n in range(neurons)),
        )  # fmt: skip
        users = get_user_model()
        for index, accuracy in enumerate(HUMAN_ACCURACY):
            user = users.objects.create_user(f"{name}-annotator-{index}", password=None)
            StudyAnnotator.objects.create(study=study, user=user)
            rater = Rater.objects.create(name=f"human:{user.username}", kind="human", user=user)
            client_ids = [uuid.uuid4() for _ in chosen]
            copy_rows(
                "annotate_assignment",
                ["unit_id", "study_id", "annotator_id", "state", "is_gold", "created", "expires"],
                ((int(neuron_ids[n]), study.pk, user.pk, "done", False, now, now) for n in chosen),
            )
            copy_rows(
                "annotate_submission",
                ["client_id", "study_id", "annotator_id", "neuron_id", "order_shown", "ms_spent",
                 "created"],
                (
                    (cid, study.pk, user.pk, int(neuron_ids[n]),
                     [int(p) for p in pair_ids[n]], int(rng.integers(2000, 20000)), now)
                    for cid, n in zip(client_ids, chosen, strict=True)
                ),
            )  # fmt: skip
            verdict = flip(rng, truth[chosen], accuracy)
            unsure = rng.random(verdict.shape) < 0.02
            copy_rows(
                "evaluation_judgment",
                ["rater_id", "neuron_image_id", "verdict", "score", "extra", "submission",
                 "created"],
                (
                    (rater.pk, int(pair_ids[n, r]),
                     "unclear" if unsure[i, r] else ("yes" if verdict[i, r] else "no"),
                     None, "{}", client_ids[i], now)
                    for i, n in enumerate(chosen)
                    for r in range(k)
                ),
            )  # fmt: skip
            t = timings.step(f"human {index}", t)
    with connection.cursor() as cursor:
        for table in ("annotate_neuron", "annotate_neuronimage", "evaluation_judgment",
                      "annotate_unit", "annotate_assignment", "annotate_submission"):  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
    timings.step("analyze", t)
    timings.steps["total"] = round(time.perf_counter() - started, 2)
    print(f"  {'total':<22} {timings.steps['total']:7.2f} s", flush=True)
    return study, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--human-share", type=float, default=0.2)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None, help="default: synthetic-<neurons>")
    parser.add_argument("--replace", action="store_true", help="delete a study of that name first")
    args = parser.parse_args()
    scale_env.setup()
    from annotate.models import Study

    name = args.name or f"synthetic-{args.neurons}"
    if args.replace:
        delete_study(name)
    elif Study.objects.filter(name=name).exists():
        raise SystemExit(f"Study {name!r} exists already; pass --replace to rebuild it.")
    generate_study(name, args.neurons, args.k, args.human_share, args.images, args.seed)


def delete_study(name: str) -> None:
    """Remove a synthetic study with its raters and annotators.

    The big tables are emptied with plain SQL first: Django's emulated CASCADE would load
    every one of millions of rows into Python before deleting them.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotate.models import Study
    from evaluation.models import EvaluationRun, Rater

    study = Study.objects.filter(name=name).first()
    if study is None:
        return
    pairs = (
        "SELECT ni.id FROM annotate_neuronimage ni JOIN annotate_neuron n ON n.id = ni.neuron_id"
        " WHERE n.study_id = %s"
    )
    neurons = "SELECT id FROM annotate_neuron WHERE study_id = %s"
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in (
            f"DELETE FROM evaluation_judgment WHERE neuron_image_id IN ({pairs})",
            "DELETE FROM annotate_submission WHERE study_id = %s",
            "DELETE FROM annotate_assignment WHERE study_id = %s",
            "DELETE FROM annotate_unit WHERE study_id = %s",
            f"DELETE FROM annotate_neuronimage WHERE neuron_id IN ({neurons})",
            "DELETE FROM annotate_neuron WHERE study_id = %s",
        ):
            cursor.execute(statement, [study.pk])
        EvaluationRun.objects.filter(study=study).delete()
        Rater.objects.filter(name__startswith=f"{name}:").delete()
        get_user_model().objects.filter(username__startswith=f"{name}-annotator-").delete()
        study.delete()


if __name__ == "__main__":
    main()
