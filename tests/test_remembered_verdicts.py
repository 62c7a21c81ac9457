"""Issues the validator remembers instead of computing again: those of a primitive value,
and the focus-only constraints of an object whose properties are all strings (a Coding,
a Period, a Reference…). Remembered or not, each is reported where its value stands, and
a report does not depend on what the validator saw before."""

from __future__ import annotations

from typing import Any

import engine


def _late_period() -> dict[str, str]:
    """A Period whose start is after its end: per-1 fails on it."""
    return {"start": "2020-02-01", "end": "2020-01-01"}


def _keyed(report: engine.Report, *keys: str) -> list[tuple[str | None, str]]:
    return [(i.key, i.location) for i in report.issues if i.key in keys]


def test_the_same_object_is_reported_at_each_place_it_stands(
    validator: engine.Validator,
) -> None:
    patient = {
        "resourceType": "Patient",
        "name": [
            {"family": "A", "period": _late_period()},
            {"family": "B", "period": _late_period()},
        ],
    }
    assert _keyed(validator.validate(patient), "per-1") == [
        ("per-1", "Patient.name[0].period"),
        ("per-1", "Patient.name[1].period"),
    ]


def test_a_remembered_report_equals_a_fresh_one(definitions: engine.Definitions) -> None:
    seasoned = engine.Validator(definitions)
    seasoned.validate({"resourceType": "Patient", "name": [{"period": _late_period()}]})
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "completed",
        "actualPeriod": _late_period(),
        "subject": {"type": "Patient"},
    }
    remembered = seasoned.validate(encounter)
    assert remembered.issues == engine.Validator(definitions).validate(encounter).issues
    assert _keyed(remembered, "per-1", "ref-2") == [
        ("per-1", "Encounter.actualPeriod"),
        ("ref-2", "Encounter.subject"),
    ]


def test_equal_objects_of_different_types_keep_their_own_verdicts(
    validator: engine.Validator,
) -> None:
    # {"display": "x"}: a Coding that breaks cod-1, a Reference that satisfies ref-2.
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"display": "x"}]},
        "subject": {"display": "x"},
        "focus": [{"display": "x"}],
    }
    assert _keyed(validator.validate(observation), "cod-1", "ref-2") == [
        ("cod-1", "Observation.code.coding[0]")
    ]


def test_an_object_with_other_values_than_strings_is_evaluated_each_time(
    validator: engine.Validator,
) -> None:
    # userSelected is a boolean: this Coding is evaluated, not looked up.
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"display": "x", "userSelected": True}, {"display": "x"}]},
    }
    assert _keyed(validator.validate(observation), "cod-1") == [
        ("cod-1", "Observation.code.coding[0]"),
        ("cod-1", "Observation.code.coding[1]"),
    ]
