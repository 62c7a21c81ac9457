"""Benchmark ``fhir-invariants validate --jobs N``: wall time for 1, 2, … N processes.

    python tools/bench_jobs.py [--resources 3000] [--max-jobs 4]

Writes an NDJSON file of ImagingSelections varied from the official mg example (some
valid, some breaking invariants) into a temporary folder, then times each run of the
command line in a fresh process, start-up included, and checks that every run prints
the same output. Prints one line per job count: seconds, resources per second, speed-up.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.definitions.markdown import load_markdown  # noqa: E402
from engine.io.fhir_xml import xml_to_json  # noqa: E402

EXAMPLE = ROOT / "examples" / "imagingselection" / "imagingselection-example-mg-image-selection.xml"


def _resources(count: int) -> list[str]:
    base = xml_to_json(EXAMPLE.read_bytes(), load_markdown(ROOT / "definitions"))
    lines = []
    for n in range(count):
        resource = copy.deepcopy(base)
        resource["id"] = f"bench-{n}"
        resource["seriesNumber"] = n
        if n % 4 == 1:
            del resource["seriesUid"]
        lines.append(json.dumps(resource))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=3000)
    parser.add_argument("--max-jobs", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "bench.ndjson"
        data.write_text("\n".join(_resources(args.resources)) + "\n")
        baseline: float | None = None
        first_output: bytes | None = None
        for jobs in range(1, args.max_jobs + 1):
            command = [sys.executable, "-m", "engine", "validate", "--format", "json"]
            start = time.perf_counter()
            done = subprocess.run([*command, "--jobs", str(jobs), str(data)], capture_output=True)
            seconds = time.perf_counter() - start
            if done.returncode not in (0, 1):
                print(done.stderr.decode(), file=sys.stderr)
                return 2
            if first_output is None:
                first_output = done.stdout
            elif done.stdout != first_output:
                print(f"--jobs {jobs} printed something else than --jobs 1", file=sys.stderr)
                return 1
            baseline = baseline or seconds
            print(
                f"--jobs {jobs}: {seconds:6.1f} s, {args.resources / seconds:7.0f} resources/s,"
                f" speed-up {baseline / seconds:4.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
