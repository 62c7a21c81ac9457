"""The executor side: what Spark runs in its Python workers, one function per way of
getting rows there (Arrow batches, pandas frames, plain rows).

Each function receives the rows of one partition: ``source`` (a file, or a label),
``line`` (the file line, or null for a column value) and ``data`` (the resource's bytes),
and returns one row per resource in :data:`engine.spark.schema.RESOURCES` form. The work
is :class:`engine.io.batch.Checker`'s, exactly as in a local run: an NDJSON line is read
as :mod:`engine.io.inputs` reads it, malformed text becomes a ``fatal`` issue, and no
input row can fail the task.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from engine.io.inputs import RawResource
from engine.spark.schema import ISSUE, RESOURCES, SEVERITIES
from engine.spark.shipping import Shipped, checker
from engine.validation.report import Report

#: Resources per output batch: bounds a worker's memory whatever Spark's input batches.
OUTPUT_BATCH = 1000

Row = tuple[str | None, int | None, bytes | bytearray | None]


def resources(shipped: Shipped, rows: Iterable[Row]) -> Iterator[dict[str, Any]]:
    """The :data:`RESOURCES` row of each resource among ``rows`` (blank ones skipped)."""
    check = checker(shipped)
    for source, line, data in rows:
        raw = _raw(source, line, data)
        if raw is not None:
            yield _resource_row(source, line, check(raw).report)


def arrow_batches(shipped: Shipped, batches: Iterable[Any]) -> Iterator[Any]:
    """For ``DataFrame.mapInArrow``: pyarrow record batches in and out."""
    import pyarrow as pa

    schema = _arrow_schema()
    for batch in batches:
        columns = batch.to_pydict()
        rows = zip(columns["source"], columns["line"], columns["data"], strict=True)
        for chunk in _chunks(resources(shipped, rows)):
            yield pa.RecordBatch.from_pylist(chunk, schema=schema)


def pandas_frames(shipped: Shipped, frames: Iterable[Any]) -> Iterator[Any]:
    """For ``DataFrame.mapInPandas``: pandas data frames in and out."""
    import pandas as pd

    names = RESOURCES.fieldNames()
    for frame in frames:
        # A column with nulls comes as floats (NaN for null): lines back to int or None.
        lines = [None if line != line or line is None else int(line) for line in frame["line"]]
        rows = zip(frame["source"], lines, frame["data"], strict=True)
        for chunk in _chunks(resources(shipped, rows)):
            yield pd.DataFrame(chunk, columns=names)


def plain_rows(shipped: Shipped, rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """For ``RDD.mapPartitions``: ``Row`` objects in, tuples in :data:`RESOURCES` order out."""
    names = RESOURCES.fieldNames()
    values = ((row["source"], row["line"], row["data"]) for row in rows)
    for resource in resources(shipped, values):
        yield tuple(resource[name] for name in names)


def _raw(
    source: str | None, line: int | None, data: bytes | bytearray | None
) -> RawResource | None:
    if data is None or not data.strip():
        return None
    data = bytes(data)
    if line is not None:
        # An NDJSON line, exactly as engine.io.inputs reads one: without its line break,
        # so that an error at the end of the line stays on it.
        return RawResource(f"{source}:{line}", source or "", data.rstrip(b"\r\n"), "json", line)
    # A column value: one JSON or XML resource, told apart by its first character, as
    # standard input is.
    name = source if source is not None else "(column)"
    xml = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
    return RawResource(name, name, data, "xml" if xml else "json")


def _resource_row(source: str | None, line: int | None, report: Report) -> dict[str, Any]:
    counts: Counter[str] = Counter(issue.severity for issue in report.issues)
    return {
        "source": source,
        "line": line,
        "resourceType": report.resource_type,
        "id": report.resource_id,
        "valid": report.valid,
        **{severity: counts[severity] for severity in SEVERITIES},
        "issues": [issue.to_dict() for issue in report.sorted_issues()],
        "suppressed": [{"key": key, "reason": reason} for key, reason in report.suppressed],
    }


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= OUTPUT_BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _arrow_schema() -> Any:
    import pyarrow as pa

    text = pa.string()
    kinds = {"line": pa.int32(), "column": pa.int32()}
    issue = pa.struct([(field.name, kinds.get(field.name, text)) for field in ISSUE.fields])
    return pa.schema(
        [
            ("source", text),
            ("line", pa.int64()),
            ("resourceType", text),
            ("id", text),
            ("valid", pa.bool_()),
            *((severity, pa.int32()) for severity in SEVERITIES),
            ("issues", pa.list_(issue)),
            ("suppressed", pa.list_(pa.struct([("key", text), ("reason", text)]))),
        ]
    )
