"""A real local Spark session (``local[2]``), shared by every Spark test, and the data
they compare with a local run of the command line.

The session reads files in small blocks (``spark.sql.files.maxPartitionBytes``), so that
a plain NDJSON file is split across tasks as a large file is on a cluster, and line
numbers must survive the split.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from engine.cli import main
from tools import fhir_packages

#: Official examples in the comparison: the smallest ones, so that both runs stay quick.
EXAMPLES = 2100

#: Lines of the smaller input.
HEAD = 200

#: Lines that are not well-formed resources: each must come back as one fatal issue.
MALFORMED = [
    b'{"resourceType": "Patient", "id": "cut-short"',
    b"this is not JSON",
    b'\xff\xfe{"resourceType": "Patient"}',
    b'{"resourceType": "Patient", "id": "a", "id": "b"}',
    b'{"resourceType": "Observation", "valueDecimal": NaN}',
]
#: Lines that are not resources but are read as a local run reads them.
ODD = [
    b"",
    b"   \t",
    b"[1, 2, 3]",
    b"{}",
    b'\xef\xbb\xbf{"resourceType": "Basic", "id": "bom", "code": {"text": "with a BOM"}}',
]


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    with pytest.MonkeyPatch.context() as patch:
        # Python workers of a local master: this interpreter, which has the engine.
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        session = (
            SparkSession.builder.master("local[2]")
            .appName("fhir-invariants tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.files.maxPartitionBytes", "512k")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


@dataclass(frozen=True)
class Export:
    """NDJSON files for Spark (one plain, one gzipped) and the same text, uncompressed,
    for the local run; ``malformed`` maps (file name, line) of each malformed line."""

    spark_paths: list[str]
    local_paths: list[str]
    malformed: set[tuple[str, int]]


def ndjson_lines() -> list[bytes]:
    """The smallest official R5 examples, one per line."""
    smallest = sorted(fhir_packages.examples(), key=lambda example: len(example[1]))
    return [
        json.dumps(json.loads(data), ensure_ascii=False).encode("utf-8")
        for _, data in smallest[:EXAMPLES]
    ]


def write_export(folder: Path, lines: list[bytes], names: tuple[str, str]) -> Export:
    """Half the lines in each file, with the malformed and odd lines spread among them
    (and Windows line ends on some), the second file gzipped for Spark."""
    (folder / "spark").mkdir()
    (folder / "local").mkdir()
    half = len(lines) // 2
    spark_paths, local_paths, malformed = [], [], set()
    for name, part in zip(names, (lines[:half], lines[half:]), strict=True):
        text = bytearray()
        number = 0
        for index, line in enumerate(part):
            extra = []
            if index % 97 == 13:
                extra.append(MALFORMED[(index // 97) % len(MALFORMED)])
            if index % 89 == 7:
                extra.append(ODD[(index // 89) % len(ODD)])
            for item in [line, *extra]:
                number += 1
                if item in MALFORMED:
                    malformed.add((name, number))
                text += item + (b"\r\n" if index % 10 == 3 else b"\n")
        local = folder / "local" / name
        local.write_bytes(bytes(text))
        local_paths.append(str(local))
        target = folder / "spark" / name
        if name == names[1]:
            target = target.with_name(name + ".gz")
            target.write_bytes(gzip.compress(bytes(text)))
        else:
            target.write_bytes(bytes(text))
        spark_paths.append(str(target))
    return Export(spark_paths, local_paths, malformed)


@pytest.fixture(scope="session")
def export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    folder = tmp_path_factory.mktemp("export")
    return write_export(folder, ndjson_lines(), ("Mixed.ndjson", "More.ndjson"))


@dataclass(frozen=True)
class Head:
    """The first lines of the plain file (malformed ones among them), and the local
    run's verdicts on them: for the tests that need a small input."""

    path: str
    local: list[dict[str, Any]]


@pytest.fixture(scope="session")
def head(export: Export, tmp_path_factory: pytest.TempPathFactory) -> Head:
    lines = Path(export.local_paths[0]).read_bytes().split(b"\n")[:HEAD]
    path = tmp_path_factory.mktemp("head") / "Head.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _, resources = local_run(path)
    return Head(str(path), resources)


def local_run(*args: str | os.PathLike[str]) -> tuple[int, list[dict[str, Any]]]:
    """``fhir-invariants validate --format json ARGS`` in this process: the exit status
    and one object per resource."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["validate", "--format", "json", *map(str, args)])
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def where(source: str) -> tuple[str, int]:
    """``(file name, line)`` of a source, local (``dir/Mixed.ndjson:7``, line given) or
    Spark's (``file:/dir/More.ndjson.gz``): the same file either way."""
    path, _, line = source.rpartition(":")
    if path and line.isdigit():
        return Path(path).name.removesuffix(".gz"), int(line)
    return Path(source).name.removesuffix(".gz"), 0


def local_issue_rows(resources: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """One tuple per issue of a local ``--format json`` run, in the columns of
    :data:`engine.spark.schema.ISSUES` (file name for the source)."""
    rows = []
    for resource in resources:
        name, line = where(resource["source"])
        for issue in resource["issues"]:
            rows.append(
                (name, line, resource["resourceType"], resource["id"], issue["severity"],
                 issue["code"], issue["location"], issue["key"], issue["message"])
            )  # fmt: skip
    return rows


def spark_issue_rows(rows: list[Any]) -> list[tuple[Any, ...]]:
    """The same tuples from rows of :data:`engine.spark.schema.ISSUES`."""
    return [
        (where(row["source"])[0], row["line"], row["resourceType"], row["id"], row["severity"],
         row["code"], row["location"], row["key"], row["message"])
        for row in rows
    ]  # fmt: skip
