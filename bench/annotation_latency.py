"""Server time of "next unit" and "submit" with 20,000 units and 50 annotators in the database.

Fills its own database with bulk SQL (20,000 units of 5 images, 50 annotators, 8,000 units
already judged three times, 100 gold units), serves the app with gunicorn on loopback, drives
it with locust (headless, one locust user per annotator: next, then submit) and prints p50 and
p95 of the server's own request times (gunicorn's access log) next to locust's client times.
The target is p95 under 50 ms; the ratio printed is p95 / 50 ms.

    .venv/bin/python bench/annotation_latency.py [--seconds 40] [--wait 4.0] [--workers 2]

The default think time (4 s per unit of 5 images) is the pace of the reference study: four
hours of human work for 19,200 pairs is 0.75 s a pair.
"""

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bench_django  # bench/ is on sys.path when a script runs
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DEBUG": "false",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nj_annot_bench",
    "CACHE_URL": "redis://127.0.0.1:6379/12",
    "CACHE_KEY_PREFIX": "annot-bench",
    "HF_HUB_OFFLINE": "1",
}
UNITS, K, ANNOTATORS, PREJUDGED, GOLD = 20_000, 5, 50, 8_000, 100
TARGET_MS = 50.0


def setup_django() -> None:
    bench_django.setup_django(DEFAULTS)


def fill() -> tuple[int, list[dict]]:
    """A fresh bench study; returns its id and one session (cookie + CSRF) per annotator."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotate.annotation.members import human_rater
    from annotate.annotation.units import do_sync_units
    from annotate.models import AnnotationSettings, ProbeImage, Study, StudyAnnotator

    name = f"bench: annotation latency {int(time.time())}"
    study = Study.objects.create(name=name, target_network="bench", probe_dataset="bench", k=K)
    AnnotationSettings.objects.create(study=study, gold_rate=0.05)
    tag = secrets.token_hex(4)
    images = ProbeImage.objects.bulk_create(
        ProbeImage(
            sha256=f"{tag}{i:056x}",
            file=f"bench/{tag}/{i}.png",
            width=64,
            height=64,
            format="PNG",
            size_bytes=1000,
        )
        for i in range(200)
    )
    User = get_user_model()
    users = [User(username=f"bench-{tag}-{i}") for i in range(ANNOTATORS)]
    for user in users:
        user.set_unusable_password()
    users = User.objects.bulk_create(users)
    StudyAnnotator.objects.bulk_create(StudyAnnotator(study=study, user=u) for u in users)
    for user in users:
        human_rater(user)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO annotate_neuron (study_id, layer, unit, label, role)"
            " SELECT %s, 'layer4', g, 'concept ' || g, 'real' FROM generate_series(0, %s) g",
            [study.pk, UNITS - 1],
        )
        cur.execute(
            "INSERT INTO annotate_neuronimage"
            " (neuron_id, image_id, rank, activation, is_distractor)"
            " SELECT n.id, (%s::bigint[])[((n.unit * 7 + r) %% 200) + 1], r, 1.0, false"
            " FROM annotate_neuron n, generate_series(1, %s) r WHERE n.study_id = %s",
            [[i.pk for i in images], K, study.pk],
        )
        do_sync_units(study)
        cur.execute(
            "UPDATE annotate_unit SET is_gold = true WHERE neuron_id IN (SELECT neuron_id"
            " FROM annotate_unit WHERE study_id = %s ORDER BY neuron_id DESC LIMIT %s)",
            [study.pk, GOLD],
        )
        cur.execute(
            "INSERT INTO annotate_goldanswer (neuron_image_id, answer) SELECT ni.id, 'yes'"
            " FROM annotate_neuronimage ni JOIN annotate_unit u ON u.neuron_id = ni.neuron_id"
            " WHERE u.study_id = %s AND u.is_gold",
            [study.pk],
        )
        prejudge(cur, study.pk, [u.pk for u in users])
        cur.execute("ANALYZE")
    return study.pk, [session_for(u) for u in users]


def prejudge(cur, study_id: int, user_ids: list[int]) -> None:
    """The first PREJUDGED units already judged by three annotators each, as on a busy day."""
    cur.execute(
        "INSERT INTO annotate_assignment (unit_id, study_id, annotator_id, state, is_gold,"
        " created, expires)"
        " SELECT u.neuron_id, u.study_id, (%s::bigint[])[((u.rn * 3 + s) %% %s) + 1], 'done',"
        " false, now(), now()"
        " FROM (SELECT neuron_id, study_id, row_number() OVER (ORDER BY neuron_id) AS rn"
        "       FROM annotate_unit WHERE study_id = %s AND NOT is_gold"
        "       ORDER BY neuron_id LIMIT %s) u, generate_series(0, 2) s",
        [user_ids, len(user_ids), study_id, PREJUDGED],
    )
    cur.execute(
        "INSERT INTO annotate_submission (client_id, study_id, annotator_id, neuron_id,"
        " order_shown, ms_spent, created)"
        " SELECT gen_random_uuid(), a.study_id, a.annotator_id, a.unit_id, ARRAY(SELECT id"
        " FROM annotate_neuronimage WHERE neuron_id = a.unit_id ORDER BY rank), 4000, now()"
        " FROM annotate_assignment a WHERE a.study_id = %s",
        [study_id],
    )
    cur.execute(
        "INSERT INTO evaluation_judgment (rater_id, neuron_image_id, verdict, extra, submission,"
        " created)"
        " SELECT r.id, ni.id, CASE WHEN random() < 0.7 THEN 'yes' ELSE 'no' END, '{}'::jsonb,"
        " s.client_id, now()"
        " FROM annotate_submission s JOIN evaluation_rater r ON r.user_id = s.annotator_id"
        " JOIN annotate_neuronimage ni ON ni.neuron_id = s.neuron_id WHERE s.study_id = %s",
        [study_id],
    )
    cur.execute(
        "UPDATE annotate_unit SET claimed = 3, done = 3 WHERE neuron_id IN"
        " (SELECT unit_id FROM annotate_assignment WHERE study_id = %s)",
        [study_id],
    )


def session_for(user) -> dict:
    """A logged-in session made directly, so the bench spends no time hashing passwords."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {"session": session.session_key, "csrf": secrets.token_hex(16)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(port: int, workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    """gunicorn on loopback, each worker warmed up; returns it and the warm-up log lines."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--access-logfile",
            str(log),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(D)s",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited (is port {port} taken?)")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        raise SystemExit("gunicorn did not start")
    # The first request in each worker imports every URL module; keep that out of the figures.
    with ThreadPoolExecutor(workers * 2) as pool:
        list(
            pool.map(
                lambda _: urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/accounts/login/", timeout=60
                ).read(),
                range(workers * 6),
            )
        )
    time.sleep(1)  # let gunicorn flush the warm-up lines
    return server, len(log.read_text().splitlines()) if log.exists() else 0


def load(port: int, args, plan: Path, out: Path) -> None:
    env = dict(os.environ, BENCH_PLAN=str(plan), BENCH_WAIT=str(args.wait))
    subprocess.run(
        [
            str(ROOT / ".venv/bin/locust"),
            "-f",
            str(ROOT / "bench/annotation_locustfile.py"),
            "--headless",
            "-u",
            str(ANNOTATORS),
            "-r",
            str(ANNOTATORS),
            "-t",
            f"{args.seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(out),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def server_times(log: Path, skip: int) -> dict[str, list[float]]:
    """Request times from gunicorn's access log, after the `skip` warm-up lines."""
    times: dict[str, list[float]] = {"next": [], "submit": [], "baseline": [], "errors": []}
    for line in log.read_text().splitlines()[skip:]:
        method, path, status, micros = line.split()
        kind = path.rstrip("/").rsplit("/", 1)[-1]
        kind = "baseline" if kind == "login" else kind
        if kind in times:
            times[kind if status == "200" else "errors"].append(int(micros) / 1000)
    return times


def client_times(prefix: Path) -> dict[str, tuple[str, str]]:
    with open(f"{prefix}_stats.csv") as f:
        return {row["Name"]: (row["50%"], row["95%"]) for row in csv.DictReader(f)}


def check_overlap(study_id: int) -> str:
    from annotate.models import Assignment, Study, Unit

    study = Study.objects.get(pk=study_id)
    over = Unit.objects.filter(study=study, is_gold=False, done__gt=study.overlap).count()
    open_leases = Assignment.objects.filter(study=study, state="open").count()
    return f"units over R={study.overlap}: {over} (leases still open: {open_leases})"


def report(times: dict[str, list[float]], client: dict) -> None:
    """p50/p95 per endpoint; ratios against the 50 ms target and against the baseline page."""
    print(
        f"{'endpoint':8} {'requests':>8} {'server p50':>11} {'server p95':>11} "
        f"{'p95/50ms':>8} {'p95/base':>8} {'client p50':>11} {'client p95':>11}"
    )
    base95 = np.percentile(times["baseline"], 95) if times["baseline"] else float("nan")
    for name in ("next", "submit", "baseline"):
        ms = np.array(times[name])
        p50, p95 = np.percentile(ms, [50, 95]) if len(ms) else (float("nan"),) * 2
        c50, c95 = client.get(name, ("-", "-"))
        print(
            f"{name:8} {len(ms):8d} {p50:9.1f}ms {p95:9.1f}ms {p95 / TARGET_MS:8.2f} "
            f"{p95 / base95:8.2f} {c50:>9}ms {c95:>9}ms"
        )
    print("baseline: GET /accounts/login/, same session and server; none of our queries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--wait", type=float, default=4.0, help="mean think time per unit, s")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    setup_django()
    started = time.perf_counter()
    study_id, sessions = fill()
    print(f"filled {UNITS} units, {ANNOTATORS} annotators in {time.perf_counter() - started:.1f} s")
    work = Path(tempfile.mkdtemp(prefix="nj-annot-bench-"))
    plan = work / "plan.json"
    plan.write_text(json.dumps({"study": study_id, "sessions": sessions}))
    args.port = args.port or free_port()
    server, warm_lines = serve(args.port, args.workers, work / "access.log")
    try:
        load(args.port, args, plan, work / "locust")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    times = server_times(work / "access.log", warm_lines)
    client = client_times(work / "locust")
    print(
        f"{args.seconds} s of load, {ANNOTATORS} annotators, think time ~{args.wait} s, "
        f"{args.workers} gunicorn workers, {os.cpu_count()} CPUs"
    )
    report(times, client)
    print(f"errors: {len(times['errors'])}; {check_overlap(study_id)}")


if __name__ == "__main__":
    main()
