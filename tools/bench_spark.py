"""Benchmark Spark against ``--jobs``: the same NDJSON validated both ways, in one run.

    python tools/bench_spark.py [--count 20000] [--corpus mixed|small] [--methods arrow,pandas,rows]
                                [--repeat 1]

Writes ``--count`` resources to one NDJSON file (``mixed``: the mixed corpus of official
R5 examples, ``tools/fhir_packages.py``, repeated with new ids; ``small``: tiny Basic
resources that take the validator almost no time, which shows Spark's own cost per
resource), then:

1. a Spark ``local[2]`` session is started and a first validation of 100 lines starts
   its Python workers (both timed apart, not counted: the JVM compiles its code and the
   workers import pyspark, pyarrow and pandas on first use, once per session);
2. ``--repeat`` rounds of: ``fhir-invariants validate --jobs 2 --format json FILE`` in a
   fresh process, start-up included, output to a file; then for each method,
   ``validate_ndjson(spark, FILE, per="resource")`` written to Parquet.

Prints each throughput and Spark's overhead against ``--jobs 2`` (time over ``--jobs 2``
time, minus 1), and checks that both counted the same resources, invalid resources and
issues. The machine's load average is printed too: on a shared machine it moves the
figures more than anything measured here.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import fhir_packages  # noqa: E402


def _lines(corpus: str, count: int) -> list[bytes]:
    if corpus == "small":
        bases = [{"resourceType": "Basic", "code": {"text": "benchmark"}}]
    else:
        bases = [json.loads(data) for _, data in fhir_packages.mixed_corpus()]
    lines = []
    for n in range(count):
        resource = copy.deepcopy(bases[n % len(bases)])
        resource["id"] = f"bench-{n}"
        lines.append(json.dumps(resource, ensure_ascii=False).encode("utf-8"))
    return lines


def _local(data: Path, out: Path) -> tuple[float, tuple[int, int, int]]:
    command = [sys.executable, "-m", "engine", "validate", "--jobs", "2", "--format", "json"]
    start = time.perf_counter()
    with out.open("wb") as stream:
        done = subprocess.run([*command, str(data)], stdout=stream, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode())
    resources = invalid = issues = 0
    for line in out.read_text(encoding="utf-8").splitlines():
        result = json.loads(line)
        resources += 1
        invalid += not result["valid"]
        issues += len(result["issues"])
    return seconds, (resources, invalid, issues)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--corpus", choices=("mixed", "small"), default="mixed")
    parser.add_argument("--methods", default="arrow", help="comma-separated: arrow,pandas,rows")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every run (best kept)")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")

    with tempfile.TemporaryDirectory(prefix="bench-spark-") as folder:
        data = Path(folder) / "bench.ndjson"
        data.write_bytes(b"\n".join(_lines(args.corpus, args.count)) + b"\n")
        size = data.stat().st_size / 1e6
        print(f"{args.count} resources ({args.corpus} corpus), {size:.1f} MB, one NDJSON file")
        print(f"load average before: {_load()}")

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F

        from engine.spark import validate_ndjson

        start = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        print(f"Spark session started in {time.perf_counter() - start:.1f} s (not counted)")
        first = Path(folder) / "first.ndjson"
        with data.open("rb") as stream:
            first.write_bytes(b"".join(stream.readline() for _ in range(100)))
        start = time.perf_counter()
        warm_up = validate_ndjson(spark, str(first), per="resource")
        warm_up.write.format("noop").mode("overwrite").save()
        print(f"first job (100 lines) in {time.perf_counter() - start:.1f} s (not counted)")

        status = 0
        best: dict[str, float] = {}
        # Rounds alternate the two ways, so that a change of load on a shared machine
        # weighs on both; the best round of each is compared.
        for round_ in range(args.repeat):
            local_seconds, local_counts = _local(data, Path(folder) / "local.json")
            best["--jobs 2"] = min(best.get("--jobs 2", local_seconds), local_seconds)
            print(_line("--jobs 2", local_seconds, args.count))
            for method in methods:
                target = Path(folder) / f"spark-{round_}-{method}"
                start = time.perf_counter()
                resources = validate_ndjson(spark, str(data), per="resource", method=method)
                resources.write.parquet(str(target))
                seconds = time.perf_counter() - start
                label = f"Spark local[2] {method}"
                best[label] = min(best.get(label, seconds), seconds)
                overhead = seconds / local_seconds - 1
                print(f"{_line(label, seconds, args.count)}, overhead {overhead:+.1%}")
                written = spark.read.parquet(str(target))
                (row,) = written.agg(
                    F.count(F.lit(1)),
                    F.sum((~F.col("valid")).cast("int")),
                    F.sum(F.size("issues")),
                ).collect()
                counts = tuple(int(value or 0) for value in row)
                if counts != local_counts:
                    print(f"  counts differ: Spark {counts}, --jobs 2 {local_counts}")
                    status = 1
        if args.repeat > 1:
            print(f"best of {args.repeat} rounds:")
            for label, seconds in best.items():
                overhead = seconds / best["--jobs 2"] - 1
                print(f"{_line(label, seconds, args.count)}, overhead {overhead:+.1%}")
        spark.stop()
        print(f"load average after: {_load()}")
        return status


def _line(label: str, seconds: float, count: int) -> str:
    return f"{label:<24} {seconds:7.1f} s {count / seconds:7.0f} resources/s"


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
