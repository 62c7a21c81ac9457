"""Benchmark: resources per second, one process, for every FHIRPath evaluator of the engine
and for fhir.resources' model validation, on two corpora.

    python tools/bench_validate.py [--count 10000] [--corpus imagingselection|mixed|both]
                                   [--repeat 3]

- **imagingselection**: ``--count`` ImagingSelection resources generated from the official
  current-model examples (``tests/fixtures/imagingselection``, converted from XML), varying
  ids, UIDs, the number of instances, adding 2D regions with even or odd coordinate counts
  and dropping some studyUids, so that some resources pass and some fail (isl-2, isl-7);
- **mixed**: every official R5 example file of at most 30 KB, at most 60 of any one
  resource type (``tools/fhir_packages.mixed_corpus()``: 1,173 resources of 154 types).

For each corpus it times (a) the engine with each evaluator (``compiled``, the default,
and ``fhirpathpy``, the reference), every check included, and (c) ``fhir.resources``
(pydantic) model validation when it is installed (``pip install -e '.[bench]'``; it checks
structure and primitive formats only, no invariants). Times are CPU seconds of this
process (``time.process_time``), so other work on the machine does not count; each figure
is the best of ``--repeat`` runs over the corpus (after one warm-up run, and a garbage
collection before each), as ``timeit`` advises, because this machine's speed drifts by
10 % and more between runs. The evaluators' reports are compared resource by resource:
any difference is printed and makes the exit status 1, so a speed-up can never hide a
change of verdict.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine.fhirpath.evaluators import DEFAULT_EVALUATOR, EVALUATORS  # noqa: E402
from engine.io.fhir_xml import xml_to_json  # noqa: E402
from tools.fhir_packages import mixed_corpus  # noqa: E402

EXAMPLES = ROOT / "tests" / "fixtures" / "imagingselection"
CURRENT_MODEL = (
    "imagingselection-example-mg-image-selection.xml",
    "imagingselection-example-rt-structure-set-region-selection.xml",
    "imagingselection-example-single-frame-image-selection.xml",
    "imagingselection-example-waveform-channel-selection.xml",
)


def imagingselection_corpus(
    definitions: engine.Definitions, count: int, seed: int = 7
) -> list[dict[str, Any]]:
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
                coordinates = rng.choice((2, 4, 5, 8))
                inst["imageRegion2D"] = [
                    {
                        "regionType": rng.choice(("point", "polyline", "circle")),
                        "coordinate": [round(rng.random() * 512, 2) for _ in range(coordinates)],
                    }
                ]
        if rng.random() < 0.1:
            res.pop("studyUid", None)
        resources.append(res)
    return resources


def r5_mixed_corpus() -> list[dict[str, Any]]:
    """The mixed corpus, parsed as the command line parses JSON."""
    from engine.io.inputs import RawResource, parse

    definitions = engine.bundled_definitions()
    return [
        parse(RawResource(name, name, data, "json"), definitions) for name, data in mixed_corpus()
    ]


def _rate(run: Callable[[], Any], count: int, repeat: int) -> tuple[float, Any]:
    result = run()  # warm up: plans built, expressions compiled, caches filled
    best = float("inf")
    for _ in range(repeat):
        gc.collect()  # garbage of the previous run is not this run's cost
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
    return count / best, result


def _fhir_resources() -> Callable[[list[dict[str, Any]]], tuple[int, int]] | None:
    try:
        from fhir.resources import get_fhir_model_class
    except ImportError:
        return None

    def validate_all(resources: list[dict[str, Any]]) -> tuple[int, int]:
        accepted = rejected = 0
        for resource in resources:
            try:
                get_fhir_model_class(resource["resourceType"]).model_validate(resource)
                accepted += 1
            except Exception:  # noqa: BLE001 - a rejection is its verdict
                rejected += 1
        return accepted, rejected

    return validate_all


def bench(
    name: str, resources: list[dict[str, Any]], plain: list[dict[str, Any]], repeat: int = 3
) -> int:
    """Print the figures for one corpus (``plain``: the same resources as ``json.loads``
    gives them, for fhir.resources); return the number of resources whose reports differ
    between evaluators."""
    print(f"\n{name}: {len(resources):,} resources")
    reports: dict[str, list[Any]] = {}
    rates: dict[str, float] = {}
    for evaluator in (DEFAULT_EVALUATOR, *(e for e in EVALUATORS if e != DEFAULT_EVALUATOR)):
        validator = engine.Validator(evaluator=evaluator)
        rate, result = _rate(
            lambda v=validator: [v.validate(r) for r in resources], len(resources), repeat
        )
        rates[evaluator], reports[evaluator] = rate, result
        invalid = sum(not r.valid for r in result)
        print(f"  engine, evaluator={evaluator:<10} {rate:>8,.0f} resources/s  ({invalid} invalid)")
    # The HL7 validator's built-in checks (definitions/hl7-validator.rules.yaml) read every
    # narrative's XHTML and scan each resource's element ids: their share of the time.
    plain_rules = engine.Validator(builtin_rules=False)
    rate, _ = _rate(lambda: [plain_rules.validate(r) for r in resources], len(resources), repeat)
    print(f"  engine, compiled, without the built-in rules {rate:>8,.0f} resources/s")
    if len(rates) > 1:
        slowest = min(rates.values())
        print(
            "  speed-up over fhirpathpy: "
            + ", ".join(f"{e} {r / rates['fhirpathpy']:.1f}x" for e, r in rates.items())
            if "fhirpathpy" in rates
            else f"  slowest {slowest:,.0f}/s"
        )
    pydantic = _fhir_resources()
    if pydantic is None:
        print("  fhir.resources: not installed (pip install -e '.[bench]')")
    else:
        rate, (accepted, rejected) = _rate(lambda: pydantic(plain), len(plain), repeat)
        print(
            f"  fhir.resources (structure and formats only) {rate:>8,.0f} resources/s  "
            f"({accepted} accepted, {rejected} rejected)"
        )
    baseline = reports.get("fhirpathpy")
    differing = 0
    for evaluator, result in reports.items():
        if baseline is None or evaluator == "fhirpathpy":
            continue
        for index, (ours, reference) in enumerate(zip(result, baseline, strict=True)):
            if ours.issues != reference.issues:
                differing += 1
                if differing <= 5:
                    print(f"  DIFFERENT resource {index}: {evaluator} {ours.issues}")
                    print(f"  {'':>22} fhirpathpy {reference.issues}")
        print(f"  resources whose reports differ ({evaluator} vs fhirpathpy): {differing}")
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--corpus", choices=("imagingselection", "mixed", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure (best kept)")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)
    differing = 0
    # One corpus at a time: the other's resources would stay alive, and every garbage
    # collection would walk them.
    if args.corpus in ("imagingselection", "both"):
        differing += _bench_imagingselection(args.count, repeat)
    if args.corpus in ("mixed", "both"):
        differing += _bench_mixed(repeat)
    return 1 if differing else 0


def _bench_imagingselection(count: int, repeat: int) -> int:
    resources = imagingselection_corpus(engine.bundled_definitions(), count)
    # fhir.resources reads what json.loads gives: floats, not exact decimals.
    plain = json.loads(json.dumps(resources, default=float))
    return bench("ImagingSelection corpus", resources, plain, repeat)


def _bench_mixed(repeat: int) -> int:
    plain = [json.loads(data) for _, data in mixed_corpus()]
    return bench("mixed R5 corpus", r5_mixed_corpus(), plain, repeat)


if __name__ == "__main__":
    sys.exit(main())
