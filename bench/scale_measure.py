"""Measure a synthetic study (bench/synthetic_study.py): the study page, the annotation
next/submit endpoints, the full agreement report cold and cached, with EXPLAIN ANALYZE of
the slowest SELECTs each one runs.

Requests go through Django's test client in-process: the whole view, middleware and template
cost, but no network or gunicorn. Results: printed, and JSON + query plans in var/bench/scale/.

    .venv/bin/python bench/scale_measure.py --study synthetic-100000
    .venv/bin/python bench/scale_measure.py --study synthetic-2000 --only report
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import scale_env

OUT = scale_env.ROOT / "var" / "bench" / "scale"
SECTIONS = ("page", "annotation", "report")


def summary(ms: list[float]) -> dict:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
    }


def timed(call: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def slowest_selects(call: Callable[[], object], top: int = 3) -> list[dict]:
    """Run `call` once, then EXPLAIN ANALYZE the slowest statements it sent.

    Writes (an UPDATE, a WITH ... UPDATE) are explained too, inside a transaction that is
    rolled back, so explaining changes nothing.
    """
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    queries = [
        q
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "INSERT", "DELETE"))
    ]
    queries.sort(key=lambda q: float(q["time"]), reverse=True)
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        for query in queries[:top]:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plans.append(
                {
                    "ms": round(float(query["time"]) * 1000, 1),
                    "sql": query["sql"],
                    "plan": "\n".join(row[0] for row in cursor.fetchall()),
                }
            )
        transaction.set_rollback(True)
    return [{"queries": len(captured.captured_queries)}, *plans]


def staff_client(study):
    """A client signed in as a staff member of `study` (a viewer: pages and reports)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotate.models import StudyRole

    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True}
    )
    StudyRole.objects.get_or_create(study=study, user=user, defaults={"role": "viewer"})
    client = Client()
    client.force_login(user)
    return client


def check_ok(response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")


def measure_page(study, repeat: int) -> dict:
    client = staff_client(study)
    last_page = (study.neurons.count() - 1) // 48 + 1
    urls = {
        "first page": f"/studies/{study.pk}/",
        "last page": f"/studies/{study.pk}/?page={last_page}",
        "one layer, page 40": f"/studies/{study.pk}/?layer={study.layers[-1]}&page=40",
    }
    result = {}
    for name, url in urls.items():

        def get(url=url):
            check_ok(client.get(url))

        result[name] = summary(timed(get, repeat))
        result[name]["explain"] = slowest_selects(get)
    return result


def fresh_annotator(study):
    """A new annotator of `study`, logged in, with its own test client."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from annotate.annotation.members import human_rater
    from annotate.models import StudyAnnotator

    user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:10]}", password=None)
    StudyAnnotator.objects.create(study=study, user=user)
    human_rater(user)
    client = Client()
    client.force_login(user)
    return client


def remove_annotators(user_ids: list) -> None:
    """Take the bench annotators out again, their leases given back to the units, so that
    repeated runs do not add three raters each to the study's report."""
    from collections import Counter

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.db.models import F

    from annotate.models import Assignment, Unit

    with transaction.atomic():
        held = Assignment.objects.filter(annotator_id__in=user_ids, is_gold=False).exclude(
            state=Assignment.State.EXPIRED
        )
        for unit_id, n in Counter(held.values_list("unit_id", flat=True)).items():
            Unit.objects.filter(pk=unit_id).update(claimed=F("claimed") - n)
        get_user_model().objects.filter(pk__in=user_ids).delete()  # rater, judgments, leases


def post_json(client, url: str, body: dict) -> dict:
    response = client.post(url, json.dumps(body), content_type="application/json")
    check_ok(response)
    return response.json()


def measure_annotation(study, repeat: int) -> dict:
    """Annotators ask for the next unit and submit it, `repeat` times in all."""
    next_ms, submit_ms = [], []
    base = f"/annotate/studies/{study.pk}"
    clients = [fresh_annotator(study) for _ in range(3)]
    plans = {}
    for index in range(repeat):
        client = clients[index % len(clients)]
        started = time.perf_counter()
        units = post_json(client, f"{base}/next/", {"prefetch": 1})["units"]
        next_ms.append((time.perf_counter() - started) * 1000)
        unit = units[0]
        ids = [image["id"] for image in unit["images"]]
        body = {
            "client_id": str(uuid.uuid4()),
            "neuron": unit["neuron"],
            "answers": {str(i): "yes" if i % 2 else "no" for i in ids},
            "order_shown": ids,
            "ms_spent": 4000,
        }
        started = time.perf_counter()
        post_json(client, f"{base}/submit/", body)
        submit_ms.append((time.perf_counter() - started) * 1000)
    plans["next"] = slowest_selects(lambda: post_json(clients[0], f"{base}/next/", {"prefetch": 1}))
    remove_annotators([client.session["_auth_user_id"] for client in clients])
    return {
        "next": {**summary(next_ms[2:]), "explain": plans["next"]},
        "submit": summary(submit_ms[2:]),
    }


def measure_report(study, repeat: int) -> dict:
    from django.core.cache import cache

    from evaluation.reports import cache as reports
    from evaluation.reports.read import judgment_fingerprint, load_long_table

    request = reports.options_in_force(study)
    started = time.perf_counter()
    fingerprint = judgment_fingerprint(study)
    fingerprint_ms = (time.perf_counter() - started) * 1000
    cache.delete(reports.cache_key(study, request, fingerprint))
    started = time.perf_counter()
    table = load_long_table(study)
    load_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    reports.get_study_report(study, request)  # computes and fills the cache
    cold_ms = (time.perf_counter() - started) * 1000
    cached = summary(timed(lambda: reports.get_study_report(study, request), repeat, warmup=1))
    client = staff_client(study)
    url = f"/reports/studies/{study.pk}/report.json"

    def get():
        check_ok(client.get(url))

    def page():
        check_ok(client.get(f"/reports/studies/{study.pk}/"))

    return {
        "judgments": len(table),
        "load_long_table_ms": round(load_ms, 1),
        "fingerprint_ms": round(fingerprint_ms, 1),
        "cold_total_ms": round(cold_ms, 1),
        "cached_get_study_report": cached,
        "cached_report_json_http": summary(timed(get, repeat, warmup=1)),
        "cached_report_page_http": summary(timed(page, repeat, warmup=1)),
        "explain": slowest_selects(lambda: reports.get_study_report(study, request))
        + long_table_plans(study),
    }


def long_table_plans(study) -> list[dict]:
    """EXPLAIN ANALYZE of the cold report's reads (evaluation/reports/read_arrays), which run on
    connections of their own and so escape the captured queries."""
    from django.conf import settings
    from django.db import connection

    from evaluation.reports import read_arrays as arrays

    readers = max(1, settings.NEURONJUDGE_REPORT_READERS)
    with connection.cursor() as cursor:
        cursor.execute(arrays.RATERS_SQL, {"study": study.pk})
        raters = [row[0] for row in cursor.fetchall()]
    queries = [
        (arrays.RATERS_SQL, {"study": study.pk}),
        (arrays.PAIRS_SQL, {"study": study.pk}),
        (arrays.JUDGMENTS_SQL, {"study": study.pk, "raters": raters[::readers]}),
    ]
    plans = []
    with connection.cursor() as cursor:
        for sql, params in queries:
            started = time.perf_counter()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            ms = round((time.perf_counter() - started) * 1000, 1)
            plans.append({"ms": ms, "sql": " ".join(sql.split()), "plan": plan})
    return plans


MEASURES = {"page": measure_page, "annotation": measure_annotation, "report": measure_report}


def write_plans(study_name: str, results: dict) -> list[Path]:
    """The query plans of each section in one readable file per section."""
    paths = []
    for section, figures in results.items():
        lines = [f"# Query plans: {study_name}, {section}\n"]
        for name, value in figures.items():
            if isinstance(value, dict) and "explain" in value:
                lines += _plan_lines(name, value["explain"])
        if "explain" in figures:
            lines += _plan_lines(section, figures["explain"])
        path = OUT / f"{study_name}-plans-{section}.md"
        path.write_text("\n".join(lines))
        paths.append(path)
    return paths


def _plan_lines(title: str, explain: list[dict]) -> list[str]:
    lines = [f"## {title} ({explain[0]['queries']} queries)\n"]
    for plan in explain[1:]:
        lines += [f"{plan['ms']} ms:", "```sql", plan["sql"], "```", "```", plan["plan"], "```", ""]
    return lines


def strip_plans(results: dict) -> dict:
    if isinstance(results, dict):
        return {k: strip_plans(v) for k, v in results.items() if k != "explain"}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default="synthetic-100000")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    scale_env.setup()
    from django.urls import get_resolver

    from annotate.models import Study

    study = Study.objects.get(name=args.study)
    get_resolver().url_patterns  # noqa: B018
    gc.freeze()  # as gunicorn.conf.py does in every web worker once Django is loaded
    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    for section in args.only.split(","):
        print(f"{args.study}: {section} ...", flush=True)
        try:
            results[section] = MEASURES[section](study, args.repeat)
        except ImportError as exc:  # an area that has not landed yet
            results[section] = {"skipped": str(exc)}
        print(json.dumps(strip_plans(results[section]), indent=1), flush=True)
    plans = write_plans(args.study, results)
    results["load_average"] = os.getloadavg()  # 2-core machine shared with other jobs
    out = OUT / f"{args.study}.json"
    earlier = json.loads(out.read_text()) if out.exists() else {}  # keep other sections
    out.write_text(json.dumps(earlier | strip_plans(results), indent=1))
    print(f"Figures: {out}\nQuery plans: {[str(p) for p in plans]}")


if __name__ == "__main__":
    main()
