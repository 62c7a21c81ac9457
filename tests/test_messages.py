"""What the issues say: the format rule a value breaks, the whole value, the element a
misspelt property probably meant, and ele-1 on empty primitive values."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.validation.checks import describe_pattern

R5_EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "r5-examples"


def _example(name: str) -> dict[str, Any]:
    return json.loads((R5_EXAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> engine.Validator:
    return engine.Validator()


def _messages(report: engine.Report, location: str) -> list[str]:
    return [i.message for i in report.issues if i.location == location]


def test_a_format_error_names_the_rule_and_shows_the_whole_value(
    validator: engine.Validator,
) -> None:
    patient = _example("Patient-example.json")
    value = "urn:oid:1.2.840.113747.20080222.83341314456631405224970741290.12.1"
    patient["id"] = value
    (message,) = _messages(validator.validate(patient), "Patient.id")
    assert message == (
        f"The value '{value}' is not a valid id (id: 1–64 characters from A–Z a–z 0–9 - .)"
    )


def test_a_pattern_that_is_not_one_set_of_characters_is_shown_as_it_is(
    validator: engine.Validator,
) -> None:
    patient = _example("Patient-example.json")
    patient["birthDate"] = "1974-13-25"
    (message,) = _messages(validator.validate(patient), "Patient.birthDate")
    pattern = validator.definitions["date"].element("date.value").regex
    assert message == f"The value '1974-13-25' is not a valid date (date: the pattern {pattern})"


def test_a_very_long_value_is_cut_short_with_its_length(validator: engine.Validator) -> None:
    patient = _example("Patient-example.json")
    patient["id"] = "a" * 5000
    (message,) = _messages(validator.validate(patient), "Patient.id")
    assert "(5000 characters)" in message and len(message) < 500


@pytest.mark.parametrize(
    ("resource_type", "misspelt", "meant"),
    [
        ("Patient", "birthdate", "birthDate"),
        ("Patient", "gendre", "gender"),
        ("Patient", "_birthdate", "_birthDate"),
        ("Observation", "valueQuanity", "valueQuantity"),
    ],
)
def test_an_unknown_property_suggests_the_nearest_known_one(
    validator: engine.Validator, resource_type: str, misspelt: str, meant: str
) -> None:
    name = "Patient-example.json" if resource_type == "Patient" else "Observation-example.json"
    resource = _example(name)
    resource[misspelt] = copy.deepcopy(resource.get(meant.lstrip("_"), "x"))
    (message,) = _messages(validator.validate(resource), f"{resource_type}.{misspelt}")
    assert message == f"Unrecognized property '{misspelt}': did you mean '{meant}'?"


def test_an_unknown_property_like_nothing_known_gets_no_suggestion(
    validator: engine.Validator,
) -> None:
    patient = _example("Patient-example.json")
    patient["favouriteColour"] = "blue"
    (message,) = _messages(validator.validate(patient), "Patient.favouriteColour")
    assert message == "Unrecognized property 'favouriteColour'"


def test_describe_pattern_on_every_bundled_primitive_pattern() -> None:
    definitions = engine.bundled_definitions()
    described = {}
    for name in definitions:
        sd = definitions[name]
        value = sd.get(f"{name}.value")
        if sd.kind == "primitive-type" and value is not None and value.regex:
            described[name] = describe_pattern(value.regex)
    assert described["id"] == "1–64 characters from A–Z a–z 0–9 - ."
    assert all(text.startswith("the pattern ") for key, text in described.items() if key != "id")


@pytest.mark.parametrize("evaluator", engine.fhirpath.EVALUATORS)
def test_an_empty_primitive_value_fails_ele_1_too(evaluator: str) -> None:
    bundle = _example("Bundle-bundle-response.json")
    bundle["entry"][0]["fullUrl"] = ""
    report = engine.Validator(evaluator=evaluator).validate(bundle)
    found = [(i.code, i.key) for i in report.issues if i.location == "Bundle.entry[0].fullUrl"]
    assert found == [("value", None), ("invariant", "ele-1")]


def test_a_primitive_with_a_value_passes_ele_1(validator: engine.Validator) -> None:
    bundle = _example("Bundle-bundle-response.json")
    report = validator.validate(bundle)
    assert not [i for i in report.issues if i.key == "ele-1"]
