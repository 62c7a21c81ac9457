"""FHIR StructureDefinition JSON → model, on real R5 definitions (tests/fixtures/r5)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from engine.definitions.fhir_import import fhir_type_code, structure_definition_from_fhir
from engine.model import Cardinality, DefinitionError, StructureDefinition

FIXTURES = Path(__file__).parent / "fixtures" / "r5" / "structuredefinitions"
SD = "http://hl7.org/fhir/StructureDefinition/"


def _json(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"StructureDefinition-{name}.json").read_text("utf-8"))


def _load(name: str) -> StructureDefinition:
    return structure_definition_from_fhir(_json(name), f"StructureDefinition-{name}.json")


ALL_FIXTURES = sorted(p.stem.removeprefix("StructureDefinition-") for p in FIXTURES.glob("*.json"))


def test_element_root_type() -> None:
    sd = _load("Element")
    assert (sd.name, sd.kind, sd.base, sd.abstract) == ("Element", "complex-type", "Base", True)
    assert [e.path for e in sd] == ["Element", "Element.id", "Element.extension"]
    (ele1,) = sd.root.constraints
    assert ele1.key == "ele-1"
    assert ele1.severity == "error"
    assert ele1.human == "All FHIR elements must have a @value or children"
    assert ele1.expression == "hasValue() or (children().count() > id.count())"
    assert ele1.context == "Element"
    element_id = sd.element("Element.id")
    # coded System.String with the fhir-type extension 'string': read as its FHIR type
    assert element_id.type_codes == ("string",)
    assert element_id.conditions == ("ele-1",)
    assert element_id.cardinality == Cardinality(0, 1)
    extension = sd.element("Element.extension")
    assert extension.aliases == ("extensions", "user content")
    assert extension.type_codes == ("Extension",)
    assert extension.cardinality == Cardinality(0, None)
    assert [(m.identity, m.map) for m in sd.root.mappings] == [("rim", "n/a")]


def test_base_has_no_base_type() -> None:
    sd = _load("Base")
    assert (sd.name, sd.base, sd.abstract) == ("Base", None, True)
    assert [e.path for e in sd] == ["Base"]


def test_primitive_regex_comes_from_the_value_type_extension() -> None:
    id_type = _load("id")
    assert (id_type.kind, id_type.base) == ("primitive-type", "string")
    assert id_type.element("id.value").regex == r"[A-Za-z0-9\-\.]{1,64}"
    assert id_type.root.regex is None
    # a primitive's value keeps its FHIRPath system type, though it too has a fhir-type
    assert id_type.element("id.value").type_codes == ("http://hl7.org/fhirpath/System.String",)
    decimal = _load("decimal")
    assert decimal.element("decimal.value").regex == (
        r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,17})?([eE][+-]?[0-9]{1,9}})?"
    )


def test_missing_min_is_taken_from_the_snapshot() -> None:
    raw = _json("xhtml")
    extension = next(e for e in raw["differential"]["element"] if e["path"] == "xhtml.extension")
    assert "min" not in extension
    sd = structure_definition_from_fhir(raw, "xhtml.json")
    element = sd.element("xhtml.extension")
    assert element.cardinality == Cardinality(0, 0)
    assert (element.short, element.types) == ("", ())


def test_choice_element_keeps_every_type_and_reference_targets() -> None:
    sd = _load("Observation")
    value = sd.element("Observation.value[x]")
    assert value.is_choice
    assert value.type_codes == (
        "Quantity",
        "CodeableConcept",
        "string",
        "boolean",
        "integer",
        "Range",
        "Ratio",
        "SampledData",
        "time",
        "dateTime",
        "Period",
        "Attachment",
        "Reference",
    )
    assert value.types[-1].target_profiles == (SD + "MolecularSequence",)
    instantiates = sd.element("Observation.instantiates[x]")
    assert [(t.code, t.target_types) for t in instantiates.types] == [
        ("canonical", ("ObservationDefinition",)),
        ("Reference", ("ObservationDefinition",)),
    ]
    low = sd.element("Observation.referenceRange.low")
    assert [(t.code, t.profiles) for t in low.types] == [("Quantity", (SD + "SimpleQuantity",))]


def test_required_binding_loses_its_version() -> None:
    status = _load("Observation").element("Observation.status")
    assert status.binding is not None
    assert status.binding.strength == "required"
    assert status.binding.value_set_name == "observation-status"
    assert status.binding.link == "/valueset-observation-status"
    assert status.binding.value_set == "http://hl7.org/fhir/ValueSet/observation-status"
    language = _load("Resource").element("Resource.language")
    assert language.binding is not None
    assert language.binding.value_set == "http://hl7.org/fhir/ValueSet/all-languages"


def test_binding_without_value_set_is_left_out() -> None:
    raw = _json("Observation")
    element = next(e for e in raw["differential"]["element"] if e["path"] == "Observation.code")
    del element["binding"]["valueSet"]
    sd = structure_definition_from_fhir(raw, "Observation.json")
    assert sd.element("Observation.code").binding is None


def test_modifier_and_summary_flags() -> None:
    sd = _load("Resource")
    implicit_rules = sd.element("Resource.implicitRules")
    assert implicit_rules.is_modifier is True
    assert implicit_rules.is_modifier_reason.startswith(
        "This element is labeled as a modifier because the implicit rules"
    )
    assert implicit_rules.is_summary is True
    language = sd.element("Resource.language")
    assert (language.is_modifier, language.is_modifier_reason, language.is_summary) == (
        None,
        "",
        False,
    )


def test_content_reference_drops_the_hash() -> None:
    sd = _load("Questionnaire")
    nested = sd.element("Questionnaire.item.item")
    assert nested.content_reference == "Questionnaire.item"
    assert nested.types == ()
    assert nested.cardinality == Cardinality(0, None)
    bundle = _load("Bundle")
    assert bundle.element("Bundle.entry.link").content_reference == "Bundle.link"


def test_type_profile_on_a_non_reference_type() -> None:
    issues = _load("Bundle").element("Bundle.issues")
    assert [(t.code, t.profiles, t.target_profiles) for t in issues.types] == [
        ("Resource", (SD + "OperationOutcome",), ())
    ]


def test_best_practice_constraint_keeps_its_warning_severity() -> None:
    sd = _load("DomainResource")
    assert [(c.key, c.severity) for c in sd.constraints] == [
        ("dom-2", "error"),
        ("dom-4", "error"),
        ("dom-3", "error"),
        ("dom-6", "warning"),
        ("dom-5", "error"),
    ]
    assert sd.root.constraints[3].expression == "text.`div`.exists()"


def test_inherited_constraints_are_not_duplicated() -> None:
    # The R5 snapshot of MetadataResource carries CanonicalResource's cnl-1 (labelled as
    # its own) and Element's ele-1 on every element; neither belongs to MetadataResource.
    raw = _json("MetadataResource")
    snapshot_keys = {c["key"] for e in raw["snapshot"]["element"] for c in e.get("constraint", [])}
    assert {"cnl-1", "ele-1"} <= snapshot_keys
    assert _load("MetadataResource").constraints == ()
    assert [c.key for c in _load("CanonicalResource").constraints] == ["cnl-0", "cnl-1"]


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_differential_element_is_converted_field_by_field(name: str) -> None:
    raw = _json(name)
    sd = _load(name)
    differential = raw["differential"]["element"]
    assert [e.path for e in sd] == [e["path"] for e in differential]
    for element, source in zip(sd, differential, strict=True):
        if "min" in source:
            assert element.cardinality.min == source["min"]
        assert element.cardinality.max_text == source["max"]
        assert element.short == source.get("short", "")
        assert element.definition == source.get("definition", "")
        assert element.comments == source.get("comment", "")
        assert element.requirements == source.get("requirements", "")
        assert list(element.aliases) == source.get("alias", [])
        assert list(element.conditions) == source.get("condition", [])
        assert [(t.code, list(t.target_profiles), list(t.profiles)) for t in element.types] == [
            (fhir_type_code(t, source["path"]), t.get("targetProfile", []), t.get("profile", []))
            for t in source.get("type", [])
        ]
        assert [(c.key, c.severity, c.human, c.expression) for c in element.constraints] == [
            (c["key"], c["severity"], c["human"], c["expression"])
            for c in source.get("constraint", [])
        ]
        assert [(m.identity, m.map) for m in element.mappings] == [
            (m["identity"], m["map"]) for m in source.get("mapping", [])
        ]


def test_every_fixture_names_its_type_kind_and_base() -> None:
    for name in ALL_FIXTURES:
        raw = _json(name)
        sd = _load(name)
        assert sd.name == raw["type"]
        assert sd.kind == raw["kind"]
        assert sd.abstract == raw["abstract"]
        base = raw.get("baseDefinition")
        assert sd.base == (base.rsplit("/", 1)[-1] if base else None)


def _broken(change: Any) -> dict[str, Any]:
    raw = copy.deepcopy(_json("Period"))
    change(raw)
    return raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(resourceType="ValueSet"), "not a StructureDefinition resource"),
        (lambda r: r.update(derivation="constraint"), "profiles (derivation 'constraint')"),
        (lambda r: r.update(kind="widget"), "unknown kind 'widget'"),
        (lambda r: r.pop("differential"), "differential.element is missing"),
        (lambda r: r["differential"].update(element=[]), "the differential has no elements"),
        (
            lambda r: r["differential"]["element"].pop(0),
            "the first differential element is 'Period.start', not the root",
        ),
        (
            lambda r: r["differential"]["element"][1].update(max="many"),
            "Period.start: missing or invalid max 'many'",
        ),
        (
            lambda r: r["differential"]["element"][1].update(min=2),
            "Period.start: max 1 is below min 2",
        ),
        (
            lambda r: r["differential"]["element"][1].update(type=[{"profile": []}]),
            "Period.start: a type without a code",
        ),
        (
            lambda r: r["differential"]["element"][0]["constraint"][0].update(severity="fatal!"),
            "constraint per-1: unknown severity 'fatal!'",
        ),
        (
            lambda r: r["differential"]["element"][0]["constraint"][0].pop("expression"),
            "constraint per-1: expression is missing",
        ),
        (
            lambda r: r["differential"]["element"][1].update(contentReference="Period.end"),
            "only local contentReference ('#Path') is supported",
        ),
        (
            lambda r: r.update(baseDefinition="http://example.org/Other"),
            "unsupported baseDefinition",
        ),
    ],
)
def test_malformed_input_is_a_definition_error(change: Any, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        structure_definition_from_fhir(_broken(change), "Period.json")
    assert message in caught.value.message
    assert caught.value.source is not None
    assert caught.value.source.file == "Period.json"
