"""Compiling once and evaluating per occurrence, on real constraints and real types."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest

import engine
from engine.fhirpath import (
    FhirPathEvaluationError,
    FhirPathSyntaxError,
    compile_expression,
    evaluate,
)
from engine.fhirpath.typeinfo import fhirpathpy_model

from .r5 import r5_definitions
from .suite import suite_input

_DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "ImagingSelection.md"
_R5_MODEL = fhirpathpy_model(r5_definitions())

# The official 2D region example (tests/fixtures/imagingselection/...-2d-image-region-
# selection.xml), its instance written in the current model: imageRegion -> imageRegion2D.
_COORDINATES = ["0.25", "0.25", "0.75", "0.25", "0.75", "0.75", "0.25", "0.75"]
_SELECTION = {
    "resourceType": "ImagingSelection",
    "id": "example-2d-image-region-selection",
    "status": "available",
    "code": {"text": "Selected region"},
    "studyUid": "urn:oid:2.16.124.113543.6003.1154777499.30246.19789.3503430045",
    "seriesUid": "urn:oid:2.16.124.113543.6003.2588828330.45298.17418.2723805630",
    "instance": [
        {
            "uid": "urn:oid:1.2.840.113747.20080222.234080949052735949196684173611769097906.1.0",
            "sopClass": "urn:oid:1.2.840.10008.5.1.4.1.1.2",
            "imageRegion2D": [
                {
                    "regionType": "polyline",
                    "coordinate": [
                        Decimal(v)
                        for v in ["0.25", "0.25", "0.75", "0.25", "0.75", "0.75", "0.25", "0.75"]
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def selection_rules():
    sd = engine.load_definitions(_DEFINITIONS)["ImagingSelection"]
    return {c.key: c for c in sd.constraints}


def _on_resource(expression: str, resource: dict, model=None) -> list:
    compiled = compile_expression(expression, model)
    return compiled(
        resource, focus_path=resource["resourceType"], resource=resource, root_resource=resource
    )


def test_isl_7_on_the_2d_region_example(selection_rules):
    isl_7 = compile_expression(selection_rules["isl-7"].expression)
    selection = copy.deepcopy(_SELECTION)
    run = dict(focus_path="ImagingSelection", resource=selection, root_resource=selection)
    assert isl_7(selection, **run) == [True]
    selection["instance"][0]["imageRegion2D"][0]["coordinate"].pop()
    assert isl_7(selection, **run) == [False]


def test_every_seed_constraint_gives_one_boolean_on_the_example(selection_rules):
    verdicts = {
        key: _on_resource(rule.expression, _SELECTION) for key, rule in selection_rules.items()
    }
    assert verdicts == {key: [True] for key in selection_rules}
    assert len(verdicts) == 11


def test_a_backbone_occurrence_is_the_focus_and_the_resource_stays_reachable():
    compiled = compile_expression(
        "imageRegion2D.coordinate.count() = 8 and %resource.seriesUid.exists()"
        " and %context.uid = uid and %rootResource.id = 'example-2d-image-region-selection'"
    )
    instance = _SELECTION["instance"][0]
    result = compiled(
        instance,
        focus_path="ImagingSelection.instance",
        resource=_SELECTION,
        root_resource=_SELECTION,
    )
    assert result == [True]


def test_a_primitive_occurrence_with_its_extension():
    compiled = compile_expression("hasValue() and extension('http://x').value = 'y'")
    extension = {"extension": [{"url": "http://x", "valueString": "y"}]}
    run = dict(focus_path="string", resource={}, root_resource={}, focus_extension=extension)
    compiled = compile_expression(compiled.expression, _R5_MODEL)
    assert compiled("Peter", **run) == [True]
    assert compile_expression("hasValue()")(None, **run) == [False]


def test_a_contained_resource_sees_its_container_as_root():
    contained = {"resourceType": "Patient", "id": "p1"}
    container = {"resourceType": "Observation", "id": "o1", "contained": [contained]}
    compiled = compile_expression("%resource.id = 'p1' and %rootResource.id = 'o1'")
    result = compiled(contained, focus_path="Patient", resource=contained, root_resource=container)
    assert result == [True]


def test_choice_elements_need_the_model():
    observation = suite_input("observation-example.json")
    assert evaluate("Observation.value.unit", observation, model=_R5_MODEL) == ["lbs"]
    assert evaluate("Observation.value.unit", observation) == []
    assert evaluate("value is Quantity", observation, model=_R5_MODEL) == [True]
    assert evaluate("value.ofType(Quantity).value > 180", observation, model=_R5_MODEL) == [True]
    assert evaluate("value.ofType(Period).exists()", observation, model=_R5_MODEL) == [False]


def test_date_elements_compare_as_dates():
    patient = suite_input("patient-example.json")
    assert evaluate("birthDate < @1974-12-26", patient, model=_R5_MODEL) == [True]
    assert evaluate("birthDate = @1974-12-25T10:00", patient, model=_R5_MODEL) == []


def test_names_fhirpathpy_reserves_and_double_quotes_still_evaluate():
    patient = suite_input("patient-example.json")
    assert evaluate("text.div.exists() and text.`div`.exists()", patient) == [True]
    assert evaluate('gender = "male"', patient) == [True]


def test_evaluation_errors_are_wrapped_with_the_underlying_message():
    compiled = compile_expression("name.given.single()")
    patient = suite_input("patient-example.json")
    with pytest.raises(FhirPathEvaluationError) as caught:
        compiled(patient, focus_path="Patient", resource=patient, root_resource=patient)
    assert caught.value.expression == "name.given.single()"
    assert "\n" not in caught.value.message
    assert caught.value.message == "single() expects at most one item, got 5"


def test_unknown_functions_and_constants_are_evaluation_errors():
    with pytest.raises(FhirPathEvaluationError, match="resolve"):
        evaluate("subject.resolve()", {"resourceType": "Observation", "subject": {}})
    with pytest.raises(FhirPathEvaluationError, match="undefined environment variable: nope"):
        evaluate("%nope", {"resourceType": "Patient"})


def test_syntax_is_checked_when_compiling():
    with pytest.raises(FhirPathSyntaxError):
        compile_expression("Patient..name")


def test_a_compiled_expression_is_reusable_and_independent_of_earlier_calls():
    compiled = compile_expression("name.given.count()")
    first = {"resourceType": "Patient", "name": [{"given": ["a", "b"]}]}
    second = {"resourceType": "Patient", "name": [{"given": ["c"]}]}
    assert [_call(compiled, first), _call(compiled, second), _call(compiled, first)] == [
        [2],
        [1],
        [2],
    ]


def test_variables_are_passed_as_constants():
    assert evaluate("%limit > 3", {"resourceType": "Patient"}, variables={"limit": 5}) == [True]


def _call(compiled, resource):
    return compiled(resource, focus_path="Patient", resource=resource, root_resource=resource)


def test_fhir_environment_constants():
    patient = {"resourceType": "Patient"}
    assert evaluate("%ucum & ' ' & %sct & ' ' & %loinc", patient) == [
        "http://unitsofmeasure.org http://snomed.info/sct http://loinc.org"
    ]
    assert evaluate("%`vs-administrative-gender` & ' ' & %`ext-patient-birthTime`", patient) == [
        "http://hl7.org/fhir/ValueSet/administrative-gender"
        " http://hl7.org/fhir/StructureDefinition/patient-birthTime"
    ]


def test_trace_does_not_write_to_standard_output(capsys):
    assert evaluate("name.trace('names').count()", {"resourceType": "Patient", "name": [{}]}) == [1]
    assert capsys.readouterr().out == ""


def test_a_complex_element_with_only_extensions_is_a_result():
    resource = {"resourceType": "Patient", "maritalStatus": {"extension": [{"url": "u"}]}}
    assert evaluate("maritalStatus", resource) == [{"extension": [{"url": "u"}]}]


def test_this_at_the_top_is_the_focus():
    resource = {"resourceType": "StructureDefinition", "snapshot": {"element": [{"path": "X"}]}}
    assert evaluate("$this.snapshot.element.count() = 1", resource) == [True]
    sdf_26 = "$this.where(element[0].mustSupport='true').exists().not()"
    assert evaluate(f"snapshot.select({sdf_26})", resource) == [True]


def test_eld_11_on_an_element_with_several_types():
    eld_11 = (
        'binding.empty() or type.code.empty() or type.code.contains(":") or '
        "type.select((code = 'code') or (code = 'Coding') or (code='CodeableConcept') or "
        "(code = 'Quantity') or (code = 'string') or (code = 'uri') or (code = 'Duration'))"
        ".exists()"
    )
    element = {
        "path": "Observation.value[x]",
        "type": [{"code": "Quantity"}, {"code": "string"}],
        "binding": {"strength": "example"},
    }
    resource = {"resourceType": "StructureDefinition", "differential": {"element": [element]}}
    assert evaluate(f"differential.element.select({eld_11})", resource) == [True]
    assert evaluate("differential.element.type.code.contains('Q')", resource) == [False]
    assert evaluate("differential.element.type.code.first().contains('Q')", resource) == [True]
