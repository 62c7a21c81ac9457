"""Validate every official R5 example with both FHIRPath evaluators and compare the issues.

    python tools/compare_evaluators.py [--jobs N] [--limit N] [--show N]

Each of the 2,822 examples of ``hl7.fhir.r5.examples`` (:func:`tools.fhir_packages.examples`)
is validated with ``engine.Validator(evaluator="compiled")`` and
``engine.Validator(evaluator="fhirpathpy")`` against the bundled definitions; a resource
differs when the two lists of issues (as text, in order) are not the same. Prints the
number of resources compared and of those that differ (target: 0), the first few
differences, and the time each evaluator's validation took (summed over the workers).
Exit status 1 when any resource differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_VALIDATORS: dict[str, Any] = {}


def _validators() -> dict[str, Any]:
    if not _VALIDATORS:
        import engine

        definitions = engine.bundled_definitions()
        for name in ("compiled", "fhirpathpy"):
            _VALIDATORS[name] = engine.Validator(definitions, evaluator=name)
    return _VALIDATORS


def _compare(batch: list[tuple[str, bytes]]) -> tuple[list[tuple[str, list[str]]], float, float]:
    """Differences in one batch, and the seconds each evaluator's validation took."""
    validators = _validators()
    differences = []
    seconds = {"compiled": 0.0, "fhirpathpy": 0.0}
    for name, data in batch:
        resource = json.loads(data)
        issues = {}
        for evaluator, validator in validators.items():
            start = time.perf_counter()
            issues[evaluator] = [str(issue) for issue in validator.validate(resource).issues]
            seconds[evaluator] += time.perf_counter() - start
        if issues["compiled"] != issues["fhirpathpy"]:
            differences.append((name, _difference(issues["compiled"], issues["fhirpathpy"])))
    return differences, seconds["compiled"], seconds["fhirpathpy"]


def _difference(compiled: list[str], reference: list[str]) -> list[str]:
    lines = [f"  compiled only:   {issue}" for issue in compiled if issue not in reference]
    lines += [f"  fhirpathpy only: {issue}" for issue in reference if issue not in compiled]
    return lines or ["  the same issues, in another order"]


def main() -> int:
    """Parse arguments, compare, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--limit", type=int, help="only the first N examples")
    parser.add_argument("--show", type=int, default=10, help="differences to print in full")
    args = parser.parse_args()

    from tools.fhir_packages import examples

    corpus = list(examples())[: args.limit]
    batches = [corpus[index :: max(args.jobs, 1) * 8] for index in range(max(args.jobs, 1) * 8)]
    start = time.perf_counter()
    differences: list[tuple[str, list[str]]] = []
    compiled_seconds = reference_seconds = 0.0
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(_compare, batches))
    else:
        results = [_compare(batch) for batch in batches]
    for found, compiled, reference in results:
        differences.extend(found)
        compiled_seconds += compiled
        reference_seconds += reference
    for name, lines in sorted(differences)[: args.show]:
        print(name)
        print("\n".join(lines))
    print(
        f"{len(corpus)} resources compared, {len(differences)} differ; "
        f"validation time: compiled {compiled_seconds:.1f} s, fhirpathpy "
        f"{reference_seconds:.1f} s ({time.perf_counter() - start:.0f} s elapsed, "
        f"{args.jobs} job(s))"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
