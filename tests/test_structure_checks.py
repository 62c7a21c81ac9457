"""The structural checks a FHIR validator makes besides invariants: one test per check,
asserting code, severity and location, on resources built from the official examples."""

from __future__ import annotations

from typing import Any

import pytest


def issues_at(validator, resource: dict[str, Any], code: str) -> list[tuple[str, str]]:
    """(severity, location) of the issues with this code."""
    return [(i.severity, i.location) for i in validator.validate(resource).issues if i.code == code]


def messages(validator, resource: dict[str, Any], code: str) -> list[str]:
    return [i.message for i in validator.validate(resource).issues if i.code == code]


def test_clean_example_has_no_structural_issue(validator, example):
    report = validator.validate(example("waveform"))
    assert [i for i in report.issues if i.severity in ("error", "fatal")] == []
    assert report.valid and validator.is_valid(example("waveform"))
    assert not validator.is_valid({**example("waveform"), "status": "lost"})


def test_unknown_element_is_reported_where_it_stands(validator, example):
    res = example("waveform")
    res["instance"][0]["subset"] = ["1"]
    res["frameOfReference"] = "1.2.3"
    assert sorted(issues_at(validator, res, "structure")) == [
        ("error", "ImagingSelection.frameOfReference"),
        ("error", "ImagingSelection.instance[0].subset"),
    ]
    assert any("'subset'" in m for m in messages(validator, res, "structure"))


def test_missing_required_element(validator, example):
    res = example("waveform")
    del res["status"]
    del res["instance"][0]["uid"]
    found = [
        (i.severity, i.location, i.message)
        for i in validator.validate(res).issues
        if i.code == "required"
    ]
    assert sorted((s, loc) for s, loc, _ in found) == [
        ("error", "ImagingSelection"),
        ("error", "ImagingSelection.instance[0]"),
    ]
    assert any("'status'" in m for _, _, m in found)
    assert any("'uid'" in m for _, _, m in found)


def test_array_where_one_value_is_allowed(validator, example):
    res = example("waveform")
    res["code"] = [res["code"], {"text": "second"}]
    assert ("error", "ImagingSelection.code") in issues_at(validator, res, "structure")
    assert any("not an array" in m for m in messages(validator, res, "structure"))


def test_single_value_where_an_array_is_required(validator, example):
    res = example("waveform")
    res["identifier"] = res["identifier"][0]
    assert issues_at(validator, res, "structure") == [("error", "ImagingSelection.identifier")]
    assert any("must be an array" in m for m in messages(validator, res, "structure"))


def test_too_many_occurrences_of_a_single_element(validator, example):
    res = example("waveform")
    res["subject"] = [res["subject"], res["subject"]]
    found = messages(validator, res, "structure")
    assert any("maximum cardinality is 1, found 2" in m for m in found)


@pytest.mark.parametrize(
    ("element", "value", "why"),
    [
        ("seriesNumber", "3", "a JSON string for an unsignedInt"),
        ("seriesNumber", -1, "unsignedInt must be >= 0"),
        ("seriesNumber", 1.5, "unsignedInt must be whole"),
        ("studyUid", "urn:oid:1.2.3", "':' is not allowed in an id"),
        ("studyUid", "1" * 65, "an id has at most 64 characters"),
        ("studyUid", 12345, "a JSON number for an id"),
        ("issued", "2026-03-05", "an instant needs a time and a zone"),
        ("issued", "2026-03-05T10:30:10", "an instant needs a zone"),
        ("status", True, "a JSON boolean for a code"),
        ("status", " available", "a code has no leading whitespace"),
        ("id", "example waveform", "Resource.id is an id: no spaces"),
    ],
)
def test_primitive_values_are_checked_against_type_and_format(
    validator, example, element, value, why
):
    res = example("waveform")
    res[element] = value
    assert issues_at(validator, res, "value") == [("error", f"ImagingSelection.{element}")], why


@pytest.mark.parametrize(
    ("value", "valid"),
    [(0, False), (1, True), (-3, False), (2147483647, True)],
)
def test_positive_int_frame_numbers(validator, example, value, valid):
    res = example("rt-structure")
    del res["instance"][0]["regionOfInterest"]
    res["instance"][0]["frameNumber"] = [1, value]
    expected = [] if valid else [("error", "ImagingSelection.instance[0].frameNumber[1]")]
    assert issues_at(validator, res, "value") == expected


def test_decimal_coordinates_must_be_numbers(validator, example):
    res = example("single-frame")
    res["instance"][0]["imageRegion2D"] = [
        {"regionType": "point", "coordinate": [1.5, "2.5"]},
    ]
    assert issues_at(validator, res, "value") == [
        ("error", "ImagingSelection.instance[0].imageRegion2D[0].coordinate[1]")
    ]


def test_primitive_extension_in_underscore_form(validator, example):
    res = example("waveform")
    del res["status"]
    res["_status"] = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "unknown",
            }
        ]
    }
    report = validator.validate(res)
    assert [i for i in report.issues if i.severity in ("error", "fatal")] == []


def test_primitive_extension_with_unknown_content(validator, example):
    res = example("waveform")
    res["_status"] = {"colour": "blue"}
    assert issues_at(validator, res, "structure") == [("error", "ImagingSelection.status.colour")]


@pytest.mark.parametrize("code", ["available", "entered-in-error", "inactive", "unknown"])
def test_status_accepts_exactly_the_listed_codes(validator, example, code):
    res = example("waveform")
    res["status"] = code
    assert issues_at(validator, res, "code-invalid") == []


@pytest.mark.parametrize("code", ["final", "Available", "cancelled"])
def test_status_rejects_other_codes(validator, example, code):
    res = example("waveform")
    res["status"] = code
    assert issues_at(validator, res, "code-invalid") == [("error", "ImagingSelection.status")]


def test_2d_region_type_codes(validator, example):
    res = example("single-frame")
    res["instance"][0]["imageRegion2D"] = [
        {"regionType": "ellipse", "coordinate": [1, 2]},
        {"regionType": "polygon", "coordinate": [1, 2]},  # a 3D region type only
    ]
    assert issues_at(validator, res, "code-invalid") == [
        ("error", "ImagingSelection.instance[0].imageRegion2D[1].regionType")
    ]


def test_3d_region_type_codes(validator, example):
    res = example("waveform")
    del res["instance"]
    res["imageRegion3D"] = [
        {"regionType": "ellipsoid", "coordinate": [1, 2, 3]},
        {"regionType": "circle", "coordinate": [1, 2, 3]},  # a 2D region type only
    ]
    assert issues_at(validator, res, "code-invalid") == [
        ("error", "ImagingSelection.imageRegion3D[1].regionType")
    ]


@pytest.mark.parametrize(
    "subject",
    [{"reference": "Organization/1"}, {"type": "Organization", "identifier": {"value": "x"}}],
)
def test_reference_to_a_type_that_is_not_a_target(validator, example, subject):
    res = example("waveform")
    res["subject"] = subject
    found = [i for i in validator.validate(res).issues if i.location == "ImagingSelection.subject"]
    assert [(i.severity, i.code) for i in found] == [("error", "structure")]
    assert "Organization" in found[0].message and "Patient" in found[0].message


@pytest.mark.parametrize(
    "subject",
    [
        {"reference": "Patient/1"},
        {"reference": "https://example.org/fhir/Specimen/abc"},
        {"type": "Group", "identifier": {"value": "x"}},
    ],
)
def test_reference_to_an_allowed_target(validator, example, subject):
    res = example("waveform")
    res["subject"] = subject
    assert [i for i in validator.validate(res).issues if i.severity == "error"] == []


def test_missing_resource_type(validator, example):
    res = example("waveform")
    del res["resourceType"]
    (issue,) = validator.validate(res).issues
    assert (issue.severity, issue.code) == ("fatal", "required")


def test_unknown_resource_type(validator, example):
    res = example("waveform")
    res["resourceType"] = "ImagingSelectionX"
    (issue,) = validator.validate(res).issues
    assert (issue.severity, issue.code, issue.location) == (
        "fatal",
        "not-supported",
        "ImagingSelectionX",
    )


def test_contained_resources_are_validated_with_their_own_definitions(validator, example):
    res = example("waveform")
    res["contained"] = [{"resourceType": "Patient", "id": "p1", "gender": "purple"}]
    res["subject"] = {"reference": "#p1"}
    found = [(i.severity, i.code, i.location) for i in validator.validate(res).issues]
    assert ("error", "code-invalid", "ImagingSelection.contained[0].gender") in found
    assert not [f for f in found if f[2] == "ImagingSelection.subject"]


def test_contained_reference_to_a_wrong_type(validator, example):
    res = example("waveform")
    res["contained"] = [{"resourceType": "Organization", "id": "o1", "name": "x"}]
    res["subject"] = {"reference": "#o1"}
    assert ("error", "ImagingSelection.subject") in issues_at(validator, res, "structure")


@pytest.mark.parametrize("value", [None, [], "text", 42, [{"resourceType": "ImagingSelection"}]])
def test_a_non_object_is_a_fatal_issue_not_a_crash(validator, value):
    (issue,) = validator.validate(value).issues
    assert issue.severity == "fatal"


def test_wrong_json_types_everywhere_give_issues_not_crashes(validator, example):
    res = example("waveform")
    res["identifier"] = [1, "x", None, [], {"system": 5}]
    res["subject"] = "Patient/1"
    res["instance"][0]["waveFormChannel"] = {"a": 1}
    res["code"] = {"coding": "none", "text": ["x"]}
    report = validator.validate(res)
    assert not report.valid
    locations = {i.location for i in report.issues}
    assert "ImagingSelection.subject" in locations
    assert "ImagingSelection.identifier[0]" in locations


def test_deep_nesting_is_reported_not_a_crash(validator, example):
    res = example("waveform")
    ext: dict[str, Any] = {"url": "http://example.org/leaf", "valueString": "x"}
    for _ in range(2000):
        ext = {"url": "http://example.org/nested", "extension": [ext]}
    res["extension"] = [ext]
    report = validator.validate(res)
    assert any("nested deeper" in i.message for i in report.issues)


def test_huge_arrays_are_validated(validator, example):
    res = example("waveform")
    channels = list(range(1, 20001))
    channels[12345] = 0
    res["instance"][0]["waveFormChannel"] = channels
    errors = [(i.code, i.location) for i in validator.validate(res).issues if i.severity == "error"]
    assert errors == [("value", "ImagingSelection.instance[0].waveFormChannel[12345]")]


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("2", []),
        ("-9223372036854775808", []),
        (2, [("error", "SubscriptionStatus.eventsSinceSubscriptionStart")]),
        ("02", [("error", "SubscriptionStatus.eventsSinceSubscriptionStart")]),
    ],
)
def test_integer64_is_a_json_string(validator, value, errors):
    status = {
        "resourceType": "SubscriptionStatus",
        "type": "event-notification",
        "subscription": {"reference": "Subscription/1"},
        "eventsSinceSubscriptionStart": value,
    }
    assert issues_at(validator, status, "value") == errors
