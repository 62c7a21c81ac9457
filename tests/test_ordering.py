"""Issues come in document order: entry[2] before entry[10] before entry[1000].

The Bundle is built from official R5 examples: 1,005 entries cycling through four small
ones, one of which (Encounter-example) has an error in every copy (its careTeam refers
to an Encounter), so that issues are spread over the whole Bundle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.cli import main
from engine.io.batch import Checker
from engine.io.inputs import RawResource
from engine.validation.report import Issue, Report, location_order

R5 = Path(__file__).parent / "fixtures" / "r5-examples"
SMALL = ("Encounter-example", "ServiceRequest-example", "Coverage-SP1234", "AllergyIntolerance-nka")
ENTRIES = 1005


def _bundle() -> dict[str, Any]:
    examples = [json.loads((R5 / f"{name}.json").read_text(encoding="utf-8")) for name in SMALL]
    entries = []
    for n in range(ENTRIES):
        resource = dict(examples[n % len(examples)], id=f"e{n}")
        entries.append({"fullUrl": f"urn:uuid:{n}", "resource": resource})
    return {"resourceType": "Bundle", "id": "big", "type": "collection", "entry": entries}


@pytest.fixture(scope="module")
def bundle_text() -> str:
    return json.dumps(_bundle(), indent=1)


def _entry(issue: Issue) -> int:
    found = re.match(r"Bundle\.entry\[(\d+)\]", issue.location)
    return int(found[1]) if found else -1


def _assert_document_order(issues: tuple[Issue, ...]) -> None:
    entries = [_entry(i) for i in issues]
    assert entries == sorted(entries)
    # Spread over the whole Bundle (every fourth entry), so text order would differ.
    assert {4, 8, 100, 1000, 1004}.issubset(entries)


def test_without_positions_issues_sort_by_location_with_numeric_indices(bundle_text) -> None:
    report = engine.Validator().validate(json.loads(bundle_text))
    assert len(report.issues) >= ENTRIES // len(SMALL)
    assert all(i.line is None for i in report.issues)
    ordered = report.sorted_issues()
    _assert_document_order(ordered)
    # Sorted as text, entry[1000] would come before entry[2].
    as_text = sorted(report.issues, key=lambda i: i.location)
    assert _entry(as_text[1]) != _entry(ordered[1])


def test_with_positions_issues_sort_by_line_and_column(bundle_text) -> None:
    checker = Checker(engine.bundled_definitions())
    result = checker(RawResource("big.json", "big.json", bundle_text.encode(), "json"))
    ordered = result.report.sorted_issues()
    _assert_document_order(ordered)
    positions = [(i.line, i.column) for i in ordered]
    assert positions == sorted(positions)  # type: ignore[type-var]
    assert positions[-1][0] > positions[0][0]  # type: ignore[operator]


def test_the_text_output_lists_issues_in_document_order(bundle_text, tmp_path, capsys) -> None:
    path = tmp_path / "big.json"
    path.write_text(bundle_text, encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    entries = [int(m[1]) for line in lines if (m := re.search(r"@ Bundle\.entry\[(\d+)\]", line))]
    assert len(entries) >= ENTRIES // len(SMALL) and entries == sorted(entries)
    numbers = [int(m[1]) for line in lines if (m := re.search(r" \(line (\d+), col", line))]
    assert len(numbers) == len(entries) and numbers == sorted(numbers)


def test_the_machine_formats_list_issues_in_document_order() -> None:
    issues = (
        Issue("error", "value", "Bundle.entry[10].resource.status", "b"),
        Issue("error", "value", "Bundle.entry[2].resource.status", "a"),
    )
    report = Report(issues=issues)
    assert [i["message"] for i in report.to_dict()["issues"]] == ["a", "b"]
    outcome = report.to_operation_outcome()
    assert [i["details"]["text"] for i in outcome["issue"]] == ["a", "b"]


def test_on_one_element_the_most_severe_comes_first() -> None:
    issues = (
        Issue("warning", "invariant", "Patient.name[0]", "w", "x-1"),
        Issue("information", "informational", "Patient.name[0]", "i"),
        Issue("error", "value", "Patient.name[0]", "e"),
        Issue("error", "value", "Patient.name[10]", "later"),
        Issue("fatal", "structure", "Patient.name[2]", "f"),
    )
    ordered = Report(issues=issues).sorted_issues()
    assert [i.message for i in ordered] == ["e", "w", "i", "f", "later"]


def test_issues_without_a_position_come_after_those_with_one() -> None:
    placed = Issue("warning", "invariant", "Patient.z", "placed", "x-1", 3, 1)
    unplaced = Issue("error", "value", "Patient.a", "unplaced")
    assert Report(issues=(unplaced, placed)).sorted_issues() == (placed, unplaced)


@pytest.mark.parametrize(
    "ordered",
    [
        ["Bundle", "Bundle.entry[2]", "Bundle.entry[2].resource", "Bundle.entry[10]"],
        ["Patient.name[9].given[10]", "Patient.name[10].given[2]"],
        ["Observation.component[1].value.ofType(Quantity)", "Observation.component[12]"],
    ],
)
def test_location_order_compares_indices_as_numbers(ordered: list[str]) -> None:
    assert sorted(reversed(ordered), key=location_order) == ordered
