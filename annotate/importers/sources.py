"""Reading import files: a path, bytes or an uploaded file, decoded as UTF-8, parsed as
CSV or JSON Lines into rows of the columns the importer asks for."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.conf import settings

from annotate.importers.errors import Problems, fail

Source = str | os.PathLike | bytes | IO[bytes]


def max_file_bytes() -> int:
    return settings.NEURONJUDGE_MAX_IMPORT_FILE_BYTES


def source_name(source: Source, default: str) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return Path(getattr(source, "name", None) or default).name


def read_bytes(source: Source, name: str) -> bytes:
    """The whole file, refused before reading when it is over the import size cap."""
    limit = max_file_bytes()
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise fail(name, f"file not found: {path}")
        if path.stat().st_size > limit:
            raise fail(
                name, f"file is {path.stat().st_size:,} bytes, over the {limit:,}-byte limit"
            )
        data = path.read_bytes()
    else:
        size = getattr(source, "size", None)
        if size is not None and size > limit:
            raise fail(name, f"file is {size:,} bytes, over the {limit:,}-byte limit")
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(limit + 1)
    if len(data) > limit:
        raise fail(name, f"file is over the {limit:,}-byte limit")
    return data


def read_text(source: Source, name: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); other encodings are refused by line."""
    data = read_bytes(source, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise fail(name, "not UTF-8 text; save the file as UTF-8", line) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise fail(name, "contains a NUL byte: is this a binary file?", line)
    return text


def is_jsonl(name: str, text: str) -> bool:
    if name.lower().endswith((".jsonl", ".ndjson", ".json")):
        return True
    return text.lstrip()[:1] == "{"


Row = tuple[int, tuple]


def iter_rows(
    text: str, name: str, required: list[str], optional: list[str], problems: Problems
) -> Iterator[Row]:
    """(line, values) for each row, values in the order `required + optional` (None when an
    optional column is absent). A missing required column raises at once."""
    if is_jsonl(name, text):
        yield from _jsonl_rows(text, name, required, optional, problems)
    else:
        yield from _csv_rows(text, name, required, optional, problems)


def _csv_rows(text, name, required, optional, problems) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise fail(name, f"malformed CSV header: {exc}", 1) from None
    if not header:
        raise fail(name, "file is empty: expected a header line", 1)
    columns = [c.strip().lower() for c in header]
    missing = [c for c in required if c not in columns]
    if missing:
        raise fail(
            name,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(header has: {', '.join(columns)})",
            1,
        )
    index = [columns.index(c) if c in columns else None for c in required + optional]
    width = len(columns)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.add(name, reader.line_num, f"malformed CSV: {exc}")
            return
        if not fields:
            continue
        if len(fields) != width:
            problems.add(name, reader.line_num, f"expected {width} fields, found {len(fields)}")
            continue
        yield reader.line_num, tuple(None if i is None else fields[i] for i in index)


def _jsonl_rows(text, name, required, optional, problems) -> Iterator[Row]:
    wanted = required + optional
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(name, line_no, f"not valid JSON: {exc.msg}")
            continue
        if not isinstance(record, dict):
            problems.add(name, line_no, "each line must be a JSON object")
            continue
        record = {str(k).strip().lower(): v for k, v in record.items()}
        missing = [c for c in required if c not in record]
        if missing:
            problems.add(name, line_no, f"missing field {', '.join(missing)}")
            continue
        yield line_no, tuple(record.get(c) for c in wanted)


def parse_int(value, column: str) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{column} must be a whole number")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"{column} must be a whole number, not {str(value)[:40]!r}") from None


def parse_float(value, column: str) -> float | None:
    """A finite float; blank or null means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"{column} must be a number, not {str(value)[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{column} must be a finite number")
    return number
