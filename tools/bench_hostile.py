"""Benchmark: resources shaped to be slow with the bundled rules (issue 13).

    python tools/bench_hostile.py                         # 200 and 400 contained resources
    python tools/bench_hostile.py --contained 1000        # the issue's target: under 2 s
    python tools/bench_hostile.py --contained 200 --evaluator fhirpathpy
    python tools/bench_hostile.py --contained 1000 --time-budget 30   # stopped at 30 s

A valid Patient holds N contained Practitioners, each referenced from
``Patient.generalPractitioner``. Nothing about it is wrong, but dom-3 (every contained
resource is referenced from elsewhere in the resource) evaluates
``%resource.descendants()`` once per contained resource: an evaluator that does not share
that resource-wide value across occurrences does work quadratic in N. The benchmark
validates it with no time budget and prints the time, the size and the verdict, which must
be the one the same resource gets with 2 contained resources (valid, no error).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine  # noqa: E402
from engine.fhirpath.evaluators import DEFAULT_EVALUATOR, EVALUATORS  # noqa: E402


def patient(contained: int) -> dict[str, Any]:
    """A valid Patient with ``contained`` contained Practitioners, each referenced."""
    ids = [f"p{i}" for i in range(contained)]
    return {
        "resourceType": "Patient",
        "id": "hostile",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">A patient with many doctors</div>',
        },
        "contained": [
            {"resourceType": "Practitioner", "id": i, "name": [{"family": f"Doctor {i}"}]}
            for i in ids
        ],
        "name": [{"family": "Chalmers", "given": ["Peter"]}],
        "generalPractitioner": [{"reference": f"#{i}"} for i in ids],
    }


def verdict(report: engine.Report) -> tuple[bool, tuple[tuple[str, str, str | None], ...]]:
    return report.valid, tuple((i.severity, i.code, i.key) for i in report.issues)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contained", type=int, nargs="+", default=[200, 400])
    parser.add_argument("--evaluator", choices=EVALUATORS, default=DEFAULT_EVALUATOR)
    parser.add_argument(
        "--time-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="validate with this time budget (default: none), to see it stop a resource",
    )
    args = parser.parse_args(argv)
    validator = engine.Validator(evaluator=args.evaluator, time_budget=args.time_budget)
    expected = verdict(validator.validate(patient(2)))
    print(f"evaluator {args.evaluator}; verdict with 2 contained: {expected}")
    status = 0
    for count in args.contained:
        resource = patient(count)
        size = len(json.dumps(resource))
        start = time.perf_counter()
        report = validator.validate(resource)
        seconds = time.perf_counter() - start
        same = verdict(report) == expected
        status |= not same
        print(
            f"{count:>6} contained  {size / 1000:>7.1f} KB  {seconds:>8.2f} s  "
            f"valid={report.valid}  {'same verdict' if same else 'DIFFERENT VERDICT'}"
            + "".join(f"\n        {i}" for i in report.issues if i.code == "too-costly"),
            flush=True,
        )
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
