"""50 annotators hammering the REST API at once: is any judgment lost or doubled?

Fills its own database (a study of --units units x k images, --annotators annotators with
API tokens), serves the app with gunicorn on loopback and runs one thread per annotator,
each with its own HTTP connection, for --seconds: ask for the next unit, submit answers
with a fresh client id and, for a share of submissions, send the same submission again (a
client retrying after a lost response). Then it counts in PostgreSQL:

  lost     acknowledged submissions whose judgments are not all stored
  doubled  (rater, pair) with more than one judgment, submissions stored twice, or units
           whose done counter disagrees with their submissions
  over-R   units judged by more annotators than the study's overlap

and prints p50/p95/p99 latency of next and submit as the client saw them.

    .venv/bin/python bench/annotator_load.py [--seconds 20] [--annotators 50] [--workers 3]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import bench_django  # bench/ is on sys.path when a script runs
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DEBUG": "false",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nj_load_bench",
    "CACHE_URL": "redis://127.0.0.1:6379/12",
    "CACHE_KEY_PREFIX": "load-bench",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/8",
    "HF_HUB_OFFLINE": "1",
}


def setup_django() -> None:
    bench_django.setup_django(DEFAULTS)


def fill(units: int, k: int, annotators: int, overlap: int) -> tuple[int, list[str]]:
    """A fresh study and its annotators; returns the study id and one token per annotator."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotate.annotation.units import do_sync_units
    from annotate.images import do_store_image
    from annotate.models import AnnotationSettings, Neuron, NeuronImage, Study, StudyAnnotator

    Study.objects.filter(name="load bench").delete()
    study = Study.objects.create(
        name="load bench", target_network="resnet50", probe_dataset="generated", k=k,
        overlap=overlap, layers=["layer1"],
    )  # fmt: skip
    AnnotationSettings.objects.update_or_create(
        study=study, defaults={"gold_rate": 0.0, "shuffle_images": True}
    )
    images = [do_store_image(tiny_png(i)) for i in range(k * 4)]
    neurons = Neuron.objects.bulk_create(
        Neuron(study=study, layer="layer1", unit=u, label=f"concept {u % 97}") for u in range(units)
    )
    NeuronImage.objects.bulk_create(
        NeuronImage(neuron=n, image=images[(n.unit + r) % len(images)], rank=r + 1)
        for n in neurons
        for r in range(k)
    )
    do_sync_units(study)
    User = get_user_model()
    User.objects.filter(username__startswith="load-").delete()
    users = User.objects.bulk_create(User(username=f"load-{i:03d}") for i in range(annotators))
    StudyAnnotator.objects.bulk_create(StudyAnnotator(study=study, user=u) for u in users)
    return study.pk, [Token.objects.create(user=u).key for u in users]


def tiny_png(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (seed * 37 % 256, seed * 91 % 256, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
            "-w", str(workers), "-k", "gthread", "--threads", "8", "--log-level", "warning",
        ],
        cwd=ROOT, env=dict(os.environ), start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("gunicorn did not answer within 60 s")


class Annotator(threading.Thread):
    """One annotator: next, submit, sometimes submit the same thing again, until stopped."""

    def __init__(self, base: str, study_id: int, token: str, seconds: float, resend: float):
        super().__init__(daemon=True)
        self.client = httpx.Client(
            base_url=base, headers={"Authorization": f"Token {token}"}, timeout=30
        )
        self.study_id, self.seconds, self.resend = study_id, seconds, resend
        self.latency: dict[str, list[float]] = {"next": [], "submit": []}
        self.acknowledged: dict[str, int] = {}  # client id -> images answered
        self.statuses: Counter = Counter()
        self.random = random.Random(token)

    def call(self, name: str, path: str, body: dict) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = self.client.post(path, json=body)
        except httpx.HTTPError as exc:
            self.statuses[f"{name}:{type(exc).__name__}"] += 1
            return None
        self.latency[name].append((time.perf_counter() - started) * 1000)
        self.statuses[f"{name}:{response.status_code}"] += 1
        return response

    def run(self) -> None:
        prefix = f"/api/annotate/{self.study_id}"
        stop = time.perf_counter() + self.seconds
        while time.perf_counter() < stop:
            response = self.call("next", f"{prefix}/next/", {"prefetch": 0})
            if response is None or response.status_code != 200:
                continue
            units = response.json()["units"]
            if not units:
                break  # nothing left for this annotator
            unit = units[0]
            ids = [image["id"] for image in unit["images"]]
            body = {
                "client_id": str(uuid.uuid4()),
                "neuron": unit["neuron"],
                "answers": {str(i): self.random.choice(["yes", "no"]) for i in ids},
                "order_shown": ids,
                "ms_spent": self.random.randint(500, 5000),
            }
            for _ in range(2 if self.random.random() < self.resend else 1):
                stored = self.call("submit", f"{prefix}/submit/", body)
                if stored is not None and stored.status_code == 200:
                    self.acknowledged[body["client_id"]] = len(ids)


def audit(study_id: int, acknowledged: dict[str, int]) -> dict[str, int]:
    """Count in PostgreSQL what the clients were told was stored."""
    from django.db import connection

    from annotate.models import Submission, Unit
    from evaluation.models import Judgment

    judgments = Judgment.objects.filter(neuron_image__neuron__study_id=study_id)
    stored = Counter(
        str(s) for s in judgments.values_list("submission", flat=True) if s is not None
    )
    lost = sum(1 for cid, n in acknowledged.items() if stored.get(cid, 0) != n)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM (SELECT 1 FROM evaluation_judgment j
               JOIN annotate_neuronimage ni ON ni.id = j.neuron_image_id
               JOIN annotate_neuron n ON n.id = ni.neuron_id WHERE n.study_id = %s
               GROUP BY j.rater_id, j.neuron_image_id HAVING count(*) > 1) d""",
            [study_id],
        )
        doubled_pairs = cursor.fetchone()[0]
    submissions = Submission.objects.filter(study_id=study_id)
    per_unit = Counter(submissions.values_list("neuron_id", flat=True))
    units = Unit.objects.filter(study_id=study_id)
    counter_off = sum(1 for pk, done in units.values_list("pk", "done") if done != per_unit[pk])
    overlap = units.first().study.overlap
    return {
        "acknowledged submissions": len(acknowledged),
        "stored submissions": submissions.count(),
        "stored judgments": judgments.count(),
        "expected judgments": sum(acknowledged.values()),
        "lost (acknowledged, not stored)": lost,
        "doubled (rater, pair)": doubled_pairs,
        "stored but never acknowledged": len(set(stored) - set(acknowledged)),
        "unit counters off": counter_off,
        "units over overlap R": sum(1 for n in per_unit.values() if n > overlap),
    }


def percentiles(values: list[float]) -> str:
    if not values:
        return "no requests"
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return f"n={len(values):6d}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--resend", type=float, default=0.1, help="share of submits sent twice")
    args = parser.parse_args()

    setup_django()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    started = time.perf_counter()
    study_id, tokens = fill(args.units, args.k, args.annotators, args.overlap)
    print(f"filled {args.units:,} units x {args.k} images, {args.annotators} annotators "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    port = free_port()
    server = start_server(port, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        threads = [Annotator(base, study_id, t, args.seconds, args.resend) for t in tokens]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    acknowledged = {cid: n for t in threads for cid, n in t.acknowledged.items()}
    statuses = sum((t.statuses for t in threads), Counter())
    cores = os.cpu_count()
    print(f"\n{args.annotators} annotators for {wall:.1f} s against gunicorn "
          f"({args.workers} workers x 8 threads) on loopback; {cores} CPU cores")  # fmt: skip
    for name in ("next", "submit"):
        print(f"  {name:6s} {percentiles([v for t in threads for v in t.latency[name]])}")
    print(f"  responses: {dict(sorted(statuses.items()))}")
    print(f"  submissions acknowledged per second: {len(acknowledged) / wall:.1f}")
    counts = audit(study_id, acknowledged)
    print("\nPostgreSQL audit:")
    for name, value in counts.items():
        print(f"  {name:34s} {value:,}")
    bad = (
        counts["lost (acknowledged, not stored)"]
        + counts["doubled (rater, pair)"]
        + counts["unit counters off"]
        + counts["units over overlap R"]
        + (counts["stored judgments"] != counts["expected judgments"])
    )
    print("\nRESULT:", "zero lost, zero doubled" if not bad else "PROBLEMS FOUND")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
