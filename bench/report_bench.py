"""Server time of the full agreement report: 19,200 pairs x 12 raters (230,400 judgments).

Builds its own study in bulk (3,840 neurons in 4 layers x 5 images; 3 annotators who each
judge every pair, 9 automatic raters with scores, 3 x 40 sanity probes per layer), then times:
- cold: one read of the long table from PostgreSQL plus every figure (pairwise at two levels
  with 500 bootstrap resamples, Fleiss, Krippendorff, Dawid-Skene, calibration, sanity),
- cached: the same request answered from Redis (one aggregate query for the cache key),
- baseline: crowd-kit's Dawid-Skene alone on the same human judgments, for scale.
The target is cold under 1 s; the ratio printed is cold / 1 s.

    .venv/bin/python bench/report_bench.py [--repeat 3] [--keep] [--reuse]
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import bench_django  # bench/ is on sys.path when a script runs
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DEBUG": "false",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nj_report_bench",
    "CACHE_URL": "redis://127.0.0.1:6379/12",
    "CACHE_KEY_PREFIX": "report-bench",
    "HF_HUB_OFFLINE": "1",
}
NEURONS, K, LAYERS, HUMANS, MODELS = 3840, 5, 4, 3, 9
STUDY = "bench-report-19200"
TARGET_S = 1.0


def setup_django() -> None:
    bench_django.setup_django(DEFAULTS)


def build_study():
    """A fresh study with judgments inserted by bulk_create; returns it."""
    from django.contrib.auth import get_user_model

    from annotate.models import Neuron, NeuronImage, ProbeImage, Study
    from evaluation.models import Judgment, Rater
    from evaluation.sanity import do_create_sanity_probes

    Study.objects.filter(name=STUDY).delete()
    Rater.objects.filter(name__startswith="bench-").delete()
    rng = np.random.default_rng(0)
    layers = [f"layer{i + 1}" for i in range(LAYERS)]
    study = Study.objects.create(
        name=STUDY, target_network="resnet50", probe_dataset="bench", layers=layers, k=K
    )
    words = [f"concept{i}" for i in range(500)]
    neurons = Neuron.objects.bulk_create(
        Neuron(study=study, layer=layers[u * LAYERS // NEURONS], unit=u, label=words[u % 500])
        for u in range(NEURONS)
    )
    images = []
    for i in range(NEURONS * K):
        sha = f"{i:064x}"
        images.append(
            ProbeImage(
                sha256=sha, file=f"bench/{sha}.png", width=1, height=1, format="PNG", size_bytes=1
            )  # fmt: skip
        )
    ProbeImage.objects.filter(sha256__in=[im.sha256 for im in images]).delete()
    images = ProbeImage.objects.bulk_create(images, batch_size=5000)
    pairs = NeuronImage.objects.bulk_create(
        (
            NeuronImage(neuron=n, image=images[i * K + r], rank=r + 1)
            for i, n in enumerate(neurons)
            for r in range(K)
        ),
        batch_size=5000,
    )
    do_create_sanity_probes(study, per_layer=40, seed=0)
    probe_pairs = list(NeuronImage.objects.filter(neuron__study=study).exclude(neuron__role="real"))
    truth = rng.random(len(pairs)) < 0.7
    User = get_user_model()
    raters = []
    for h in range(HUMANS):
        user, _ = User.objects.get_or_create(username=f"bench-annotator{h}")
        raters.append((Rater.objects.create(name=f"bench-human{h}", kind="human", user=user), 0.9))
    for m in range(MODELS):
        kind = ("openclip_es", "openclip_cp", "vqa_blip2")[m % 3]
        rater = Rater.objects.create(name=f"bench-{kind}-{m}", kind=kind, params={"m": m})
        raters.append((rater, 0.65 + 0.03 * m))
    for rater, accuracy in raters:
        says = np.where(rng.random(len(pairs)) < accuracy, truth, ~truth)
        score = np.where(says, 0.28, 0.22) + rng.normal(0, 0.03, len(pairs))
        rows = [
            Judgment(
                rater=rater,
                neuron_image=p,
                verdict="yes" if s else "no",
                score=None if rater.is_human else float(sc),
            )  # fmt: skip
            for p, s, sc in zip(pairs, says, score, strict=True)
        ]
        if not rater.is_human:
            rows += [
                Judgment(rater=rater, neuron_image=p, verdict="yes" if rng.random() < 0.3 else "no")
                for p in probe_pairs
            ]
        Judgment.objects.bulk_create(rows, batch_size=10000)
    return study


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall seconds and median CPU seconds of this process (the web server's share)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the study afterwards")
    parser.add_argument("--reuse", action="store_true", help="time a study kept by --keep")
    args = parser.parse_args()
    setup_django()
    from django.core.cache import cache
    from django.db import connection

    from annotate.models import Study
    from evaluation.models import Judgment
    from evaluation.reports.cache import get_study_report, options_in_force
    from evaluation.reports.compute import compute_study_report
    from evaluation.reports.read import load_long_table

    start = time.perf_counter()
    kept = Study.objects.filter(name=STUDY).first() if args.reuse else None
    study = kept or build_study()
    n = Judgment.objects.filter(neuron_image__neuron__study=study).count()
    print(f"built {STUDY}: {n:,} judgments in {time.perf_counter() - start:.1f} s")

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after a bulk load
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    load_s, load_cpu, table = timed(lambda: load_long_table(study), args.repeat)
    cold_s, cold_cpu, report = timed(
        lambda: compute_study_report(study, options_in_force(study)), args.repeat
    )
    cache.clear()
    get_study_report(study)
    cached_s, cached_cpu, _ = timed(lambda: get_study_report(study), args.repeat)
    real = report["pair"]["units"]
    print(f"long table read: {load_s * 1000:.0f} ms wall, {load_cpu * 1000:.0f} ms CPU "
          f"({len(table):,} rows)")  # fmt: skip
    print(f"cold report (read + all figures): {cold_s * 1000:.0f} ms wall, "
          f"{cold_cpu * 1000:.0f} ms CPU in Python, for {real:,} pairs x "
          f"{len(report['raters']) - 2} raters + 2 consensus")  # fmt: skip
    print(f"cached report: {cached_s * 1000:.1f} ms wall, {cached_cpu * 1000:.1f} ms CPU")
    print(f"ratio cold / {TARGET_S:.0f} s target: {cold_s / TARGET_S:.2f}")
    print(f"ratio cached / cold: {cached_s / cold_s:.4f}")
    baseline_s = crowdkit_baseline(table, report)
    print(f"baseline crowd-kit Dawid-Skene alone on the human judgments: {baseline_s * 1000:.0f} ms"
          f" (ratio cold report / baseline: {cold_s / baseline_s:.2f})")  # fmt: skip
    if not args.keep:
        Study.objects.filter(pk=study.pk).delete()


def crowdkit_baseline(table, report) -> float:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    from evaluation.models import Rater

    names = [r["name"] for r in report["raters"] if r["kind"] == "human"]
    humans = set(Rater.objects.filter(name__in=names).values_list("pk", flat=True))
    rows = table[table["rater_id"].isin(humans) & (table["role"] == "real")]
    frame = pd.DataFrame(
        {"task": rows["item"], "worker": rows["rater_id"], "label": rows["verdict"] == "yes"}
    )
    start = time.perf_counter()
    DawidSkene(n_iter=100).fit(frame)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
