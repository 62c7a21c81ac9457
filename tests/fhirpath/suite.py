"""Read the official FHIRPath test suite fixtures (tests/fixtures/fhirpath-suite)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
                mode=test.get("mode"),
                outputs=tuple(
                    (output.get("type", ""), output.text or "") for output in test.findall("output")
                ),
            )
        )
    return cases


def r5_constraints() -> dict[str, Any]:
    """The R5 core constraint expressions: ``defined`` entries and ``snapshot_only`` texts."""
    entries: dict[str, Any] = json.loads(R5_CONSTRAINTS.read_text(encoding="utf-8"))["entries"]
    return entries


def suite_input(name: str) -> Any:
    """A suite input resource as JSON (the XML inputs' JSON renderings)."""
    path = SUITE / "input" / "json-r5" / name.replace(".xml", ".json")
    return json.loads(path.read_text(encoding="utf-8"))
