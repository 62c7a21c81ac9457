"""isl-1 … isl-11 on resources built from the official current-model examples.

Each case changes an official example the way a real producer could get it wrong
(or right), and asserts the exact set of ImagingSelection invariants that fail. The
expected sets are worked out from the constraint texts in definitions/ImagingSelection.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.imagingselection_examples import CURRENT_MODEL

ISL_KEYS = {f"isl-{n}" for n in range(1, 12)}


def failing_isl(validator, resource: dict[str, Any]) -> set[str]:
    return {i.key for i in validator.validate(resource).issues if i.key in ISL_KEYS}


def region3d(coordinates: int) -> dict[str, Any]:
    return {"regionType": "point", "coordinate": [float(n) for n in range(coordinates)]}


def region2d(coordinates: int) -> dict[str, Any]:
    return {"regionType": "polyline", "coordinate": [float(n) + 0.5 for n in range(coordinates)]}


@pytest.mark.parametrize("name", CURRENT_MODEL)
def test_current_model_examples_pass_every_isl_constraint(validator, official_examples, name):
    assert failing_isl(validator, official_examples[name]) == set()


def test_isl_1_fails_without_series_uid_or_3d_region(validator, example):
    res = example("mg")
    del res["seriesUid"]
    # seriesNumber and modality are now present without seriesUid as well (isl-3, isl-9)
    assert failing_isl(validator, res) == {"isl-1", "isl-3", "isl-9"}


def test_isl_1_passes_with_a_3d_region_instead_of_a_series(validator, example):
    res = example("mg")
    for name in ("seriesUid", "seriesNumber", "modality"):
        del res[name]
    res["frameOfReferenceUid"] = "1.2.3.4"
    res["imageRegion3D"] = [region3d(3)]
    assert failing_isl(validator, res) == set()


def test_isl_2_fails_when_series_has_no_study(validator, example):
    res = example("waveform")
    del res["studyUid"]
    assert failing_isl(validator, res) == {"isl-2"}


def test_isl_3_fails_when_series_number_has_no_series_uid(validator, example):
    res = example("waveform")
    del res["seriesUid"]
    del res["instance"]
    res["imageRegion3D"] = [region3d(3)]
    assert failing_isl(validator, res) == {"isl-3"}


def test_isl_4_fails_when_instances_have_no_series_uid(validator, example):
    res = example("rt-structure")
    del res["seriesUid"]
    del res["seriesNumber"]
    res["imageRegion3D"] = [region3d(6)]
    assert failing_isl(validator, res) == {"isl-4"}


def test_isl_5_fails_when_3d_region_has_no_frame_of_reference(validator, example):
    res = example("mg")
    res["imageRegion3D"] = [region3d(3)]
    assert "frameOfReferenceUid" not in res
    assert failing_isl(validator, res) == {"isl-5"}


def test_isl_6_fails_when_both_2d_and_3d_regions_are_present(validator, example):
    res = example("waveform")
    res["instance"][0]["imageRegion2D"] = [region2d(4)]
    res["imageRegion3D"] = [region3d(3)]
    assert failing_isl(validator, res) == {"isl-6"}


def test_isl_7_fails_on_an_odd_number_of_2d_coordinates(validator, example):
    res = example("single-frame")
    res["instance"][0]["imageRegion2D"] = [region2d(3)]
    assert failing_isl(validator, res) == {"isl-7"}


def test_isl_7_counts_coordinates_over_all_regions(validator, example):
    # 3 + 5 = 8: the seed's isl-7 counts every coordinate of every instance together
    res = example("single-frame")
    res["instance"][0]["imageRegion2D"] = [region2d(3), region2d(5)]
    assert failing_isl(validator, res) == set()


def test_isl_8_fails_on_3d_coordinates_not_a_multiple_of_three(validator, example):
    res = example("waveform")
    del res["instance"]
    res["imageRegion3D"] = [region3d(4)]
    assert failing_isl(validator, res) == {"isl-8"}


def test_isl_9_fails_when_modality_has_no_series_uid(validator, example):
    res = example("mg")
    del res["seriesUid"]
    del res["seriesNumber"]
    res["frameOfReferenceUid"] = "1.2.3.4"
    res["imageRegion3D"] = [region3d(3)]
    assert failing_isl(validator, res) == {"isl-9"}


def test_isl_10_fails_when_frames_and_regions_of_interest_are_mixed(validator, example):
    res = example("rt-structure")
    res["instance"][0]["frameNumber"] = [1]
    assert failing_isl(validator, res) == {"isl-10"}


def test_isl_10_passes_with_frames_only(validator, example):
    res = example("rt-structure")
    del res["instance"][0]["regionOfInterest"]
    res["instance"][0]["frameNumber"] = [1, 2, 3]
    assert failing_isl(validator, res) == set()


def test_isl_11_fails_on_an_odd_number_of_waveform_channels(validator, example):
    res = example("waveform")
    res["instance"][0]["waveFormChannel"].append(3)
    assert failing_isl(validator, res) == {"isl-11"}


def test_isl_11_passes_on_channel_pairs(validator, example):
    res = example("waveform")
    res["instance"][0]["waveFormChannel"].extend([1, 2])
    assert failing_isl(validator, res) == set()


def test_invariant_issue_carries_key_message_severity_and_root_location(validator, example):
    res = example("mg")
    del res["studyUid"]
    (issue,) = [i for i in validator.validate(res).issues if i.key == "isl-2"]
    assert issue.severity == "error"
    assert issue.code == "invariant"
    assert issue.location == "ImagingSelection"
    assert issue.message == (
        "Constraint failed: isl-2: 'seriesUid SHALL only be present if studyUid is present'"
    )
