"""Loading the seed, definitions/ImagingSelection.md, against values read out of the file
by hand (the expected values below are copied from the seed's text, not from the loader)."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.model import Binding, Cardinality, StructureDefinition

SEED = Path(__file__).resolve().parent.parent / "definitions" / "ImagingSelection.md"
IS = "ImagingSelection"

# path, heading line, cardinality, type codes, Reference targets, binding (strength, name)
ELEMENTS = [
    (IS, 7, "0..*", (), (), None),
    (f"{IS}.identifier", 13, "0..*", ("Identifier",), (), None),
    (f"{IS}.status", 22, "1..1", ("code",), (), ("required", "imagingselection-status")),
    (f"{IS}.category", 32, "0..*", ("CodeableConcept",), (), ("preferred", "sect_CID_7010.html")),
    (f"{IS}.modality", 41, "0..1", ("CodeableConcept",), (), ("extensible", "sect_CID_33.html")),
    (f"{IS}.code", 50, "1..1", ("CodeableConcept",), (), ("preferred", "image-reference-type")),
    (
        f"{IS}.subject",
        60,
        "0..1",
        ("Reference",),
        (
            "Patient",
            "Group",
            "Device",
            "Procedure",
            "Practitioner",
            "Medication",
            "Substance",
            "Specimen",
        ),
        None,
    ),
    (f"{IS}.issued", 67, "0..1", ("instant",), (), None),
    (f"{IS}.performer", 74, "0..*", ("BackboneElement",), (), None),
    (
        f"{IS}.performer.function",
        81,
        "0..1",
        ("CodeableConcept",),
        (),
        ("extensible", "series-performer-function"),
    ),
    (
        f"{IS}.performer.actor",
        90,
        "1..1",
        ("Reference",),
        (
            "Practitioner",
            "PractitionerRole",
            "Device",
            "Organization",
            "CareTeam",
            "Patient",
            "RelatedPerson",
            "HealthcareService",
        ),
        None,
    ),
    (
        f"{IS}.basedOn",
        97,
        "0..*",
        ("Reference",),
        ("CarePlan", "ServiceRequest", "Appointment", "Task"),
        None,
    ),
    (
        f"{IS}.derivedFrom",
        106,
        "0..1",
        ("Reference",),
        ("ImagingStudy", "DocumentReference"),
        None,
    ),
    (f"{IS}.studyUid", 112, "0..1", ("id",), (), None),
    (f"{IS}.seriesUid", 122, "0..1", ("id",), (), None),
    (f"{IS}.seriesNumber", 133, "0..1", ("unsignedInt",), (), None),
    (f"{IS}.frameOfReferenceUid", 144, "0..1", ("id",), (), None),
    (f"{IS}.bodySite", 154, "0..*", ("CodeableReference",), (), ("example", "body-site")),
    (f"{IS}.focus", 163, "0..*", ("Reference",), ("ImagingSelection",), None),
    (f"{IS}.endpoint", 171, "0..*", ("Reference",), ("Endpoint",), None),
    (f"{IS}.instance", 177, "0..*", ("BackboneElement",), (), None),
    (f"{IS}.instance.uid", 185, "1..1", ("id",), (), None),
    (f"{IS}.instance.number", 196, "0..1", ("unsignedInt",), (), None),
    (f"{IS}.instance.sopClass", 208, "0..1", ("oid",), (), None),
    (f"{IS}.instance.frameNumber", 216, "0..*", ("positiveInt",), (), None),
    (f"{IS}.instance.referencedContentItemIdentifier", 224, "0..*", ("positiveInt",), (), None),
    (f"{IS}.instance.segmentNumber", 232, "0..*", ("positiveInt",), (), None),
    (f"{IS}.instance.regionOfInterest", 240, "0..*", ("positiveInt",), (), None),
    (f"{IS}.instance.waveFormChannel", 248, "0..*", ("positiveInt",), (), None),
    (f"{IS}.instance.imageRegion2D", 257, "0..*", ("BackboneElement",), (), None),
    (
        f"{IS}.instance.imageRegion2D.regionType",
        264,
        "1..1",
        ("code",),
        (),
        ("required", "imagingselection-2dgraphictype"),
    ),
    (f"{IS}.instance.imageRegion2D.coordinate", 273, "1..*", ("decimal",), (), None),
    (f"{IS}.imageRegion3D", 284, "0..*", ("BackboneElement",), (), None),
    (
        f"{IS}.imageRegion3D.regionType",
        291,
        "1..1",
        ("code",),
        (),
        ("required", "imagingselection-3dgraphictype"),
    ),
    (f"{IS}.imageRegion3D.coordinate", 300, "1..*", ("decimal",), (), None),
]

_ISL_10 = (
    "(instance.frameNumber.exists() implies (instance.referencedContentItemIdentifier.exists() "
    "or instance.segmentNumber.exists() or instance.regionOfInterest.exists() or "
    "instance.waveFormChannel.exists()).not()) and "
    "(instance.referencedContentItemIdentifier.exists() implies "
    "(instance.frameNumber.exists() or instance.segmentNumber.exists() or "
    "instance.regionOfInterest.exists() or instance.waveFormChannel.exists()).not()) and "
    "(instance.segmentNumber.exists() implies (instance.frameNumber.exists() or "
    "instance.referencedContentItemIdentifier.exists() or instance.regionOfInterest.exists() "
    "or instance.waveFormChannel.exists()).not()) and "
    "(instance.regionOfInterest.exists() implies (instance.frameNumber.exists() or "
    "instance.referencedContentItemIdentifier.exists() or instance.segmentNumber.exists() or "
    "instance.waveFormChannel.exists()).not()) and "
    "(instance.waveFormChannel.exists() implies (instance.frameNumber.exists() or "
    "instance.referencedContentItemIdentifier.exists() or instance.segmentNumber.exists() or "
    "instance.regionOfInterest.exists()).not())"
)

# key, human, expression: copied from line 11 of the seed
CONSTRAINTS = [
    (
        "isl-1",
        "At least one of seriesUid or imageRegion3D SHALL be present",
        "seriesUid.exists() or imageRegion3D.exists()",
    ),
    (
        "isl-2",
        "seriesUid SHALL only be present if studyUid is present",
        "seriesUid.exists() implies studyUid.exists()",
    ),
    (
        "isl-3",
        "seriesNumber SHALL only be present if seriesUid is present",
        "seriesNumber.exists() implies seriesUid.exists()",
    ),
    (
        "isl-4",
        "instance SHALL only be present if seriesUid is present",
        "instance.exists() implies seriesUid.exists()",
    ),
    (
        "isl-5",
        "imageRegion3D SHALL only be present if frameOfReferenceUid is present",
        "imageRegion3D.exists() implies frameOfReferenceUid.exists()",
    ),
    (
        "isl-6",
        "imageRegion3D SHALL only be present if instance.imageRegion2D is not present",
        "imageRegion3D.exists() implies instance.imageRegion2D.empty()",
    ),
    (
        "isl-7",
        "if present, instance.imageRegion2D.coordinate SHALL have a value count that is a "
        "multiple of 2",
        "instance.imageRegion2D.coordinate.exists() implies "
        "instance.imageRegion2D.coordinate.count() mod 2 = 0",
    ),
    (
        "isl-8",
        "if present, imageRegion3D.coordinate SHALL have a value count that is a multiple of 3",
        "imageRegion3D.coordinate.exists() implies imageRegion3D.coordinate.count() mod 3 = 0",
    ),
    (
        "isl-9",
        "modality SHALL only be present if seriesUid is present",
        "modality.exists() implies seriesUid.exists()",
    ),
    (
        "isl-10",
        "only one of instance.frameNumber, instance.referencedContentItemIdentifier, "
        "instance.segmentNumber, instance.regionOfInterest and instance.waveFormChannel SHALL "
        "be present",
        _ISL_10,
    ),
    (
        "isl-11",
        "if present, instance.waveFormChannel SHALL have a value count that is a multiple of 2",
        "instance.waveFormChannel.exists() implies instance.waveFormChannel.count() mod 2 = 0",
    ),
]


@pytest.fixture(scope="module")
def seed() -> StructureDefinition:
    definitions = engine.load_definitions(SEED)
    assert list(definitions) == [IS]
    return definitions[IS]


def test_seed_type(seed: StructureDefinition) -> None:
    assert seed.name == IS
    assert seed.kind == "resource"
    assert seed.base == "DomainResource"
    assert seed.abstract is False
    assert seed.title == "ImagingSelection Definitions"
    assert seed.front_matter == {}
    assert seed.source == engine.model.Source(str(SEED), 1)


def test_seed_has_35_elements_in_file_order(seed: StructureDefinition) -> None:
    assert len(seed.elements) == 35
    assert [e.path for e in seed.elements] == [row[0] for row in ELEMENTS]


@pytest.mark.parametrize(
    ("path", "line", "cardinality", "codes", "targets", "binding"),
    ELEMENTS,
    ids=[row[0] for row in ELEMENTS],
)
def test_seed_element(
    seed: StructureDefinition,
    path: str,
    line: int,
    cardinality: str,
    codes: tuple[str, ...],
    targets: tuple[str, ...],
    binding: tuple[str, str] | None,
) -> None:
    element = seed.element(path)
    assert element.source.line == line
    assert str(element.cardinality) == cardinality
    assert element.type_codes == codes
    assert tuple(t for type_ref in element.types for t in type_ref.target_types) == targets
    if binding is None:
        assert element.binding is None
    else:
        strength, name = binding
        assert element.binding == Binding(strength, name, f"/valueset-{name}")  # type: ignore[arg-type]


def test_seed_constraints_exact(seed: StructureDefinition) -> None:
    constraints = seed.constraints
    assert [c.key for c in constraints] == [f"isl-{n}" for n in range(1, 12)]
    for constraint, (key, human, expression) in zip(constraints, CONSTRAINTS, strict=True):
        assert constraint.key == key
        assert constraint.human == human
        assert constraint.expression == expression, key
        assert constraint.severity == "error"
        assert constraint.context == IS
        assert constraint.source == engine.model.Source(str(SEED), 11)
    assert seed.root.constraints == constraints


def test_seed_element_tree(seed: StructureDefinition) -> None:
    instance = seed.element(f"{IS}.instance")
    assert instance.repeats
    assert seed.parent(instance) is seed.root
    assert [c.name for c in seed.children(instance)] == [
        "uid",
        "number",
        "sopClass",
        "frameNumber",
        "referencedContentItemIdentifier",
        "segmentNumber",
        "regionOfInterest",
        "waveFormChannel",
        "imageRegion2D",
    ]
    assert [c.name for c in seed.children(f"{IS}.instance.imageRegion2D")] == [
        "regionType",
        "coordinate",
    ]
    assert not seed.element(f"{IS}.instance.uid").repeats
    assert seed.element(f"{IS}.status").cardinality == Cardinality(1, 1)


def test_seed_text_fields(seed: StructureDefinition) -> None:
    status = seed.element(f"{IS}.status")
    assert status.short == "available | entered-in-error | inactive | unknown"
    assert status.is_summary is True
    assert status.is_modifier is True
    assert status.is_modifier_reason == (
        "This element is labeled as a modifier because it is a status element that contains "
        "status entered-in-error which means that the resource SHOULD NOT be treated as valid"
    )
    assert status.comments.startswith('Unknown does not represent "other"')
    focus = seed.element(f"{IS}.focus")
    # a Comments value spanning two lines keeps its line break
    assert focus.comments == (
        "An imaging selection MAY reference a DICOM resource that itself references other "
        "DICOM resources.\ne.g. a presentation state references a set of source images or "
        "frames."
    )
    assert seed.element(f"{IS}.bodySite").aliases == ("BodyPartExamined", "AnatomicRegionSequence")
    assert seed.element(f"{IS}.seriesUid").conditions == (
        "isl-1",
        "isl-2",
        "isl-3",
        "isl-4",
        "isl-9",
    )
    assert seed.element(f"{IS}.instance.frameNumber").is_summary is False
    assert seed.element(f"{IS}.identifier").is_modifier is None
    assert [(m.identity, m.map) for m in seed.root.mappings] == [
        ("workflow", "Event"),
        ("dicom", "DICOM Tag Mapping"),
        ("w5", "clinical.diagnostics"),
    ]


def test_folder_loading_finds_the_seed_and_skips_readme_and_rules(tmp_path: Path) -> None:
    (tmp_path / "ImagingSelection.md").write_bytes(SEED.read_bytes())
    (tmp_path / "README.md").write_text("# Not a definition\n", encoding="utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "Stale.md").write_text("not markdown definitions", encoding="utf-8")
    definitions = engine.load_definitions(tmp_path)
    assert list(definitions) == [IS]
    assert definitions.value_sets == {}
    assert definitions[IS].source.file == str(tmp_path / "ImagingSelection.md")
