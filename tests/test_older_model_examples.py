"""The official examples written against older ImagingSelection models.

Each must give errors naming every element that no longer exists or has changed type
or cardinality, with its location, and nothing else. The expected errors below were
worked out by reading each file against definitions/ImagingSelection.md:

- ``instances``, ``frameOfReference``, ``imageRegion``, ``instance.frameList``,
  ``instance.subset`` and ``instance.observationUid`` no longer exist (``instances`` is
  reported once; its content cannot be placed in the model);
- ``instance.sopClass`` was a Coding and is now an ``oid`` (a primitive);
- ``derivedFrom`` was a list and is now 0..1;
- the JSON examples write DICOM UIDs as ``urn:oid:…``, which is not a valid ``id``
  (``studyUid``, ``seriesUid``, ``frameOfReferenceUid``, ``instance.uid`` are ``id``);
- ``status`` (1..1) is missing from all JSON examples and from three XML ones.
"""

from __future__ import annotations

import pytest

from tests.imagingselection_examples import OLDER_MODEL, load

MISSING_STATUS = ("ImagingSelection", "required")
DERIVED_FROM_LIST = ("ImagingSelection.derivedFrom", "structure")
UIDS = [("ImagingSelection.studyUid", "value"), ("ImagingSelection.seriesUid", "value")]
OLDEST_TOP_LEVEL = [
    ("ImagingSelection.frameOfReference", "structure"),
    ("ImagingSelection.instances", "structure"),
]

EXPECTED = {
    "imagingselection-example-2d-image-region-selection.json": [
        MISSING_STATUS,
        DERIVED_FROM_LIST,
        *UIDS,
        ("ImagingSelection.frameOfReferenceUid", "value"),
        ("ImagingSelection.instance[0].uid", "value"),
        ("ImagingSelection.instance[0].imageRegion", "structure"),
        ("ImagingSelection.instance[0].sopClass", "structure"),
    ],
    "imagingselection-example-2d-image-region-selection.xml": [
        ("ImagingSelection.instance[0].imageRegion", "structure"),
        ("ImagingSelection.instance[0].sopClass", "structure"),
    ],
    "imagingselection-example-3d-image-region-selection.json": [
        MISSING_STATUS,
        DERIVED_FROM_LIST,
        *UIDS,
        *OLDEST_TOP_LEVEL,
    ],
    "imagingselection-example-3d-image-region-selection.xml": [
        ("ImagingSelection.imageRegion", "structure"),
        ("ImagingSelection.instance[0].sopClass", "structure"),
    ],
    "imagingselection-example-basic-image-selection.json": [
        MISSING_STATUS,
        DERIVED_FROM_LIST,
        *UIDS,
        *OLDEST_TOP_LEVEL,
    ],
    "imagingselection-example-basic-image-selection.xml": [
        ("ImagingSelection.instance[0].sopClass", "structure"),
        ("ImagingSelection.instance[1].sopClass", "structure"),
    ],
    "imagingselection-example-dicom-sr-selection.json": [
        MISSING_STATUS,
        DERIVED_FROM_LIST,
        *UIDS,
        *OLDEST_TOP_LEVEL,
    ],
    "imagingselection-example-dicom-sr-selection.xml": [
        MISSING_STATUS,
        ("ImagingSelection.instance[0].sopClass", "structure"),
        ("ImagingSelection.instance[0].subset", "structure"),
    ],
    "imagingselection-example-multiframe-image-selection.json": [
        MISSING_STATUS,
        DERIVED_FROM_LIST,
        *UIDS,
        ("ImagingSelection.frameOfReferenceUid", "value"),
        ("ImagingSelection.instance[0].uid", "value"),
        ("ImagingSelection.instance[0].frameList", "structure"),
        ("ImagingSelection.instance[0].sopClass", "structure"),
    ],
    "imagingselection-example-multiframe-image-selection.xml": [
        MISSING_STATUS,
        ("ImagingSelection.instance[0].sopClass", "structure"),
        ("ImagingSelection.instance[0].subset", "structure"),
    ],
    "imagingselection-example-presentation-state-selection.json": [
        MISSING_STATUS,
        DERIVED_FROM_LIST,
        *UIDS,
        ("ImagingSelection.frameOfReferenceUid", "value"),
        ("ImagingSelection.instance[0].uid", "value"),
        ("ImagingSelection.instance[0].sopClass", "structure"),
    ],
    "imagingselection-example-presentation-state-selection.xml": [
        ("ImagingSelection.instance[0].sopClass", "structure"),
    ],
    "imagingselection-example-segmentation-image-selection.json": [
        MISSING_STATUS,
        DERIVED_FROM_LIST,
        *UIDS,
        *OLDEST_TOP_LEVEL,
    ],
    "imagingselection-example-segmentation-image-selection.xml": [
        MISSING_STATUS,
        ("ImagingSelection.instance[0].sopClass", "structure"),
        ("ImagingSelection.instance[0].subset", "structure"),
    ],
}


def test_every_older_example_has_an_expectation():
    assert sorted(EXPECTED) == sorted(OLDER_MODEL)
    assert len(OLDER_MODEL) == 14


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_older_example_errors_name_each_changed_element(validator, definitions, name):
    report = validator.validate(load(name, definitions))
    errors = sorted((i.location, i.code) for i in report.issues if i.severity == "error")
    assert errors == sorted(EXPECTED[name])
    assert not report.valid


def test_messages_name_the_element(validator, definitions):
    report = validator.validate(
        load("imagingselection-example-dicom-sr-selection.xml", definitions)
    )
    by_location = {i.location: i.message for i in report.issues if i.severity == "error"}
    assert "'subset'" in by_location["ImagingSelection.instance[0].subset"]
    assert "oid" in by_location["ImagingSelection.instance[0].sopClass"]
    assert "'status'" in by_location["ImagingSelection"]
