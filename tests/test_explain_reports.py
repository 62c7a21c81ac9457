"""Explanations of failed constraints in issues, reports and every output format.

The FHIRPath side (which sub-expressions decide a verdict) is tested in
``tests/fhirpath/test_explain.py``; here, that a failure carries its explanation where
people and machines read it, and that nothing else changes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.cli import main

ROOT = Path(__file__).resolve().parent
R5_EXAMPLES = ROOT / "fixtures" / "r5-examples"


@pytest.fixture()
def odd_region(example) -> dict[str, Any]:
    """The official single-frame example with a 2D region of three coordinates (isl-7)."""
    selection = example("single-frame")
    selection["instance"][0]["imageRegion2D"] = [
        {"regionType": "polyline", "coordinate": [0.5, 0.5, 0.75]}
    ]
    return selection


def test_a_failed_constraint_carries_its_explanation(odd_region: dict[str, Any]) -> None:
    report = engine.Validator(explain=True).validate(odd_region)
    (isl_7,) = [i for i in report.issues if i.key == "isl-7"]
    assert isl_7.explanation == (
        "  instance.imageRegion2D.coordinate.exists() = true\n"
        "  instance.imageRegion2D.coordinate.count()  = 3\n"
        "  3 mod 2 = 0                                = false"
    )
    assert str(isl_7).endswith("\n" + isl_7.explanation)
    listed = [i for i in report.to_dict()["issues"] if i["key"] == "isl-7"]
    assert [i["explanation"] for i in listed] == [isl_7.explanation]
    outcome = report.to_operation_outcome()["issue"]
    found = [i.get("diagnostics") for i in outcome if i["details"]["text"] == isl_7.message]
    assert found == [isl_7.explanation]


@pytest.mark.parametrize("evaluator", engine.fhirpath.EVALUATORS)
def test_explanations_change_no_verdict_and_only_failures_get_one(
    odd_region: dict[str, Any], evaluator: str
) -> None:
    plain = engine.Validator(evaluator=evaluator).validate(copy.deepcopy(odd_region))
    explained = engine.Validator(evaluator=evaluator, explain=True).validate(odd_region)
    assert [(i.key, i.location, i.message) for i in explained.issues] == [
        (i.key, i.location, i.message) for i in plain.issues
    ]
    assert all(i.explanation is None for i in plain.issues)
    assert {i.key for i in explained.issues if i.explanation} == {
        i.key for i in explained.issues if i.code == "invariant"
    }


def test_every_failure_of_the_vendored_r5_examples_is_explained() -> None:
    validator = engine.Validator(explain=True)
    explained = 0
    for path in sorted(R5_EXAMPLES.glob("*.json")):
        report = validator.validate(json.loads(path.read_text(encoding="utf-8")))
        for issue in report.issues:
            if issue.code == "invariant":
                assert issue.explanation and "(no explanation" not in issue.explanation, (
                    path.name,
                    issue.key,
                )
                explained += 1
    assert explained >= 10


def test_the_command_line_explains_with_explain_only(capsys, tmp_path, odd_region) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(odd_region), encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    plain = capsys.readouterr().out
    assert "3 mod 2 = 0" not in plain
    assert main(["validate", "--explain", str(path)]) == 1
    text = capsys.readouterr().out
    assert "Constraint failed: isl-7" in text and "  3 mod 2 = 0" in text
    assert main(["validate", "--explain", "--format", "json", str(path)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    (isl_7,) = [i for i in json.loads(line)["issues"] if i["key"] == "isl-7"]
    assert isl_7["explanation"].endswith("= false")
    assert main(["validate", "--explain", "--format", "outcome", str(path)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    diagnostics = [i.get("diagnostics", "") for i in json.loads(line)["issue"]]
    assert any("3 mod 2 = 0" in d for d in diagnostics)


def test_the_command_line_takes_either_evaluator(capsys, tmp_path, odd_region) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(odd_region), encoding="utf-8")
    outputs = []
    for evaluator in engine.fhirpath.EVALUATORS:
        assert main(["validate", "--evaluator", evaluator, "--format", "json", str(path)]) == 1
        outputs.append(capsys.readouterr().out)
    assert len(set(outputs)) == 1 and "isl-7" in outputs[0]
