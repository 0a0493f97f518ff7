"""Inserting many rows with PostgreSQL's COPY: about ten times faster than batched INSERTs,
which matters for 100,000 neurons and 500,000 (neuron, image) pairs."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models
from psycopg import sql


def copy_rows(model: type[models.Model], fields: list[str], rows: Iterable[tuple]) -> int:
    """COPY `rows` (values in the order of `fields`) into the model's table. Every NOT NULL
    column must be among `fields`: COPY does not apply Django's field defaults."""
    columns = [model._meta.get_field(name).column for name in fields]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
