"""Run the official FHIRPath test suite through the engine's evaluators and plain fhirpathpy.

For each suite file, prints how many tests pass with each evaluator of the engine
(``compiled``: :class:`engine.fhirpath.compiled.CompiledEvaluator`; ``fhirpathpy``: the
reference evaluator, fhirpathpy with strict syntax, added functions and FHIR-aware
navigation) and with ``fhirpathpy.evaluate`` alone, so changes can be measured::

    python tools/fhirpath_suite.py [SUITE_DIR] [--evaluator compiled,fhirpathpy]
                                   [--failures] [--definitions DIR]

``--failures`` lists, per file, the tests each selected evaluator fails.

``SUITE_DIR`` holds ``suites/*/*.xml`` and ``input/json-r4|json-r5`` (default:
``../shared/reference/fhirpath-suite`` beside the repository, else the test fixtures).
Both engines use fhirpathpy's R4/R5 type model, unless ``--definitions`` gives a folder
of definitions to build ours from. A test expecting an error (``invalid=…``) passes
when evaluation raises; tests needing a CDA input or a terminology server are not run.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import fhirpathpy
import fhirpathpy.models
from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.fhirpath import compile_expression  # noqa: E402
from engine.fhirpath.compiled import CompiledEvaluator  # noqa: E402
from engine.fhirpath.compiled.temporal import Temporal  # noqa: E402
from engine.fhirpath.compiled.values import Quantity  # noqa: E402

_DEFAULT_SUITES = (
    ROOT.parent / "shared" / "reference" / "fhirpath-suite",
    ROOT / "tests" / "fixtures" / "fhirpath-suite",
)
_NOT_RUN_MODES = frozenset({"cda", "tx"})
EVALUATORS = ("compiled", "fhirpathpy")

Evaluator = Callable[[str, dict[str, Any], dict[str, Any]], list[Any]]


@dataclass(frozen=True)
class _Case:
    name: str
    expression: str
    invalid: str | None
    input_file: str | None
    mode: str | None
    ordered: bool
    outputs: tuple[tuple[str, str], ...]
    predicate: bool = False


def main() -> None:
    """Parse arguments, run every suite file, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", type=Path, help="suite directory")
    parser.add_argument(
        "--evaluator",
        default=",".join(EVALUATORS),
        help="comma-separated evaluators to run: compiled, fhirpathpy (default: both)",
    )
    parser.add_argument("--failures", action="store_true", help="list the tests each one fails")
    parser.add_argument("--definitions", type=Path, help="definitions folder for the model")
    args = parser.parse_args()
    suite_dir = args.suite or next((p for p in _DEFAULT_SUITES if p.is_dir()), None)
    if suite_dir is None or not (suite_dir / "suites").is_dir():
        parser.error(f"no suite found at {suite_dir}")
    names = [name.strip() for name in args.evaluator.split(",") if name.strip()]
    unknown = sorted(set(names) - set(EVALUATORS))
    if unknown:
        parser.error(f"unknown evaluator(s): {', '.join(unknown)}")
    definitions_model = _definitions_model(args.definitions) if args.definitions else None

    header = "".join(f" {name:>15}" for name in [*names, "plain fhirpathpy"])
    print(f"{'suite file':42} {'tests':>6} {'not run':>8}{header}")
    for path in sorted((suite_dir / "suites").glob("*/*.xml")):
        release = "r5" if "r5" in path.name else "r4"
        model = definitions_model or fhirpathpy.models.models[release]
        runners: dict[str, Evaluator] = {
            "compiled": _compiled_runner(model),
            "fhirpathpy": _reference,
        }
        # The suite's strict mode expects the model to be checked (semantic errors).
        strict_runners = {**runners, "compiled": _compiled_runner(model, strict=True)}
        inputs = suite_dir / "input" / f"json-{release}"
        cases = _cases(path)
        tally: Counter[str] = Counter()
        failures: dict[str, list[str]] = {name: [] for name in names}
        for case in cases:
            resource = _input(inputs, case)
            if resource is None:
                tally["not run"] += 1
                continue
            for name in names:
                run = strict_runners[name] if case.mode == "strict" else runners[name]
                ok = _passes(case, resource, model, run)
                tally[name] += ok
                if not ok:
                    failures[name].append(f"    {case.name}: {case.expression.strip()}")
            tally["plain"] += _passes(case, resource, fhirpathpy.models.models[release], _plain)
        run = len(cases) - tally["not run"]
        label = f"{path.parent.name}/{path.name}"
        shares = "".join(f" {_share(tally[name], run):>15}" for name in [*names, "plain"])
        print(f"{label:42} {len(cases):>6} {tally['not run']:>8}{shares}")
        if args.failures:
            for name in names:
                print(f"  {name} fails:")
                print("\n".join(failures[name]))


def _share(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.1f}%)" if total else "0"


def _definitions_model(folder: Path) -> dict[str, Any]:
    import engine
    from engine.fhirpath import fhirpathpy_model

    return fhirpathpy_model(engine.load_definitions(folder))


def _cases(path: Path) -> list[_Case]:
    root = ET.parse(path).getroot()
    for element in root.iter():
        element.tag = element.tag.rsplit("}", 1)[-1]
    cases = []
    for index, test in enumerate(root.iter("test")):
        expression = test.find("expression")
        if expression is None or expression.text is None:
            continue
        cases.append(
            _Case(
                name=test.get("name") or f"#{index}",
                expression=expression.text,
                invalid=expression.get("invalid"),
                input_file=test.get("inputfile"),
                mode=test.get("mode") or expression.get("mode"),
                ordered=test.get("ordered") != "false",
                predicate=test.get("predicate") == "true",
                outputs=tuple((o.get("type", ""), o.text or "") for o in test.findall("output")),
            )
        )
    return cases


def _input(folder: Path, case: _Case) -> dict[str, Any] | None:
    if case.mode in _NOT_RUN_MODES:
        return None
    if case.input_file is None:
        return {}
    path = folder / Path(case.input_file).with_suffix(".json").name
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def _reference(expression: str, resource: dict[str, Any], model: dict[str, Any]) -> list[Any]:
    compiled = compile_expression(expression, model)
    return compiled(
        resource,
        focus_path=str(resource.get("resourceType", "")),
        resource=resource,
        root_resource=resource,
    )


def _compiled_runner(model: dict[str, Any], *, strict: bool = False) -> Evaluator:
    evaluator = CompiledEvaluator(model=model, strict=strict)

    def run(expression: str, resource: dict[str, Any], _: dict[str, Any]) -> list[Any]:
        compiled = evaluator.compile(expression, str(resource.get("resourceType", "")))
        return compiled(resource, resource=resource, root_resource=resource)

    return run


def _plain(expression: str, resource: dict[str, Any], model: dict[str, Any]) -> list[Any]:
    environment = {"resource": resource, "rootResource": resource}
    options = {"traceFn": lambda label, collection: None}
    result = fhirpathpy.evaluate(resource, expression, environment, model, options)
    # fhirpathpy reports some errors as a marker value instead of raising.
    if any(isinstance(v, dict) and v.get("$status") == "error" for v in result):
        raise ValueError("error marker")
    return list(result)


def _passes(case: _Case, resource: dict[str, Any], model: dict[str, Any], run: Evaluator) -> bool:
    try:
        result = run(case.expression, resource, model)
    except Exception:  # any failure to evaluate counts as "raised an error"
        return case.invalid is not None
    if case.invalid is not None:
        return False
    if case.predicate:
        # A predicate's result is read as exists().
        result = [bool(result)]
    if len(result) != len(case.outputs):
        return False
    pairs = list(zip(result, case.outputs, strict=True))
    if all(_matches(value, expected) for value, expected in pairs):
        return True
    if case.ordered:
        return False
    remaining = list(case.outputs)
    for value in result:
        hit = next((e for e in remaining if _matches(value, e)), None)
        if hit is None:
            return False
        remaining.remove(hit)
    return True


def _matches(value: Any, expected: tuple[str, str]) -> bool:
    kind, text = expected
    if isinstance(value, bool) or kind == "boolean":
        return isinstance(value, bool) and ("true" if value else "false") == text
    if kind in ("integer", "decimal") or isinstance(value, int | Decimal):
        return _number(value) is not None and _number(value) == _number(text)
    if isinstance(value, FP_Quantity | Quantity) or kind == "Quantity":
        return _quantity(value) == _quantity(text)
    if isinstance(value, FP_Time | FP_DateTime | Temporal) or kind in ("date", "dateTime", "time"):
        return _temporal(value) == _temporal(text)
    if isinstance(value, dict):
        return not text.strip()
    return str(value) == text


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _quantity(value: Any) -> tuple[Decimal | None, str] | None:
    if isinstance(value, Quantity):
        return _number(value.value), value.unit
    if isinstance(value, FP_Quantity):
        return _number(value.value), str(value.unit).strip("'")
    if isinstance(value, dict):
        return _number(value.get("value")), str(value.get("code") or value.get("unit")).strip("'")
    number, _, unit = str(value).partition(" ")
    return _number(number), unit.strip("'")


def _temporal(value: Any) -> str:
    if isinstance(value, Temporal):
        return value.text
    text = value.asStr if isinstance(value, FP_Time | FP_DateTime) else str(value)
    return str(text).removeprefix("@").removeprefix("T")


if __name__ == "__main__":
    main()
