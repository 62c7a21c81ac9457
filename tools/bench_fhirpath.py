"""Benchmark the FHIRPath layer: strict parsing, and evaluation with both evaluators.

    python tools/bench_fhirpath.py [--resources N] [--repeat N]

Prints the time to syntax-check every R5 core constraint (the vendored fixture), then the
time per evaluation of the bundled constraints on every occurrence where they apply,
with the compiled evaluator and with the reference one (fhirpathpy), as the validator
calls them:

- on the ImagingSelection corpus of ``tools/bench_validate.py`` (generated from the
  official examples): each of isl-1 … isl-11, and ele-1 on every element occurrence;
- on official R5 examples of every resource type (the first two of each type in the
  mixed corpus of ``tools/fhir_packages.py``): all constraints, and ele-1 alone.

Each group is timed ``--repeat`` times and the fastest run kept (other processes
disturb the others); the two evaluators' results are compared first, so that a
speed-up can never hide a different verdict. Timings vary with the machine: compare the
columns, not runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import timeit
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine.fhirpath.analysis import functions_used  # noqa: E402
from engine.fhirpath.compiled import CompiledEvaluator  # noqa: E402
from engine.fhirpath.evaluation import FhirPathEvaluationError  # noqa: E402
from engine.fhirpath.reference.evaluator import ReferenceEvaluator  # noqa: E402
from engine.fhirpath.syntax import parse  # noqa: E402
from engine.model import Constraint, Definitions  # noqa: E402
from engine.validation.plan import ValidationPlan  # noqa: E402
from engine.validation.walker import Occurrence, occurrences  # noqa: E402

_CONSTRAINTS = ROOT / "tests" / "fixtures" / "fhirpath" / "r5-constraint-expressions.json"

#: One evaluation: the compiled call, the reference call, and their arguments.
_Call = tuple[Callable[..., list[Any]], Callable[..., list[Any]], tuple[Any, ...], dict[str, Any]]


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100, help="ImagingSelection resources")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per group")
    args = parser.parse_args()

    entries = json.loads(_CONSTRAINTS.read_text(encoding="utf-8"))["entries"]
    expressions = [e["expression"] for e in entries["defined"]] + entries["snapshot_only"]
    parse.cache_clear()
    seconds = timeit.timeit(lambda: [parse(e) for e in expressions], number=1)
    per = 1000 * seconds / len(expressions)
    print(f"parse {len(expressions)} R5 constraints: {seconds:.3f} s ({per:.2f} ms each)\n")

    definitions = engine.bundled_definitions()
    compiled = CompiledEvaluator(definitions)
    reference = ReferenceEvaluator(definitions)

    from tools.bench_validate import imagingselection_corpus as imaging_corpus
    from tools.fhir_packages import mixed_corpus

    selection = imaging_corpus(engine.load_definitions(ROOT / "definitions"), args.resources)
    calls = _calls(definitions, compiled, reference, selection)
    print(f"ImagingSelection corpus: {len(selection)} resources")
    _header()
    keys = [f"isl-{n}" for n in range(1, 12)] + ["ele-1"]
    for key in keys:
        _report(key, calls.get(key, []), args.repeat)

    taken: Counter[str] = Counter()
    mixed = []
    for _, data in mixed_corpus():
        resource = json.loads(data)
        if taken[resource["resourceType"]] < 2:
            taken[resource["resourceType"]] += 1
            mixed.append(resource)
    calls = _calls(definitions, compiled, reference, mixed)
    print(f"\nofficial R5 examples: {len(mixed)} resources of {len(taken)} types")
    _header()
    _report("every constraint", [call for group in calls.values() for call in group], args.repeat)
    _report("ele-1", calls.get("ele-1", []), args.repeat)
    print(f"\nexpressions evaluated by the reference instead (fallbacks): {compiled.fallbacks}")


def _header() -> None:
    print(f"  {'constraint':18} {'evaluations':>11} {'compiled':>12} {'fhirpathpy':>12} {'×':>7}")


def _report(label: str, calls: list[_Call], repeat: int) -> None:
    if not calls:
        print(f"  {label:18} {0:>11}")
        return
    mine = _fastest([(call[0], call[2], call[3]) for call in calls], repeat)
    theirs = _fastest([(call[1], call[2], call[3]) for call in calls], repeat)
    count = len(calls)
    print(
        f"  {label:18} {count:>11} {1e6 * mine / count:>9.2f} µs {1e6 * theirs / count:>9.1f} µs "
        f"{theirs / mine:>6.1f}×"
    )


def _fastest(
    calls: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]], repeat: int
) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for fn, positional, keywords in calls:
            with contextlib.suppress(FhirPathEvaluationError):
                fn(*positional, **keywords)
        best = min(best, time.perf_counter() - start)
    return best


def _calls(
    definitions: Definitions,
    compiled: CompiledEvaluator,
    reference: ReferenceEvaluator,
    resources: list[dict[str, Any]],
) -> dict[str, list[_Call]]:
    """Every (constraint, occurrence) evaluation of the resources, by constraint key;
    raises when the two evaluators disagree on one."""
    supported = compiled.supported_functions() & reference.supported_functions()
    calls: dict[str, list[_Call]] = defaultdict(list)
    for resource in resources:
        for occurrence, constraint in _applicable(definitions, resource):
            if not functions_used(constraint.expression) <= supported:
                continue
            mine = compiled.compile(constraint.expression, occurrence.fhirpath_type)
            theirs = reference.compile(constraint.expression, occurrence.fhirpath_type)
            keywords = {
                "resource": occurrence.resource,
                "root_resource": occurrence.root_resource,
                "focus_extension": occurrence.extension,
            }
            arguments = (occurrence.value,)
            if _verdict(mine, arguments, keywords) != _verdict(theirs, arguments, keywords):
                raise SystemExit(
                    f"the evaluators disagree: {constraint.key} at {occurrence.location}"
                )
            calls[constraint.key].append((mine, theirs, arguments, keywords))
    return calls


def _verdict(
    fn: Callable[..., list[Any]], arguments: tuple[Any, ...], keywords: dict[str, Any]
) -> Any:
    try:
        return engine.fhirpath.passes(fn(*arguments, **keywords))
    except FhirPathEvaluationError:
        return "error"


def _applicable(
    definitions: Definitions, resource: dict[str, Any]
) -> Iterator[tuple[Occurrence, Constraint]]:
    """The constraints the validator evaluates on each occurrence of a resource (those
    it can evaluate: the plan sets the others apart)."""
    for occurrence in occurrences(_plan(definitions), resource):
        for rule in occurrence.node.focus_rules + occurrence.node.context_rules:
            yield occurrence, rule.constraint


_PLANS: dict[int, ValidationPlan] = {}


def _plan(definitions: Definitions) -> ValidationPlan:
    plan = _PLANS.get(id(definitions))
    if plan is None:
        plan = _PLANS[id(definitions)] = engine.Validator(definitions, evaluator="fhirpathpy").plan
    return plan


if __name__ == "__main__":
    main()
