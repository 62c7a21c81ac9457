"""Benchmark: resources per second for (a) the engine, every check; (b) the
ImagingSelection invariants with ``fhirpathpy.evaluate`` per call (which re-parses every
expression every time); (c) the same invariants compiled once by the engine.

    python tools/bench_validate.py [--count 10000] [--definitions definitions]

The corpus is generated from the official current-model ImagingSelection examples
(``tests/fixtures/imagingselection``, converted from XML), varying ids, UIDs, the number
of instances, adding 2D regions with even or odd coordinate counts and dropping some
studyUids, so that some resources pass and some fail (isl-2, isl-7).
Both measurements run in this one process on the same corpus; the verdicts of (b) are
compared with the engine's invariant verdicts so a speed-up can never hide a change.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fhirpathpy  # noqa: E402

import engine  # noqa: E402
from engine.fhirpath.reference.evaluator import compile_expression  # noqa: E402
from engine.fhirpath.typeinfo import fhirpathpy_model  # noqa: E402
from engine.io.fhir_xml import xml_to_json  # noqa: E402

EXAMPLES = ROOT / "tests" / "fixtures" / "imagingselection"
CURRENT_MODEL = (
    "imagingselection-example-mg-image-selection.xml",
    "imagingselection-example-rt-structure-set-region-selection.xml",
    "imagingselection-example-single-frame-image-selection.xml",
    "imagingselection-example-waveform-channel-selection.xml",
)


def corpus(definitions: engine.Definitions, count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` ImagingSelection resources derived from the official examples."""
    rng = random.Random(seed)
    bases = [xml_to_json((EXAMPLES / name).read_text(), definitions) for name in CURRENT_MODEL]
    resources = []
    for n in range(count):
        res = copy.deepcopy(bases[n % len(bases)])
        res["id"] = f"bench-{n}"
        if "seriesUid" in res:
            res["seriesUid"] = f"1.2.840.{n}.{rng.randint(1, 10**6)}"
        instances = res.get("instance", [])
        for _ in range(rng.randint(0, 3)):
            if instances:
                extra = copy.deepcopy(rng.choice(instances))
                extra["uid"] = f"1.2.3.{n}.{rng.randint(1, 10**6)}"
                instances.append(extra)
        for inst in instances:
            if rng.random() < 0.3:
                count = rng.choice((2, 4, 5, 8))
                inst["imageRegion2D"] = [
                    {
                        "regionType": rng.choice(("point", "polyline", "circle")),
                        "coordinate": [round(rng.random() * 512, 2) for _ in range(count)],
                    }
                ]
        if rng.random() < 0.1:
            res.pop("studyUid", None)
        resources.append(res)
    return resources


def _evaluate_per_call(
    definitions: engine.Definitions, resources: list[dict[str, Any]]
) -> list[frozenset[str]]:
    """(b): each ImagingSelection invariant through ``fhirpathpy.evaluate`` per call."""
    constraints = definitions["ImagingSelection"].root.constraints
    out = []
    for res in resources:
        variables = {"resource": res, "rootResource": res}
        failed = {
            c.key
            for c in constraints
            if fhirpathpy.evaluate(res, c.expression, variables) != [True]
        }
        out.append(frozenset(failed))
    return out


def _compiled_once(
    definitions: engine.Definitions, resources: list[dict[str, Any]]
) -> list[frozenset[str]]:
    """(c): the same invariants, compiled once by the engine's FHIRPath layer."""
    model = fhirpathpy_model(definitions)
    compiled = [
        (c.key, compile_expression(c.expression, model))
        for c in definitions["ImagingSelection"].root.constraints
    ]
    out = []
    for res in resources:
        failed = {
            key
            for key, expression in compiled
            if expression(res, focus_path="ImagingSelection", resource=res, root_resource=res)
            != [True]
        }
        out.append(frozenset(failed))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--definitions", default=str(ROOT / "definitions"))
    args = parser.parse_args(argv)

    definitions = engine.load_definitions(args.definitions)
    resources = corpus(definitions, args.count)
    validator = engine.Validator(definitions)
    validator.validate(resources[0])  # compile the type's rules before timing

    start = time.perf_counter()
    reports = [validator.validate(r) for r in resources]
    engine_seconds = time.perf_counter() - start

    start = time.perf_counter()
    verdicts = _evaluate_per_call(definitions, resources)
    evaluate_seconds = time.perf_counter() - start

    start = time.perf_counter()
    compiled_verdicts = _compiled_once(definitions, resources)
    compiled_seconds = time.perf_counter() - start

    own_keys = {c.key for c in definitions["ImagingSelection"].root.constraints}
    mismatches = sum(
        1
        for report, expected, compiled in zip(reports, verdicts, compiled_verdicts, strict=True)
        if not (
            frozenset(i.key for i in report.issues if i.key in own_keys and i.code == "invariant")
            == expected
            == compiled
        )
    )
    invalid = sum(1 for r in reports if not r.valid)
    print(f"corpus: {len(resources)} ImagingSelection resources ({invalid} with errors)")
    print(
        f"(a) engine, every check (structure, formats, bindings, references, all invariants "
        f"incl. inherited): {len(resources) / engine_seconds:,.0f} resources/s "
        f"({engine_seconds:.2f} s)"
    )
    print(
        f"(b) the {len(own_keys)} ImagingSelection invariants only, fhirpathpy.evaluate per "
        f"call: {len(resources) / evaluate_seconds:,.0f} resources/s ({evaluate_seconds:.2f} s)"
    )
    print(
        f"(c) the same {len(own_keys)} invariants, compiled once by the engine: "
        f"{len(resources) / compiled_seconds:,.0f} resources/s ({compiled_seconds:.2f} s)"
    )
    print(f"resources whose invariant verdicts differ between (a), (b) and (c): {mismatches}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
