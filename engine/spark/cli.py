"""``fhir-invariants validate --spark [MASTER] --output DIR PATHS…``: validate NDJSON on Spark.

    $ fhir-invariants validate --spark --output checked/ export/
    $ fhir-invariants validate --spark spark://head:7077 --output hdfs:///checked 'hdfs:///export/*.ndjson.gz'

Writes under ``DIR``: ``resources/`` (Parquet, one row per resource with its issues,
:data:`~engine.spark.schema.RESOURCES`), ``issues/`` (Parquet, one row per issue,
:data:`~engine.spark.schema.ISSUES`) and, with ``--format json``, ``json/`` (NDJSON part
files, one object per resource exactly as a local ``--format json`` run writes it, sorted
by file and line). Then prints a summary: a ``== type`` line per resource type, a
``== key`` line per constraint key, and the ``== Total`` line of a local run. The exit
status is a local run's: 0 all valid, 1 some resource invalid, 2 could not run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

from engine.io.inputs import STDIN
from engine.model import DefinitionError
from engine.rules.sources import DefinitionsSource

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

DEFAULT_MASTER = "local[*]"
#: What Spark takes as a master: local[N], local-cluster[…], yarn, and URLs (spark://…).
_MASTER = re.compile(r"local(\[[^\]]*\])?|local-cluster\[[^\]]*\]|yarn|[a-z][a-z0-9+.-]*://.*")
#: How the summary counts issues of each severity (engine.spark.schema.SEVERITIES).
_WORDS = {"fatal": "fatal issue", "error": "error", "warning": "warning", "information": "note"}


def validate_on_spark(args: argparse.Namespace) -> int:
    """Run ``validate`` with ``--spark``/``--output`` (the parsed arguments of
    :mod:`engine.cli.app`); returns the exit status."""
    problem = _usage_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    source = DefinitionsSource(
        None if args.definitions is None else str(args.definitions),
        None if args.rules is None else str(args.rules),
    )
    try:
        # Before Spark starts (seconds): a broken definition is reported at once.
        source.load()
    except DefinitionError as error:
        print(f"error: invalid definitions: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        import pyspark  # noqa: F401
    except ImportError:
        print("error: --spark needs pyspark: pip install 'fhir-invariants[spark]'", file=sys.stderr)
        return EXIT_USAGE
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        return _run(args, source)
    except (PySparkException, Py4JError) as error:
        first = str(error).strip().splitlines()
        print(f"error: Spark: {first[0] if first else type(error).__name__}", file=sys.stderr)
        return EXIT_USAGE


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.spark is None:
        return "--output is for --spark runs (a local run writes to standard output)"
    if not _MASTER.fullmatch(args.spark):
        return (
            f"{args.spark!r} is not a Spark master (local[*], local[N], spark://HOST:PORT, "
            "yarn, k8s://…); for the default local[*], put --spark after the inputs "
            "or before another option"
        )
    if args.output is None:
        return "--spark needs --output DIR: where the results are written (Parquet)"
    if args.format == "outcome":
        return "--spark writes Parquet, and NDJSON with --format json; not --format outcome"
    if args.jobs != 1:
        return "--jobs does not apply with --spark: the Spark master sets the parallelism"
    if STDIN in args.inputs:
        return "--spark reads files (any path Spark reads), not standard input"
    return None


def _run(args: argparse.Namespace, source: DefinitionsSource) -> int:
    from pyspark.sql import SparkSession

    from engine.spark.validate import issues_of, validate_ndjson

    existing = SparkSession.getActiveSession()
    spark = existing or _start(args.spark)
    try:
        output = str(args.output).rstrip("/")
        resources = validate_ndjson(
            spark, list(args.inputs), definitions=source.path, rules=source.extra_rules,
            per="resource",
        )  # fmt: skip
        # Validation runs once, into resources/; everything else is read back from there.
        resources.write.parquet(f"{output}/resources")
        written = spark.read.parquet(f"{output}/resources")
        issues_of(written).write.parquet(f"{output}/issues")
        if args.format == "json":
            _local_json(written).write.option("ignoreNullFields", "false").json(f"{output}/json")
        summary = _summary(written)
    finally:
        if existing is None:
            spark.stop()
    for line in summary.lines():
        print(line)
    return EXIT_INVALID if summary.invalid else EXIT_VALID


def _start(master: str) -> SparkSession:
    from pyspark.sql import SparkSession

    if master.startswith("local"):
        # Python workers of a local master run on this machine: the Python running this
        # command has the engine installed; a cluster's executors use their own.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder: Any = SparkSession.builder
    spark: SparkSession = (
        builder.master(master)
        .appName("fhir-invariants validate")
        .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _local_json(resources: DataFrame) -> DataFrame:
    """The objects a local ``--format json`` run writes: ``source`` as ``file:line``."""
    from pyspark.sql import functions as F

    return resources.orderBy("source", "line").select(
        F.concat_ws(":", "source", F.col("line").cast("string")).alias("source"),
        "resourceType",
        "id",
        "valid",
        "issues",
        "suppressed",
    )


@dataclass(frozen=True)
class _Tally:
    resources: int
    invalid: int
    fatal: int
    error: int
    warning: int
    information: int

    def __str__(self) -> str:
        # The wording of engine.io.formats' summary lines, word for word.
        return (
            f"{_plural(self.resources, 'resource')}, {self.resources - self.invalid} valid,"
            f" {self.invalid} invalid; {_plural(self.fatal + self.error, 'error')},"
            f" {_plural(self.warning, 'warning')}, {_plural(self.information, 'note')}"
        )


@dataclass(frozen=True)
class _Summary:
    files: int
    total: _Tally
    by_type: list[tuple[str, _Tally]]
    #: (key, count per severity), most frequent key first.
    by_key: list[tuple[str, dict[str, int]]]

    @property
    def invalid(self) -> bool:
        return self.total.invalid > 0

    def lines(self) -> list[str]:
        lines = [f"== type {name}: {tally}" for name, tally in self.by_type]
        for key, counts in self.by_key:
            parts = ", ".join(
                _plural(counts[severity], word)
                for severity, word in _WORDS.items()
                if counts.get(severity)
            )
            lines.append(f"== key {key}: {parts}")
        lines.append(f"== Total: {_plural(self.files, 'file')}, {self.total}")
        return lines


def _summary(resources: DataFrame) -> _Summary:
    from pyspark.sql import functions as F

    from engine.spark.validate import issues_of

    tally = [
        F.count(F.lit(1)).alias("resources"),
        F.sum((~F.col("valid")).cast("int")).alias("invalid"),
        *(F.sum(severity).alias(severity) for severity in _WORDS),
    ]
    # Two small jobs on the written Parquet: per type (the files each type came from,
    # for the total), and per constraint key.
    by_type = resources.groupBy("resourceType").agg(*tally, F.collect_set("source").alias("files"))
    types = by_type.collect()
    keys = issues_of(resources).where(F.col("key").isNotNull()).groupBy("key", "severity").count()
    by_key: dict[str, dict[str, int]] = {}
    for row in keys.collect():
        by_key.setdefault(row["key"], {})[row["severity"]] = row["count"]
    tallies = [_tally_of(row) for row in types]
    sums = [sum(column) for column in zip(*(astuple(t) for t in tallies), strict=True)]
    return _Summary(
        files=len({source for row in types for source in row["files"]}),
        total=_Tally(*sums) if sums else _Tally(0, 0, 0, 0, 0, 0),
        by_type=sorted(
            (
                (row["resourceType"] or "(none)", tally)
                for row, tally in zip(types, tallies, strict=True)
            ),
            key=lambda item: (item[0] == "(none)", item[0]),
        ),
        by_key=sorted(by_key.items(), key=lambda item: (-sum(item[1].values()), item[0])),
    )


def _tally_of(row: Any) -> _Tally:
    return _Tally(*(int(row[name] or 0) for name in ("resources", "invalid", *_WORDS)))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
