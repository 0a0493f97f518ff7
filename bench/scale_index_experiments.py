"""Try the two schema changes docs/scaling.md proposes on the bench database, measure the
queries they are for, and undo them: a `layer_position` column + index for the study page,
and a denormalised `study_id` + `(study_id, rater_id)` index on judgments for reports.

The columns are added, filled, indexed, explained with ANALYZE and dropped again, whatever
happens (`finally`), so the bench database keeps the app's schema. Prints each plan's
summary; the full plans go to var/bench/scale/index-experiments.md.

    .venv/bin/python bench/scale_index_experiments.py --study synthetic-100000
"""

from __future__ import annotations

import argparse
import time

import scale_env

OUT = scale_env.ROOT / "var" / "bench" / "scale" / "index-experiments.md"

LAYER_POSITION = [
    "ALTER TABLE annotate_neuron ADD COLUMN layer_position smallint",
    """UPDATE annotate_neuron n SET layer_position = s.pos - 1
       FROM annotate_study st, unnest(st.layers) WITH ORDINALITY AS s(layer, pos)
       WHERE st.id = n.study_id AND s.layer = n.layer""",
    "CREATE INDEX neuron_page_order ON annotate_neuron (study_id, role, layer_position, unit)",
    "VACUUM ANALYZE annotate_neuron",
]
LAYER_POSITION_UNDO = [
    "DROP INDEX IF EXISTS neuron_page_order",
    "ALTER TABLE annotate_neuron DROP COLUMN IF EXISTS layer_position",
]
PAGE = """SELECT id, layer, unit, label FROM annotate_neuron WHERE study_id = {study}
          AND role = 'real' ORDER BY layer_position, unit LIMIT 48 OFFSET {offset}"""

STUDY_ID = [
    "ALTER TABLE evaluation_judgment ADD COLUMN study_id bigint",
    """UPDATE evaluation_judgment j SET study_id = n.study_id
       FROM annotate_neuronimage ni JOIN annotate_neuron n ON n.id = ni.neuron_id
       WHERE ni.id = j.neuron_image_id""",
    "CREATE INDEX judgment_study_rater ON evaluation_judgment (study_id, rater_id)",
    "VACUUM ANALYZE evaluation_judgment",
]
STUDY_ID_UNDO = [
    "DROP INDEX IF EXISTS judgment_study_rater",
    "ALTER TABLE evaluation_judgment DROP COLUMN IF EXISTS study_id",
    "VACUUM FULL evaluation_judgment",  # give back the space the UPDATE doubled
]
JUDGMENT_QUERIES = {
    "fingerprint": "SELECT count(*), max(id), max(created) FROM evaluation_judgment"
    " WHERE study_id = {study}",
    "human spans": "SELECT rater_id, count(*), min(created), max(created) FROM evaluation_judgment"
    " WHERE study_id = {study} AND rater_id IN (SELECT id FROM evaluation_rater"
    " WHERE kind = 'human') GROUP BY rater_id",
    "long table": "SELECT rater_id, neuron_image_id, verdict, score FROM evaluation_judgment"
    " WHERE study_id = {study}",
}


def run_all(cursor, statements: list[str]) -> float:
    started = time.perf_counter()
    for statement in statements:
        cursor.execute(statement)
    return time.perf_counter() - started


def explain(cursor, title: str, sql: str, report: list[str]) -> None:
    cursor.execute("EXPLAIN (ANALYZE) " + sql)
    plan = [row[0] for row in cursor.fetchall()]
    print(f"  {title:<34} {plan[-1].strip()}   ({plan[0].strip()[:60]}...)")
    report += [f"## {title}", "```sql", sql, "```", "```", *plan, "```", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default="synthetic-100000")
    parser.add_argument("--skip-judgments", action="store_true", help="only the page index")
    args = parser.parse_args()
    scale_env.setup()
    from django.db import connection

    from annotate.models import Study

    study = Study.objects.get(name=args.study)
    pages = (study.neurons.count() - 1) // 48 + 1
    report = [f"# Index experiments on {args.study}\n"]
    with connection.cursor() as cursor:
        try:
            print(f"layer_position: added in {run_all(cursor, LAYER_POSITION):.1f} s")
            for page in (1, pages // 2, pages):
                sql = PAGE.format(study=study.pk, offset=(page - 1) * 48)
                explain(cursor, f"study page {page} of {pages}", sql, report)
        finally:
            run_all(cursor, LAYER_POSITION_UNDO)
        if not args.skip_judgments:
            try:
                print(f"judgment study_id: added in {run_all(cursor, STUDY_ID):.1f} s")
                for title, sql in JUDGMENT_QUERIES.items():
                    explain(cursor, title, sql.format(study=study.pk), report)
            finally:
                print(f"judgment study_id: removed in {run_all(cursor, STUDY_ID_UNDO):.1f} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(report))
    print(f"Plans: {OUT}")


if __name__ == "__main__":
    main()
