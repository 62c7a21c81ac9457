"""``fhir-invariants validate --spark``: output files, summary and exit status.

Most tests run the command in this process, where it uses the shared test session as
it finds it (a notebook's session is used the same way); one runs the real command in
its own process, starting and stopping its own Spark.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from engine.cli import main
from engine.spark import ISSUES, RESOURCES
from tests.spark.conftest import Head, local_run, where

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["validate", *map(str, args)])
    return status, out.getvalue(), err.getvalue()


def local_total(*inputs: str | Path) -> str:
    _, out, _ = run(*inputs)
    return out.splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "out", "x.ndjson"], "--output is for --spark runs"),
        (["--spark", "local[2]", "x.ndjson"], "--spark needs --output DIR"),
        (["--spark", "--output", "o", "--format", "outcome", "x.ndjson"], "not --format outcome"),
        (["--spark", "--output", "o", "--jobs", "2", "x.ndjson"], "--jobs does not apply"),
        (["--spark", "--output", "o", "-"], "not standard input"),
        (["--spark", "x.ndjson", "--output", "o", "y.ndjson"], "'x.ndjson' is not a Spark master"),
    ],
)
def test_usage_errors_exit_2_before_spark_starts(args: list[str], message: str) -> None:
    status, out, err = run(*args)
    assert (status, out) == (2, "")
    assert err.startswith("error: ") and message in err


def test_invalid_definitions_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "defs"
    broken.mkdir()
    (broken / "Thing.md").write_text("---\ntype: nonsense\n", encoding="utf-8")
    status, _, err = run("--spark", "--output", tmp_path / "out", "--definitions", broken, "x")
    assert status == 2 and err.startswith("error: invalid definitions: ")


def test_results_summary_and_status_are_those_of_a_local_run(
    spark: SparkSession, head: Head, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    status, out, err = run("--spark", "local[2]", "--output", output, "--format", "json", head.path)
    local_status, _ = local_run(head.path)
    assert (status, err) == (local_status, "")
    lines = out.splitlines()
    assert lines[-1] == local_total(head.path)

    # One row per resource and one per issue, in Parquet.
    resources = spark.read.parquet(str(output / "resources"))
    issues = spark.read.parquet(str(output / "issues"))
    assert resources.schema.simpleString() == RESOURCES.simpleString()
    assert issues.schema.simpleString() == ISSUES.simpleString()
    assert resources.count() == len(head.local)
    assert issues.count() == sum(len(r["issues"]) for r in head.local)

    # --format json: the objects of a local --format json run, in file order.
    written = [
        json.loads(line)
        for part in sorted((output / "json").glob("part-*.json"))
        for line in part.read_text(encoding="utf-8").splitlines()
    ]

    def located(resource: dict[str, Any]) -> dict[str, Any]:
        return {**resource, "source": where(resource["source"])}

    assert list(map(located, written)) == list(map(located, head.local))

    # The counts by type and by constraint key add up to the local run's.
    by_type = Counter(r["resourceType"] or "(none)" for r in head.local)
    for name, count in by_type.items():
        (line,) = [x for x in lines if x.startswith(f"== type {name}: ")]
        assert line.split(": ", 1)[1].startswith(f"{count} resource")
    by_key = Counter(i["key"] for r in head.local for i in r["issues"] if i["key"])
    key_lines = [x for x in lines if x.startswith("== key ")]
    assert [x.split(":")[0].removeprefix("== key ") for x in key_lines] == sorted(
        by_key, key=lambda k: (-by_key[k], k)
    )
    for line in key_lines:
        key = line.split(":")[0].removeprefix("== key ")
        counted = sum(int(part.split()[0]) for part in line.split(": ", 1)[1].split(", "))
        assert counted == by_key[key]


def test_a_missing_path_or_existing_output_exits_2(
    spark: SparkSession, head: Head, tmp_path: Path
) -> None:
    status, out, err = run("--spark", "--output", tmp_path / "o1", tmp_path / "nothing.ndjson")
    assert (status, out) == (2, "")
    assert err.startswith("error: Spark: ") and "PATH_NOT_FOUND" in err
    (tmp_path / "o2" / "resources").mkdir(parents=True)
    status, _, err = run("--spark", "--output", tmp_path / "o2", head.path)
    assert status == 2 and err.startswith("error: Spark: ") and "already exists" in err


def test_the_command_starts_and_stops_its_own_spark(tmp_path: Path) -> None:
    data = tmp_path / "few.ndjson"
    data.write_bytes(
        b'{"resourceType": "Basic", "id": "b1", "code": {"text": "fine"}}\n'
        b'{"resourceType": "Basic", "id": "b2"}\n'
        b"not json\n"
    )
    command = [sys.executable, "-m", "engine", "validate", "--spark", "local[1]", "--output"]
    done = subprocess.run(
        [*command, str(tmp_path / "out"), str(data)],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env=_env(),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1] == local_total(data)
    assert "Traceback" not in done.stderr
    assert (tmp_path / "out" / "issues" / "_SUCCESS").is_file()


def _env() -> dict[str, Any]:
    # The command picks this interpreter for a local master by itself.
    return {k: v for k, v in os.environ.items() if k != "PYSPARK_PYTHON"}
