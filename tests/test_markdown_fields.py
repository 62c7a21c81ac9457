"""Field grammars of the definitions markdown, on real values from the seed and FHIR R5."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.definitions.fields import (
    ContentReference,
    parse_aliases,
    parse_binding,
    parse_cardinality,
    parse_conditions,
    parse_constraints,
    parse_flag,
    parse_mappings,
    parse_modifier,
    parse_types,
)
from engine.model import (
    Binding,
    Cardinality,
    DefinitionError,
    Mapping_,
    Source,
    TypeRef,
)

FIXTURES = Path(__file__).parent / "fixtures" / "definitions"
HERE = Source("T.md", 7)
SD = "http://hl7.org/fhir/StructureDefinition/"


# ---- Cardinality


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0..1", Cardinality(0, 1)),
        ("0..*", Cardinality(0, None)),
        ("1..1", Cardinality(1, 1)),
        ("1..*", Cardinality(1, None)),
        ("0..0", Cardinality(0, 0)),
        ("2..12", Cardinality(2, 12)),
    ],
)
def test_cardinality(text: str, expected: Cardinality) -> None:
    assert parse_cardinality(text, HERE) == expected


@pytest.mark.parametrize("text", ["1..", "..1", "1", "01..1", "1..x", "1 .. *", "*..1", "-1..1"])
def test_malformed_cardinality(text: str) -> None:
    with pytest.raises(DefinitionError) as error:
        parse_cardinality(text, HERE)
    assert error.value.source == HERE
    assert error.value.message.startswith(f"malformed cardinality '{text}'")


def test_cardinality_min_above_max() -> None:
    with pytest.raises(DefinitionError, match=r"T\.md:7: cardinality '3\.\.2': min is greater"):
        parse_cardinality("3..2", HERE)


# ---- Type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[id](/id)", (TypeRef("id"),)),
        ("[BackboneElement](/BackboneElement)", (TypeRef("BackboneElement"),)),
        ("BackboneElement", (TypeRef("BackboneElement"),)),
        (
            "Reference([ImagingStudy](/ImagingStudy), [DocumentReference](/DocumentReference))",
            (
                TypeRef(
                    "Reference", target_profiles=(SD + "ImagingStudy", SD + "DocumentReference")
                ),
            ),
        ),
        (
            "canonical([Questionnaire](/Questionnaire))",
            (TypeRef("canonical", target_profiles=(SD + "Questionnaire",)),),
        ),
        (
            "CodeableReference([Substance](/Substance))",
            (TypeRef("CodeableReference", target_profiles=(SD + "Substance",)),),
        ),
        (
            # R5 Observation.value[x]: a choice of several types
            "[Quantity](/Quantity), [CodeableConcept](/CodeableConcept), [string](/string)",
            (TypeRef("Quantity"), TypeRef("CodeableConcept"), TypeRef("string")),
        ),
        (
            # R5 ActivityDefinition.quantity: a profiled type
            "Quantity([SimpleQuantity](/SimpleQuantity))",
            (TypeRef("Quantity", profiles=(SD + "SimpleQuantity",)),),
        ),
        (
            # R5 Element.id: a FHIRPath system type, the code is the URL
            "[System.String](http://hl7.org/fhirpath/System.String)",
            (TypeRef("http://hl7.org/fhirpath/System.String"),),
        ),
        (
            "Reference([Foo](http://example.org/fhir/StructureDefinition/Foo))",
            (
                TypeRef(
                    "Reference",
                    target_profiles=("http://example.org/fhir/StructureDefinition/Foo",),
                ),
            ),
        ),
    ],
)
def test_types(text: str, expected: tuple[TypeRef, ...]) -> None:
    assert parse_types(text, HERE) == expected


def test_seed_subject_targets() -> None:
    text = (
        "Reference([Patient](/Patient), [Group](/Group), [Device](/Device), "
        "[Procedure](/Procedure), [Practitioner](/Practitioner), [Medication](/Medication), "
        "[Substance](/Substance), [Specimen](/Specimen))"
    )
    (reference,) = parse_types(text, HERE)
    assert isinstance(reference, TypeRef)
    assert reference.code == "Reference"
    assert reference.target_types == (
        "Patient",
        "Group",
        "Device",
        "Procedure",
        "Practitioner",
        "Medication",
        "Substance",
        "Specimen",
    )


def test_content_reference() -> None:
    assert parse_types("See [Questionnaire.item](#Questionnaire.item)", HERE) == ContentReference(
        "Questionnaire.item"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Reference([Patient](/Patient)", "malformed type 'Reference([Patient](/Patient)'"),
        ("[id](/id", "malformed type '[id](/id'"),
        ("[id], [code](/code)", "malformed type '[id], [code](/code)'"),
        ("[id](/id),[code](/code)", "malformed type"),
        ("Reference()", "malformed type 'Reference()'"),
        ("[id](/code)", "link text 'id' does not match its target '/code'"),
        ("See [Questionnaire.item](#Questionnaire.other)", "a content reference is written"),
        ("See [Questionnaire.item](/Questionnaire.item)", "a content reference is written"),
    ],
)
def test_malformed_type(text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as error:
        parse_types(text, HERE)
    assert error.value.source == HERE
    assert message in error.value.message


# ---- Binding


@pytest.mark.parametrize(
    ("text", "expected", "url"),
    [
        (
            "required:[imagingselection-status](/valueset-imagingselection-status)",
            Binding("required", "imagingselection-status", "/valueset-imagingselection-status"),
            "http://hl7.org/fhir/ValueSet/imagingselection-status",
        ),
        (
            "preferred:[sect_CID_7010.html](/valueset-sect_CID_7010.html)",
            Binding("preferred", "sect_CID_7010.html", "/valueset-sect_CID_7010.html"),
            "http://hl7.org/fhir/ValueSet/sect_CID_7010.html",
        ),
        (
            "extensible:[series-performer-function](/valueset-series-performer-function)",
            Binding(
                "extensible", "series-performer-function", "/valueset-series-performer-function"
            ),
            "http://hl7.org/fhir/ValueSet/series-performer-function",
        ),
        (
            "example:[v3-ActPriority](http://terminology.hl7.org/ValueSet/v3-ActPriority)",
            Binding(
                "example", "v3-ActPriority", "http://terminology.hl7.org/ValueSet/v3-ActPriority"
            ),
            "http://terminology.hl7.org/ValueSet/v3-ActPriority",
        ),
    ],
)
def test_binding(text: str, expected: Binding, url: str) -> None:
    binding = parse_binding(text, HERE)
    assert binding == expected
    assert binding.value_set == url


@pytest.mark.parametrize(
    "text",
    ["mandatory:[x](/valueset-x)", "required", "required:x", "required [x](/valueset-x)"],
)
def test_malformed_binding(text: str) -> None:
    with pytest.raises(DefinitionError, match="malformed binding") as error:
        parse_binding(text, HERE)
    assert error.value.source == HERE


# ---- Summary, Is Modifier, Aliases, Conditions


def test_flags() -> None:
    assert parse_flag("true", HERE) is True
    assert parse_flag("false", HERE) is False
    with pytest.raises(DefinitionError, match="malformed Summary 'yes'"):
        parse_flag("yes", HERE)


def test_modifier_from_seed() -> None:
    reason = (
        "This element is labeled as a modifier because it is a status element that contains "
        "status entered-in-error which means that the resource SHOULD NOT be treated as valid"
    )
    assert parse_modifier(f"true (Reason: {reason})", HERE) == (True, reason)
    assert parse_modifier("false", HERE) == (False, "")
    assert parse_modifier("true", HERE) == (True, "")
    assert parse_modifier("true (Reason: a (nested) reason)", HERE) == (True, "a (nested) reason")


@pytest.mark.parametrize("text", ["true (Reason: )", "true (because)", "yes", "false (Reason: x)"])
def test_malformed_modifier(text: str) -> None:
    with pytest.raises(DefinitionError, match="Is Modifier"):
        parse_modifier(text, HERE)


def test_aliases_and_conditions_from_seed() -> None:
    assert parse_aliases("BodyPartExamined, AnatomicRegionSequence", HERE) == (
        "BodyPartExamined",
        "AnatomicRegionSequence",
    )
    assert parse_aliases("Description", HERE) == ("Description",)
    assert parse_conditions("isl-1, isl-2, isl-3, isl-4, isl-9", HERE) == (
        "isl-1",
        "isl-2",
        "isl-3",
        "isl-4",
        "isl-9",
    )
    with pytest.raises(DefinitionError, match="malformed conditions 'isl-1,isl-2'"):
        parse_conditions("isl-1,isl-2", HERE)


# ---- Mappings


def test_mappings_from_seed() -> None:
    text = (
        "dicom=One or more of: Performing Physician's Name (0008,1050) and Performing "
        "Physician Identification Sequence (0008,1052); Operators' Name (0008,1070) and "
        "Operator Identification Sequence (0008,1072); Manufacturer (0008,0070) and "
        "Manufacturer's Model Name (0008,1090); or Institution Name (0008,0080); "
        "workflow=Event.performer; w5=FiveWs.actor"
    )
    mappings = parse_mappings(text, HERE)
    assert [m.identity for m in mappings] == ["dicom", "workflow", "w5"]
    assert mappings[0].map.endswith("; or Institution Name (0008,0080)")
    assert mappings[1:] == (Mapping_("workflow", "Event.performer"), Mapping_("w5", "FiveWs.actor"))


def test_mapping_with_name_equals_inside_brackets() -> None:
    # R5 ActivityDefinition: a RIM map whose text holds '; moodCode=' inside brackets
    text = "rim=Act[classCode=ACT; moodCode=DEFN]; w5=FiveWs.what"
    assert parse_mappings(text, HERE) == (
        Mapping_("rim", "Act[classCode=ACT; moodCode=DEFN]"),
        Mapping_("w5", "FiveWs.what"),
    )


def test_every_tricky_r5_mapping_list_splits_exactly() -> None:
    """R5 mapping lists whose maps hold '; name=', unbalanced brackets or line breaks."""
    cases = json.loads((FIXTURES / "r5-mappings.json").read_text(encoding="utf-8"))
    assert len(cases) >= 50
    for case in cases:
        expected = tuple(Mapping_(m["identity"], m["map"]) for m in case["mapping"])
        text = "; ".join(f"{m.identity}={m.map}" for m in expected)
        assert parse_mappings(text, HERE) == expected, case["path"]


@pytest.mark.parametrize("text", ["w5", "w5=", "=Event", "w 5=Event"])
def test_malformed_mappings(text: str) -> None:
    with pytest.raises(DefinitionError, match="malformed mapping"):
        parse_mappings(text, HERE)


# ---- Constraints


CNL_1 = (
    "cnl-1 | warning | URL should not contain | or # - these characters make processing "
    "canonical references problematic | exists() implies matches('^[^|# ]+$')"
)
MSQ_6 = (
    "msq-6 | error | Have and only have one of the following elements in startingSequence: "
    "1. genomeAssembly; 2 sequence | genomeAssembly.exists() xor sequence.exists()"
)


def test_constraint_whose_human_text_contains_a_bar() -> None:
    (constraint,) = parse_constraints(CNL_1, "Library.url", HERE)
    assert constraint.key == "cnl-1"
    assert constraint.severity == "warning"
    assert constraint.human == (
        "URL should not contain | or # - these characters make processing canonical "
        "references problematic"
    )
    assert constraint.expression == "exists() implies matches('^[^|# ]+$')"
    assert constraint.context == "Library.url"
    assert constraint.source == HERE


def test_constraints_whose_human_text_contains_a_semicolon() -> None:
    first, second = parse_constraints(f"{MSQ_6}; {CNL_1}", "MolecularSequence", HERE)
    assert first.key == "msq-6"
    assert first.human == (
        "Have and only have one of the following elements in startingSequence: "
        "1. genomeAssembly; 2 sequence"
    )
    assert first.expression == "genomeAssembly.exists() xor sequence.exists()"
    assert second.key == "cnl-1"


def test_expression_with_union_and_semicolon_in_a_string() -> None:
    # R5 eld-19's expression holds ';' in a string; a union ' | ' and a fake item head too
    text = (
        "x-1 | error | Names are valid | (a | b).all($this.matches('^[^;]+$')); "
        "x-2 | warning | No fake items | c.where($this = '; x-3 | error | x').empty()"
    )
    first, second = parse_constraints(text, "X", HERE)
    assert (first.key, first.expression) == ("x-1", "(a | b).all($this.matches('^[^;]+$'))")
    assert (second.key, second.human) == ("x-2", "No fake items")
    assert second.expression == "c.where($this = '; x-3 | error | x').empty()"


def test_every_r5_constraint_splits_exactly() -> None:
    """All 380 constraints of the R5 core type definitions, written per element as the
    format writes them, read back character for character."""
    elements = json.loads((FIXTURES / "r5-constraints.json").read_text(encoding="utf-8"))
    assert sum(len(e["constraint"]) for e in elements) == 380
    for element in elements:
        expected = [
            (c["key"], c["severity"], c["human"], c["expression"]) for c in element["constraint"]
        ]
        text = "; ".join(" | ".join(item) for item in expected)
        read = parse_constraints(text, element["path"], HERE)
        assert [(c.key, c.severity, c.human, c.expression) for c in read] == expected
        assert {c.context for c in read} == {element["path"]}


def test_constraint_source_is_the_line_its_item_starts_on() -> None:
    text = "a-1 | error | First\nline | a.exists(); b-1 | error | Second | b.exists()"
    first, second = parse_constraints(text, "X", HERE)
    assert (first.human, first.source.line) == ("First\nline", 7)
    assert (second.human, second.source.line) == ("Second", 8)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "isl-1 | error | At least one | seriesUid..exists()",
            "constraint isl-1: expression is not valid FHIRPath: expected a name after '.', "
            "found '.' (line 1, column 11)\n  seriesUid..exists()\n            ^",
        ),
        (
            "isl-1 | error | At least one | seriesUid.exists() or",
            "constraint isl-1: expression is not valid FHIRPath: expected an expression after "
            "'or', found end of expression (line 1, column 22)",
        ),
        (
            "isl-1 | eror | At least one | seriesUid.exists()",
            "constraint isl-1: unknown severity 'eror'",
        ),
        ("isl-1 | error | seriesUid.exists()", "constraint isl-1: expected 'human | expression'"),
        ("isl-1 | error", "malformed constraint 'isl-1 | error'"),
        ("isl 1 | error | Text | a.exists()", "malformed constraint key 'isl 1'"),
        (
            "isl-1 | error | Fine | a.exists(); isl-2 | error | Broken | a.exists(",
            "constraint isl-2: expression is not valid FHIRPath",
        ),
        (
            # the reading that parses furthest is reported, not the first ' | ' split
            CNL_1.removesuffix(")"),
            "constraint cnl-1: expression is not valid FHIRPath: expected ')' or ',' or an "
            "operator after ''', found end of expression (line 1, column 37)",
        ),
    ],
)
def test_malformed_constraints(text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as error:
        parse_constraints(text, "ImagingSelection", HERE)
    assert error.value.source == HERE
    assert error.value.message.startswith(message), error.value.message
