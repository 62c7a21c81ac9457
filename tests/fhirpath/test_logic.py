"""and / or / implies stop once the left operand decides, as the HL7 validator's engine does."""

from __future__ import annotations

import pytest

from engine.fhirpath.evaluation import FhirPathEvaluationError
from engine.fhirpath.reference.evaluator import evaluate

PATIENT = {"resourceType": "Patient", "name": [{"given": ["Jim", "Jo"]}]}
#: Raises when evaluated: single() on two items.
FAILS = "name.given.single() = 'Jim'"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (f"false and {FAILS}", [False]),
        (f"true or {FAILS}", [True]),
        (f"false implies {FAILS}", [True]),
        ("name.given.exists() and name.given.count() = 2", [True]),
        ("{} and false", [False]),
        ("{} and true", []),
        ("{} or true", [True]),
        ("{} implies false", []),
        ("true implies {}", []),
        ("true xor false", [True]),
    ],
)
def test_three_valued_logic(expression: str, expected: list[bool]) -> None:
    assert evaluate(expression, PATIENT) == expected


@pytest.mark.parametrize("expression", [f"true and {FAILS}", f"false or {FAILS}"])
def test_the_right_operand_still_runs_when_needed(expression: str) -> None:
    with pytest.raises(FhirPathEvaluationError):
        evaluate(expression, PATIENT)
