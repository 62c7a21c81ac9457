"""Constraints the engine cannot evaluate are reported once per resource, as information."""

from __future__ import annotations


def observation(**content) -> dict:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
        "status": "final",
        "code": {"text": "weight"},
        **content,
    }


def test_a_resolve_constraint_is_reported_as_information_not_as_a_failure(validator) -> None:
    report = validator.validate(observation(specimen={"reference": "Specimen/1"}))
    notes = [i for i in report.issues if i.severity == "information"]
    assert [(i.code, i.key, i.location) for i in notes] == [
        ("informational", "obs-9", "Observation")
    ]
    assert "resolve()" in notes[0].message and "not evaluated" in notes[0].message
    assert report.valid


def test_no_note_when_the_constraint_has_nothing_to_apply_to(validator) -> None:
    report = validator.validate(observation())
    assert [i for i in report.issues if i.severity == "information"] == []


def test_one_note_per_constraint_however_many_occurrences(validator) -> None:
    agent = {"who": {"reference": "Practitioner/1"}}
    provenance = {
        "resourceType": "Provenance",
        "id": "p1",
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
        "target": [{"reference": "Patient/1"}],
        "recorded": "2026-11-27T10:00:00Z",
        "agent": [agent, agent],
    }
    report = validator.validate(provenance)
    keys = sorted(i.key for i in report.issues if i.severity == "information")
    assert keys == ["prov-1", "prov-2", "prov-3"]
