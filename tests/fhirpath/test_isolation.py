"""Using the engine changes nothing for other users of fhirpathpy in the same process,
and a validator can be shared by several threads."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fhirpathpy
import fhirpathpy.models
import pytest
from fhirpathpy.engine.evaluators import evaluators
from fhirpathpy.engine.nodes import TypeInfo

import engine

from .suite import suite_input

_PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "birthDate": "1974-12-25",
    "_birthDate": {"extension": [{"url": "http://example.org/t", "valueString": "x"}]},
    "name": [{"given": ["Peter", "James"], "family": "Chalmers"}, {"given": ["Jim"]}],
    "gender": "male",
    "telecom": [{"system": "phone", "value": "(03) 5555 6473", "use": "work"}],
}

#: Twenty plain calls, several of which depend on state fhirpathpy keeps in modules and
#: classes: its member-access and logic evaluators, and the type model of ``ofType``/``is``.
_PLAIN_CALLS: list[tuple[str, dict[str, Any] | None]] = [
    ("Patient.active.ofType(boolean)", None),
    ("Patient.active.ofType(FHIR.boolean)", None),
    ("Patient.active is boolean", None),
    ("Patient.name.given", None),
    ("Patient.name.given.count()", None),
    ("Patient.birthDate.extension.url", None),
    ("Patient.birthDate > @1970-01-01", None),
    ("Patient.name.where(given = 'Jim').exists()", None),
    ("Patient.telecom.value.matches('[0-9 ()]+')", None),
    ("true and {}", None),
    ("false or {}", None),
    ("{} implies true", None),
    ("Patient.gender = 'male' and Patient.active", None),
    ("Patient.children().count()", None),
    ("Patient.descendants().count()", None),
    ("Patient.active.ofType(boolean)", fhirpathpy.models.models["r5"]),
    ("Patient.name.ofType(HumanName).count()", fhirpathpy.models.models["r5"]),
    ("Patient.name.given.ofType(string).count()", fhirpathpy.models.models["r5"]),
    ("Patient.active.ofType(boolean)", fhirpathpy.models.models["r4"]),
    # fhirpathpy's ofType() leaves the model of its last call in TypeInfo.model: end with a
    # call without one, so that the sequence leaves fhirpathpy as it found it.
    ("Patient.active.ofType(boolean)", None),
]


def _plain_results() -> list[Any]:
    results = []
    for expression, model in _PLAIN_CALLS:
        try:
            results.append(fhirpathpy.evaluate(copy.deepcopy(_PATIENT), expression, {}, model))
        except Exception as error:  # noqa: BLE001 - an error is a result to compare too
            results.append(f"error: {error}")
    return results


@pytest.mark.parametrize("evaluator", ["fhirpathpy"])
def test_validating_leaves_plain_fhirpathpy_as_it_was(evaluator: str) -> None:
    evaluators_before = dict(evaluators)
    model_before = TypeInfo.model
    before = _plain_results()
    assert _plain_results() == before, "the calls must not depend on each other"
    validator = engine.Validator(evaluator=evaluator)
    patient = copy.deepcopy(_PATIENT)
    assert validator.validate(patient).issues  # dom-6 at least: the rules did run
    observation = suite_input("observation-example.json")
    validator.validate(observation)
    assert _plain_results() == before
    assert dict(evaluators) == evaluators_before
    assert TypeInfo.model is model_before


def test_plain_fhirpathpy_calls_between_validations_do_not_change_verdicts() -> None:
    validator = engine.Validator(evaluator="fhirpathpy")
    observation = suite_input("observation-example.json")
    first = validator.validate(observation)
    _plain_results()
    assert validator.validate(observation) == first


def test_one_validator_gives_the_same_reports_from_several_threads() -> None:
    validator = engine.Validator(evaluator="fhirpathpy")
    resources = [
        suite_input(name)
        for name in (
            "observation-example.json",
            "patient-example.json",
            "questionnaire-example.json",
        )
    ] * 4
    serial = [validator.validate(copy.deepcopy(r)) for r in resources]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda r: validator.validate(copy.deepcopy(r)), resources))
    assert threaded == serial
