"""engine.spark on a real local session: the same verdicts as a local run, row for row.

The NDJSON is 2,100 official R5 examples in two files, one plain (read in several blocks)
and one gzipped, with malformed lines, blank lines and Windows line ends among them. The
local run is ``fhir-invariants validate --format json`` on the same text.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from engine.spark import ISSUES, RESOURCES, issues_of, validate_column, validate_ndjson
from engine.spark.shipping import checker
from tests.spark.conftest import (
    EXAMPLES,
    Export,
    Head,
    local_issue_rows,
    local_run,
    spark_issue_rows,
    where,
)


@pytest.fixture(scope="module")
def local(export: Export) -> list[dict[str, Any]]:
    status, resources = local_run("--jobs", "2", *export.local_paths)
    assert status == 1  # some official examples have errors, and the malformed lines
    return resources


@pytest.fixture(scope="module")
def validated(spark: SparkSession, export: Export) -> Any:
    resources = validate_ndjson(spark, export.spark_paths, per="resource").persist()
    # Validated once: both views below are read from the persisted rows.
    yield resources.collect(), issues_of(resources).collect()
    resources.unpersist()


def test_the_input_is_what_the_brief_asks(spark: SparkSession, export: Export) -> None:
    assert EXAMPLES >= 2000
    assert any(path.endswith(".ndjson.gz") for path in export.spark_paths)
    # The plain file is read in several blocks: line numbers cross block boundaries.
    plain = [path for path in export.spark_paths if path.endswith(".ndjson")]
    assert spark.read.text(plain).rdd.getNumPartitions() > 1


def test_issues_are_exactly_those_of_a_local_run(
    validated: Any, local: list[dict[str, Any]]
) -> None:
    _, issues = validated
    spark_rows = Counter(spark_issue_rows(issues))
    local_rows = Counter(local_issue_rows(local))
    assert sum(local_rows.values()) > 200
    assert spark_rows == local_rows


def test_one_row_per_resource_with_or_without_issues(
    validated: Any, local: list[dict[str, Any]]
) -> None:
    resources, _ = validated

    def local_row(resource: dict[str, Any]) -> tuple[Any, ...]:
        severities = Counter(issue["severity"] for issue in resource["issues"])
        counts = (severities[s] for s in ("fatal", "error", "warning", "information"))
        return (
            *where(resource["source"]), resource["resourceType"], resource["id"],
            resource["valid"], *counts,
            tuple(sorted(issue["message"] for issue in resource["issues"])),
            tuple((item["key"], item["reason"]) for item in resource["suppressed"]),
        )  # fmt: skip

    def spark_row(row: Any) -> tuple[Any, ...]:
        return (
            where(row["source"])[0], row["line"], row["resourceType"], row["id"], row["valid"],
            row["fatal"], row["error"], row["warning"], row["information"],
            tuple(sorted(issue["message"] for issue in row["issues"])),
            tuple((item["key"], item["reason"]) for item in row["suppressed"]),
        )  # fmt: skip

    assert len(resources) == len(local) > EXAMPLES
    assert sum(not row["issues"] for row in resources) > 1000  # clean resources are rows too
    assert sorted(map(spark_row, resources)) == sorted(map(local_row, local))


def test_malformed_lines_are_rows_with_a_fatal_issue(validated: Any, export: Export) -> None:
    _, issues = validated
    # Text that is not a resource is positioned by its line (and column) in the file, or
    # "(document)" where the JSON reader gives no position (duplicate property, NaN); JSON
    # that is not a resource ([1, 2, 3], {}) is a fatal issue on "(resource)".
    unreadable = [row for row in issues if row["location"].startswith(("(line ", "(document)"))]
    assert {(where(row["source"])[0], row["line"]) for row in unreadable} == export.malformed
    assert {(row["severity"], row["code"]) for row in unreadable} == {("fatal", "structure")}
    assert all(
        row["location"].startswith(f"(line {row['line']}")
        for row in unreadable
        if row["location"] != "(document)"
    )
    messages = " | ".join(sorted({row["message"] for row in unreadable}))
    assert "not UTF-8" in messages and "duplicate property 'id'" in messages


def test_the_default_is_one_row_per_issue(spark: SparkSession, head: Head) -> None:
    path, local = head.path, head.local
    issues = validate_ndjson(spark, path)
    assert issues.schema == ISSUES
    assert Counter(spark_issue_rows(issues.collect())) == Counter(local_issue_rows(local))
    assert validate_ndjson(spark, path, per="resource").schema == RESOURCES


def test_a_column_of_json_text(spark: SparkSession, head: Head) -> None:
    path, local = head.path, head.local
    by_line = {where(resource["source"])[1]: resource for resource in local}
    lines = Path(path).read_bytes().split(b"\n")
    rows = [(f"row-{number}", lines[number - 1].decode("utf-8", "replace")) for number in by_line]
    frame = spark.createDataFrame(rows, "name string, resource string")
    issues = validate_column(frame, "resource", source="name").collect()
    assert all(row["line"] is None for row in issues)
    # Text that is not JSON: one fatal issue, positioned in the value itself (its line 1).
    malformed = {
        f"row-{number}"
        for number, resource in by_line.items()
        if any(
            issue["location"].startswith(("(line", "(document)")) for issue in resource["issues"]
        )
    }
    assert malformed
    fatal = Counter(row["source"] for row in issues if row["source"] in malformed)
    assert fatal == Counter(malformed)
    assert all(
        row["severity"] == "fatal" and row["location"].startswith(("(line 1", "(document)"))
        for row in issues
        if row["source"] in malformed
    )
    got = Counter(
        (row["source"], row["severity"], row["code"], row["location"], row["message"])
        for row in issues
        if row["source"] not in malformed
    )
    want = Counter(
        (f"row-{number}", issue["severity"], issue["code"], issue["location"], issue["message"])
        for number, resource in by_line.items()
        if f"row-{number}" not in malformed
        for issue in resource["issues"]
    )
    assert got == want and len(want) > 10


def test_a_column_of_xml_and_null_values(spark: SparkSession) -> None:
    xml = (
        '<Basic xmlns="http://hl7.org/fhir"><id value="x1"/>'
        '<code><text value="from XML"/></code></Basic>'
    )
    frame = spark.createDataFrame(
        [("xml", xml), ("null", None), ("blank", "  "), ("bad", "<Basic")],
        "name string, resource string",
    )
    resources = validate_column(frame, "resource", source="name", per="resource").collect()
    by_name = {row["source"]: row for row in resources}
    assert sorted(by_name) == ["bad", "xml"]
    assert (by_name["xml"]["resourceType"], by_name["xml"]["id"]) == ("Basic", "x1")
    assert by_name["bad"]["fatal"] == 1


@pytest.mark.parametrize("method", ["pandas", "rows"])
def test_every_method_gives_the_same_rows(spark: SparkSession, head: Head, method: str) -> None:
    path = head.path
    arrow = validate_ndjson(spark, path, per="resource")
    other = validate_ndjson(spark, path, per="resource", method=method)  # type: ignore[arg-type]
    assert sorted(map(_hashable, other.collect())) == sorted(map(_hashable, arrow.collect()))


def test_bad_arguments_are_refused(spark: SparkSession, export: Export) -> None:
    with pytest.raises(ValueError, match="per must be"):
        validate_ndjson(spark, export.local_paths[0], per="file")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method must be"):
        validate_ndjson(spark, export.local_paths[0], method="udf")  # type: ignore[arg-type]


def test_one_checker_per_python_worker(spark: SparkSession, validated: Any) -> None:
    """Every Python worker that validated built its checker once and reused it for each
    of its tasks: the validations above ran 8 tasks each on 2 cores."""

    def probe(batches: Any) -> Any:
        import os

        info = checker.cache_info()
        for _ in batches:
            pass
        yield pa.RecordBatch.from_pydict(
            {"pid": [os.getpid()], "calls": [info.hits + info.misses], "built": [info.misses]}
        )

    workers = {
        row["pid"]: row
        for row in spark.range(0, 8, numPartitions=8)
        .mapInArrow(probe, "pid long, calls long, built long")
        .collect()
    }
    used = [row for row in workers.values() if row["calls"]]
    assert used, "the probe ran in no worker that validated"
    # Definitions used so far in this session: the bundled ones, and none other in this
    # module; the test of user definitions adds at most two more.
    assert all(row["built"] <= 3 for row in used)
    assert sum(row["calls"] for row in used) > sum(row["built"] for row in used)


def _hashable(row: Any) -> tuple[Any, ...]:
    value = row.asDict(recursive=True)
    value["issues"] = tuple(sorted(tuple(issue.values()) for issue in value["issues"]))
    value["suppressed"] = tuple(tuple(item.values()) for item in value["suppressed"])
    return tuple(value.values())
