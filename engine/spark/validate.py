"""Validating NDJSON files or a column of FHIR JSON on Spark; see :mod:`engine.spark`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from typing import Literal

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from engine.rules.sources import DefinitionsSource
from engine.spark import worker
from engine.spark.schema import ISSUE, ISSUES, RESOURCES
from engine.spark.shipping import Shipped, ship

__all__ = ["issues_of", "validate_column", "validate_ndjson"]

Per = Literal["issue", "resource"]
#: How rows reach the Python workers: Arrow batches (``mapInArrow``), pandas frames
#: (``mapInPandas``) or pickled rows (``RDD.mapPartitions``). ``tools/bench_spark.py``
#: measured the three within the noise of one another; Arrow is the default, as it
#: converts no batch to pandas.
Method = Literal["arrow", "pandas", "rows"]
PathLike = str | os.PathLike[str]

#: Partitions per core when ``partitions`` is not given: validation is CPU-bound and
#: resources differ in cost, so a few tasks per core even out the load.
_TASKS_PER_CORE = 4


def validate_ndjson(
    spark: SparkSession,
    paths: str | Sequence[str],
    *,
    definitions: PathLike | None = None,
    rules: PathLike | None = None,
    per: Per = "issue",
    partitions: int | None = None,
    method: Method = "arrow",
) -> DataFrame:
    """Validate the NDJSON files at ``paths`` (anything Spark reads: local paths, folders,
    globs, ``s3a://…``, ``.gz`` files…), one resource per line, blank lines skipped.

    Returns one row per issue (:data:`~engine.spark.schema.ISSUES`), or with
    ``per="resource"`` one row per resource (:data:`~engine.spark.schema.RESOURCES`),
    issues or not. Lazily, as Spark does: nothing is validated until an action runs.
    ``source`` is the file and ``line`` its line. A line that is not a well-formed
    resource is a resource with one ``fatal`` issue (code ``structure``), as in a local
    run; it never fails the job.

    ``definitions`` (a folder or ``.md`` file, read from its markdown) and ``rules`` (a
    local-rules file) are checked here, then shipped once to every executor; by default
    the executors use the bundled definitions of their installed package.
    ``partitions``: how many tasks share the validation (default: four per core of the
    application, ``4 × defaultParallelism``).

        issues = validate_ndjson(spark, "s3a://lake/export/*.ndjson.gz")
        issues.groupBy("key").count().orderBy("count", ascending=False).show()
    """
    shipped = ship(spark.sparkContext, _source(definitions, rules))
    lines = _numbered_lines(spark, paths)
    return _validated(lines, ("source", "line"), shipped, per, partitions, method)


def validate_column(
    df: DataFrame,
    column: str,
    *,
    source: str | None = None,
    definitions: PathLike | None = None,
    rules: PathLike | None = None,
    per: Per = "issue",
    partitions: int | None = None,
    method: Method = "arrow",
) -> DataFrame:
    """Validate ``column`` of ``df``: FHIR JSON (or XML) text, one resource per row
    (string or binary; null and blank values are skipped).

    Returns what :func:`validate_ndjson` returns, with ``line`` null and ``source`` the
    value of the column named by ``source`` (null without one): name a column that
    identifies the row to join the issues back to ``df``. The other arguments are
    :func:`validate_ndjson`'s.

        issues = validate_column(raw, "resource", source="file_name")
    """
    shipped = ship(df.sparkSession.sparkContext, _source(definitions, rules))
    label: Column = F.lit(None) if source is None else F.col(source)
    rows = df.select(
        label.cast("string").alias("source"),
        F.lit(None).cast("long").alias("line"),
        F.col(column).cast("binary").alias("data"),
    )
    return _validated(rows, ("data",), shipped, per, partitions, method)


def issues_of(resources: DataFrame) -> DataFrame:
    """One row per issue (:data:`~engine.spark.schema.ISSUES`) from one row per resource
    (:data:`~engine.spark.schema.RESOURCES`): what ``per="issue"`` returns."""
    # An issue's own line is its resource's for NDJSON: the flat rows keep the file line.
    own = [name for name in ISSUE.fieldNames() if name != "line"]
    where = [name for name in ISSUES.fieldNames() if name not in own]
    exploded = resources.select(*where, F.explode("issues").alias("_issue"))
    fields = (F.col(f"_issue.{name}").alias(name) for name in own)
    return exploded.select(*where, *fields)


def _source(definitions: PathLike | None, rules: PathLike | None) -> DefinitionsSource:
    return DefinitionsSource(
        None if definitions is None else os.fspath(definitions),
        None if rules is None else os.fspath(rules),
    )


def _numbered_lines(spark: SparkSession, paths: str | Sequence[str]) -> DataFrame:
    """Every line of the files (``source``, ``line``, ``data``), numbered from 1 in its file.

    Spark reads a large file in blocks, in parallel, and tells no line numbers: a line's
    number is the count of lines in the earlier blocks of its file plus its place in its
    own block. Both come from the scan itself: rows of one block are read in order, in
    one task, so their ``monotonically_increasing_id`` values are consecutive. Only the
    line breaks split lines (``lineSep``), as when the command line reads a file, and
    the bytes are taken as read (``cast("binary")``), so text that is not UTF-8 is
    reported as such instead of being altered.
    """
    text = spark.read.option("lineSep", "\n").text(paths if isinstance(paths, str) else list(paths))
    lines = text.select(
        F.col("_metadata.file_path").alias("source"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_row"),
        F.col("value").cast("binary").alias("data"),
    )
    blocks = lines.groupBy("source", "_block").agg(
        F.count(F.lit(1)).alias("_count"), F.min("_row").alias("_first")
    )
    earlier = (
        Window.partitionBy("source").orderBy("_block").rowsBetween(Window.unboundedPreceding, -1)
    )
    before = F.coalesce(F.sum("_count").over(earlier), F.lit(0))
    blocks = blocks.select("source", "_block", "_first", before.alias("_before"))
    numbered = lines.join(F.broadcast(blocks), ["source", "_block"])
    line = F.col("_before") + F.col("_row") - F.col("_first") + 1
    return numbered.select("source", line.alias("line"), "data")


def _validated(
    rows: DataFrame,
    keys: tuple[str, ...],
    shipped: Shipped,
    per: Per,
    partitions: int | None,
    method: Method,
) -> DataFrame:
    if per not in ("issue", "resource"):
        raise ValueError(f"per must be 'issue' or 'resource', not {per!r}")
    spark = rows.sparkSession
    count = partitions or _TASKS_PER_CORE * spark.sparkContext.defaultParallelism
    # Hash-partitioned on the row's identity: spreads a single large (or gzipped,
    # unsplittable) file over every core, with no sort (a round-robin repartition sorts
    # to stay deterministic on retry).
    spread = rows.repartition(count, *keys)
    if method == "arrow":
        resources = spread.mapInArrow(partial(worker.arrow_batches, shipped), RESOURCES)
    elif method == "pandas":
        resources = spread.mapInPandas(partial(worker.pandas_frames, shipped), RESOURCES)
    elif method == "rows":
        validated = spread.rdd.mapPartitions(partial(worker.plain_rows, shipped))
        resources = spark.createDataFrame(validated, RESOURCES, verifySchema=False)
    else:
        raise ValueError(f"method must be 'arrow', 'pandas' or 'rows', not {method!r}")
    return resources if per == "resource" else issues_of(resources)
