"""Read the official FHIRPath test suite fixtures (tests/fixtures/fhirpath-suite)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time

from engine.fhirpath.compiled.temporal import Temporal
from engine.fhirpath.compiled.values import Quantity

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SUITE = FIXTURES / "fhirpath-suite"
SUITE_FILES = sorted((SUITE / "suites").glob("*/*.xml"))
R5_CONSTRAINTS = FIXTURES / "fhirpath" / "r5-constraint-expressions.json"


@dataclass(frozen=True)
class SuiteCase:
    """One ``<test>`` of a suite file."""

    file: str
    name: str
    expression: str
    invalid: str | None
    input_file: str | None
    mode: str | None
    outputs: tuple[tuple[str, str], ...]
    #: ``predicate="true"``: the result is read as ``exists()``.
    predicate: bool = False
    #: ``ordered="false"``: the outputs may come in any order.
    ordered: bool = True

    @property
    def id(self) -> str:
        return f"{self.file}:{self.name}"


def suite_cases(path: Path) -> list[SuiteCase]:
    """Every test of one suite file, in file order."""
    root = ET.parse(path).getroot()
    # The R5 file declares a default namespace, the R4 files none: match local names.
    for element in root.iter():
        element.tag = element.tag.rsplit("}", 1)[-1]
    label = f"{path.parent.name}/{path.name}"
    cases = []
    for index, test in enumerate(root.iter("test")):
        expression = test.find("expression")
        if expression is None or expression.text is None:
            continue
        cases.append(
            SuiteCase(
                file=label,
                name=test.get("name") or f"#{index}",
                expression=expression.text,
                invalid=expression.get("invalid"),
                input_file=test.get("inputfile"),
                mode=test.get("mode") or expression.get("mode"),
                outputs=tuple(
                    (output.get("type", ""), output.text or "") for output in test.findall("output")
                ),
                predicate=test.get("predicate") == "true",
                ordered=test.get("ordered") != "false",
            )
        )
    return cases


def r5_constraints() -> dict[str, Any]:
    """The R5 core constraint expressions: ``defined`` entries and ``snapshot_only`` texts."""
    entries: dict[str, Any] = json.loads(R5_CONSTRAINTS.read_text(encoding="utf-8"))["entries"]
    return entries


def suite_input(name: str, release: str = "r5") -> Any:
    """A suite input resource as JSON (the XML inputs' JSON renderings)."""
    path = SUITE / "input" / f"json-{release}" / name.replace(".xml", ".json")
    # Decimals stay exact, with their written precision, as FHIR requires.
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def rendered(value: Any) -> str:
    """A result value written as the suite writes expected outputs."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, FP_Quantity):
        return f"{value.value} {value.unit}"
    if isinstance(value, FP_Time):
        return f"@T{value.asStr}"
    if isinstance(value, FP_DateTime):
        return f"@{value.asStr}"
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, Temporal):
        return f"@T{value.text}" if value.kind == "Time" else f"@{value.text}"
    return str(value)


def output_matches(value: Any, expected_type: str, expected: str) -> bool:
    """Whether one result value is the expected output (decimals: same value and places;
    a date/time element's JSON string: its ``@`` literal; an untyped output: its text or,
    for a number, its value)."""
    if expected_type == "decimal" and isinstance(value, Decimal | int):
        wanted = Decimal(expected)
        return Decimal(value) == wanted and Decimal(value).as_tuple().exponent == (
            wanted.as_tuple().exponent
        )
    if expected_type in ("date", "dateTime", "instant", "time") and isinstance(value, str):
        return value == expected.removeprefix("@").removeprefix("T")
    if not expected_type and isinstance(value, Decimal) and not isinstance(value, bool):
        try:
            return value == Decimal(expected)
        except ArithmeticError:
            return False
    return rendered(value) == expected
