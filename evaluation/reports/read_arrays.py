"""A study's judgments and pairs read from PostgreSQL as binary arrays, for reports.

One row per rater holds each column as one binary array (array_send): a row per judgment,
as tuples or COPY messages, costs seconds in Python at 2 million judgments, and text
(string_agg) costs PostgreSQL seconds to format. The study's raters are split between
`NEURONJUDGE_REPORT_READERS` connections that share one snapshot (as pg_dump's parallel
jobs do), so PostgreSQL aggregates on several cores: PostgreSQL 15 cannot parallelise
array_agg by itself.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection

from evaluation.models import Verdict

log = logging.getLogger(__name__)

VERDICTS = list(Verdict.values)
_VERDICT_CODE = "CASE verdict {} END".format(
    " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(VERDICTS))
)
# Each reader takes some of the study's raters through the (study, rater) index: a rater's
# judgments were stored together (one run, one annotator), so its rows share heap pages.
JUDGMENTS_SQL = f"""
    SELECT rater_id,
           array_send(array_agg(neuron_image_id)),
           array_send(array_agg(({_VERDICT_CODE})::int2)),
           array_send(array_agg(coalesce(score, 'NaN')::float8))
    FROM evaluation_judgment
    WHERE study_id = %(study)s AND rater_id = ANY (%(raters)s)
    GROUP BY rater_id
"""
# The distinct raters of a study in a handful of index probes (a "skip scan"), where
# SELECT DISTINCT would read every index entry of the study.
RATERS_SQL = """
    WITH RECURSIVE r AS (
        (SELECT rater_id FROM evaluation_judgment WHERE study_id = %(study)s
         ORDER BY rater_id LIMIT 1)
        UNION ALL
        SELECT (SELECT j.rater_id FROM evaluation_judgment j
                WHERE j.study_id = %(study)s AND j.rater_id > r.rater_id
                ORDER BY j.rater_id LIMIT 1)
        FROM r WHERE r.rater_id IS NOT NULL
    )
    SELECT rater_id FROM r WHERE rater_id IS NOT NULL
"""
# The study's top-k pairs: distractors left out (they only measure annotators), and images
# sampled from the rest of the probe set (the whole-probe section reads those).
PAIRS_SQL = """
    SELECT array_send(coalesce(array_agg(ni.id), '{}')),
           array_send(coalesce(array_agg(ni.neuron_id), '{}'))
    FROM annotate_neuronimage ni JOIN annotate_neuron n ON n.id = ni.neuron_id
    WHERE n.study_id = %(study)s AND NOT ni.is_distractor AND NOT ni.is_sampled
"""


@dataclass(frozen=True)
class JudgmentArrays:
    rater_id: np.ndarray  # int64, one entry per judgment
    item: np.ndarray  # int64 pair (neuron image) id
    verdict: np.ndarray  # int8 index into VERDICTS
    score: np.ndarray  # float64, nan where none
    pair_ids: np.ndarray  # the study's non-distractor pairs, sorted
    pair_neurons: np.ndarray  # their neurons


def unpack_array(data: bytes, dtype: str) -> np.ndarray:
    """A one-dimensional PostgreSQL array in binary form (array_send) without NULLs.

    Header: ndim, has-nulls flag, element type, then length and lower bound per dimension;
    then each element as a 4-byte length and its big-endian bytes.
    """
    ndim = int.from_bytes(data[:4], "big")
    if ndim == 0:
        return np.empty(0, dtype=np.dtype(dtype).newbyteorder("="))
    if ndim != 1 or int.from_bytes(data[4:8], "big"):
        raise ValueError("expected a one-dimensional array without NULLs")
    element = np.dtype([("length", ">i4"), ("value", dtype)])
    values = np.frombuffer(data, dtype=element, offset=20)["value"]
    return values.astype(values.dtype.newbyteorder("="))


def _judgment_rows(conn: psycopg.Connection, study_id: int, raters: list[int]) -> list:
    # Django's cursors bind on the client and get results as text (bytea as hex, twice the
    # bytes); a plain psycopg cursor takes them in binary.
    with psycopg.Cursor(conn) as cursor:
        cursor.execute(JUDGMENTS_SQL, {"study": study_id, "raters": raters}, binary=True)
        return cursor.fetchall()


def _study_raters(conn: psycopg.Connection, study_id: int) -> list[int]:
    return [row[0] for row in conn.execute(RATERS_SQL, {"study": study_id})]


def _snapshot_connection(snapshot: str | None = None) -> psycopg.Connection:
    """A connection of our own, configured like Django's, in a read-only repeatable-read
    transaction: a new snapshot, or the one a leader exported."""
    conn = psycopg.connect(**connection.get_connection_params())
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        if snapshot is not None:  # the first statement of the transaction
            conn.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
    except BaseException:
        conn.close()
        raise
    return conn


def _judgments_in_snapshot(snapshot: str, study_id: int, raters: list[int]) -> list:
    with _snapshot_connection(snapshot) as conn:
        return _judgment_rows(conn, study_id, raters)


def _pairs_in_snapshot(snapshot: str, study_id: int) -> tuple[np.ndarray, np.ndarray]:
    with _snapshot_connection(snapshot) as conn:
        return _pairs(conn, study_id)


def read_study_arrays(study_id: int, readers: int | None = None) -> JudgmentArrays:
    """Inside a transaction (atomic block) everything is read on Django's connection, so
    the report sees that transaction's own writes; otherwise by `readers` connections that
    share one snapshot, each taking every `readers`-th rater."""
    connection.ensure_connection()
    readers = max(1, readers or settings.NEURONJUDGE_REPORT_READERS)
    if connection.in_atomic_block or readers == 1:
        return _read_on_django_connection(study_id)
    try:
        return _read_in_parallel(study_id, readers)
    except psycopg.OperationalError:  # e.g. max_connections reached: slower, not broken
        log.warning("parallel read of study %s failed; reading on one connection", study_id,
                    exc_info=True)  # fmt: skip
        return _read_on_django_connection(study_id)


def _read_on_django_connection(study_id: int) -> JudgmentArrays:
    conn = connection.connection
    raters = _study_raters(conn, study_id)
    return _arrays(_judgment_rows(conn, study_id, raters), *_pairs(conn, study_id))


def _read_in_parallel(study_id: int, readers: int) -> JudgmentArrays:
    with _snapshot_connection() as leader, ThreadPoolExecutor(readers) as pool:
        snapshot = leader.execute("SELECT pg_export_snapshot()").fetchone()[0]
        pairs = pool.submit(_pairs_in_snapshot, snapshot, study_id)
        raters = _study_raters(leader, study_id)
        shares = [raters[part::readers] for part in range(readers)]
        helpers = [
            pool.submit(_judgments_in_snapshot, snapshot, study_id, share) for share in shares[1:]
        ]
        rows = _judgment_rows(leader, study_id, shares[0])
        for helper in helpers:  # the leader's transaction stays open until they are done
            rows += helper.result()
        pair_ids, pair_neurons = pairs.result()
    return _arrays(rows, pair_ids, pair_neurons)


def _pairs(conn: psycopg.Connection, study_id: int) -> tuple[np.ndarray, np.ndarray]:
    with psycopg.Cursor(conn) as cursor:
        cursor.execute(PAIRS_SQL, {"study": study_id}, binary=True)
        return tuple(unpack_array(b, ">i8") for b in cursor.fetchone())


def _arrays(rows: list, pair_ids: np.ndarray, pair_neurons: np.ndarray) -> JudgmentArrays:
    columns: dict[str, list[np.ndarray]] = {"rater_id": [], "item": [], "verdict": [], "score": []}
    for rater_id, items, verdicts, scores in rows:
        columns["item"].append(unpack_array(items, ">i8"))
        columns["verdict"].append(unpack_array(verdicts, ">i2").astype(np.int8))
        columns["score"].append(unpack_array(scores, ">f8"))
        columns["rater_id"].append(np.full(len(columns["item"][-1]), rater_id, dtype=np.int64))
    empty = {"rater_id": np.int64, "item": np.int64, "verdict": np.int8, "score": np.float64}
    joined = {
        name: np.concatenate(parts) if parts else np.empty(0, dtype=empty[name])
        for name, parts in columns.items()
    }
    order = np.argsort(pair_ids)
    return JudgmentArrays(**joined, pair_ids=pair_ids[order], pair_neurons=pair_neurons[order])
