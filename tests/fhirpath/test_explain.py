"""Explanations of failed constraints: each of the ImagingSelection invariants isl-1 …
isl-11, on an official example changed so that it fails, is explained down to the
sub-expression that decided, with the values found."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

import engine
from engine.fhirpath.compiled import CompiledEvaluator
from engine.fhirpath.explain import Explanation, explain, render, render_values
from engine.fhirpath.syntax import parse
from tests.imagingselection_examples import load

_MG = "imagingselection-example-mg-image-selection.xml"
_SINGLE_FRAME = "imagingselection-example-single-frame-image-selection.xml"
_WAVEFORM = "imagingselection-example-waveform-channel-selection.xml"


@pytest.fixture(scope="module")
def selection_definitions() -> engine.Definitions:
    return engine.load_definitions("definitions")


@pytest.fixture(scope="module")
def evaluator(selection_definitions) -> CompiledEvaluator:
    return CompiledEvaluator(selection_definitions)


@pytest.fixture(scope="module")
def rules(selection_definitions) -> dict[str, str]:
    sd = selection_definitions["ImagingSelection"]
    return {c.key: c.expression for c in sd.constraints}


@pytest.fixture(scope="module")
def examples(selection_definitions) -> dict[str, dict[str, Any]]:
    return {name: load(name, selection_definitions) for name in (_MG, _SINGLE_FRAME, _WAVEFORM)}


def _without(resource: dict[str, Any], *names: str) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    for name in names:
        del changed[name]
    return changed


def _explained(evaluator, expression: str, resource: dict[str, Any]) -> Explanation:
    explanation = explain(
        evaluator,
        expression,
        "ImagingSelection",
        resource,
        resource=resource,
        root_resource=resource,
    )
    assert explanation.result == (False,)
    return explanation


def _steps(explanation: Explanation) -> list[tuple[str, str]]:
    return [(step.expression, step.shown_result) for step in explanation.steps]


def test_isl_1(evaluator, rules, examples):
    resource = _without(examples[_SINGLE_FRAME], "seriesUid")
    steps = _steps(_explained(evaluator, rules["isl-1"], resource))
    assert steps == [("seriesUid.exists()", "false"), ("imageRegion3D.exists()", "false")]


def test_isl_2(evaluator, rules, examples):
    resource = _without(examples[_WAVEFORM], "studyUid")
    steps = _steps(_explained(evaluator, rules["isl-2"], resource))
    assert steps == [("seriesUid.exists()", "true"), ("studyUid.exists()", "false")]


def test_isl_3(evaluator, rules, examples):
    resource = _without(examples[_MG], "seriesUid")
    steps = _steps(_explained(evaluator, rules["isl-3"], resource))
    assert steps == [("seriesNumber.exists()", "true"), ("seriesUid.exists()", "false")]


def test_isl_4(evaluator, rules, examples):
    resource = _without(examples[_SINGLE_FRAME], "seriesUid")
    steps = _steps(_explained(evaluator, rules["isl-4"], resource))
    assert steps == [("instance.exists()", "true"), ("seriesUid.exists()", "false")]


def test_isl_5(evaluator, rules, examples):
    resource = _without(examples[_SINGLE_FRAME], "frameOfReferenceUid")
    resource["imageRegion3D"] = [{"regionType": "point", "coordinate": [1, 2, 3]}]
    steps = _steps(_explained(evaluator, rules["isl-5"], resource))
    assert steps == [("imageRegion3D.exists()", "true"), ("frameOfReferenceUid.exists()", "false")]


def test_isl_6(evaluator, rules, examples):
    resource = copy.deepcopy(examples[_SINGLE_FRAME])
    resource["imageRegion3D"] = [{"regionType": "point", "coordinate": [1, 2, 3]}]
    resource["instance"][0]["imageRegion2D"] = [{"regionType": "point", "coordinate": [1, 2]}]
    steps = _steps(_explained(evaluator, rules["isl-6"], resource))
    assert steps == [
        ("imageRegion3D.exists()", "true"),
        ("instance.imageRegion2D.empty()", "false"),
    ]


def test_isl_7_shows_the_pooled_count(evaluator, rules, examples):
    resource = copy.deepcopy(examples[_SINGLE_FRAME])
    resource["instance"][0]["imageRegion2D"] = [
        {"regionType": "polyline", "coordinate": [Decimal("0.25")] * 4},
        {"regionType": "point", "coordinate": [Decimal("0.5")]},
    ]
    explanation = _explained(evaluator, rules["isl-7"], resource)
    assert _steps(explanation) == [
        ("instance.imageRegion2D.coordinate.exists()", "true"),
        ("instance.imageRegion2D.coordinate.count()", "5"),
        ("5 mod 2 = 0", "false"),
    ]
    assert explanation.text().splitlines() == [
        "  instance.imageRegion2D.coordinate.exists() = true",
        "  instance.imageRegion2D.coordinate.count()  = 5",
        "  5 mod 2 = 0                                = false",
    ]


def test_isl_8(evaluator, rules, examples):
    resource = copy.deepcopy(examples[_SINGLE_FRAME])
    resource["imageRegion3D"] = [{"regionType": "polyline", "coordinate": [1, 2, 3, 4]}]
    steps = _steps(_explained(evaluator, rules["isl-8"], resource))
    assert steps == [
        ("imageRegion3D.coordinate.exists()", "true"),
        ("imageRegion3D.coordinate.count()", "4"),
        ("4 mod 3 = 0", "false"),
    ]


def test_isl_9(evaluator, rules, examples):
    resource = _without(examples[_MG], "seriesUid")
    steps = _steps(_explained(evaluator, rules["isl-9"], resource))
    assert steps == [("modality.exists()", "true"), ("seriesUid.exists()", "false")]


def test_isl_10_names_the_conjunct_that_fails(evaluator, rules, examples):
    resource = copy.deepcopy(examples[_WAVEFORM])
    resource["instance"][0]["frameNumber"] = [1]
    steps = _steps(_explained(evaluator, rules["isl-10"], resource))
    # Two of the five conjuncts fail: frameNumber's and waveFormChannel's, each with its
    # premise (true) and the negated disjunction (false) it implies.
    premises = [step for step in steps if step[0].endswith(".exists()") and step[1] == "true"]
    negations = [step for step in steps if step[0].endswith(".not()")]
    assert ("instance.frameNumber.exists()", "true") in premises
    assert ("instance.waveFormChannel.exists()", "true") in premises
    assert [value for _, value in negations] == ["false", "false"]
    assert negations[0][0].startswith("(instance.referencedContentItemIdentifier.exists() or")
    assert "instance.waveFormChannel.exists()" in negations[0][0]
    assert steps[0] == ("instance.frameNumber.exists()", "true")
    # The other three conjuncts hold (their premises are false): not explained.
    assert ("instance.segmentNumber.exists()", "false") in steps
    assert not any(
        step[0] == "instance.segmentNumber.exists()" and step[1] == "true" for step in steps
    )


def test_isl_11(evaluator, rules, examples):
    resource = copy.deepcopy(examples[_WAVEFORM])
    resource["instance"][0]["waveFormChannel"] = [2, 1, 3]
    steps = _steps(_explained(evaluator, rules["isl-11"], resource))
    assert steps == [
        ("instance.waveFormChannel.exists()", "true"),
        ("instance.waveFormChannel.count()", "3"),
        ("3 mod 2 = 0", "false"),
    ]


def test_a_per_occurrence_rule_shows_the_region_that_fails(evaluator, examples):
    resource = copy.deepcopy(examples[_SINGLE_FRAME])
    resource["instance"][0]["imageRegion2D"] = [
        {"regionType": "polyline", "coordinate": [1, 2, 3, 4]},
        {"regionType": "point", "coordinate": [5]},
    ]
    steps = _steps(
        _explained(evaluator, "instance.imageRegion2D.all(coordinate.count() mod 2 = 0)", resource)
    )
    assert steps[-3:] == [
        ("instance.imageRegion2D[1]: coordinate.count() mod 2 = 0", "false"),
        ("coordinate.count()", "1"),
        ("1 mod 2 = 0", "false"),
    ]


def test_structured_form(evaluator, rules, examples):
    resource = _without(examples[_WAVEFORM], "studyUid")
    data = _explained(evaluator, rules["isl-2"], resource).to_dict()
    assert data == {
        "expression": rules["isl-2"],
        "steps": [
            {"expression": "seriesUid.exists()", "result": "true", "depth": 0},
            {"expression": "studyUid.exists()", "result": "false", "depth": 0},
        ],
    }


def test_an_evaluation_error_is_a_step_not_a_crash(evaluator):
    patient = {"resourceType": "Patient", "name": [{"given": ["a", "b"]}]}
    explanation = explain(
        evaluator,
        "name.given.substring(1) = 'x'",
        "Patient",
        patient,
        resource=patient,
        root_resource=patient,
    )
    assert explanation.result is None
    failed = [step for step in explanation.steps if step.error is not None]
    assert failed[0].expression == "name.given.substring(1)"
    assert "(error: substring() needs a single item, got 2)" in explanation.text()


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        ("a  and(b or c)", "a and (b or c)"),
        ("(a | b).count()", "(a | b).count()"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("-x.y", "-x.y"),
        ("x is Quantity", "x is Quantity"),
        ("%`vs-x`.exists() implies $this[0] = {}", "%`vs-x`.exists() implies $this[0] = {}"),
        ("4 'mg' > 3 days", "4 'mg' > 3 days"),
    ],
)
def test_render(expression, text):
    assert render(parse(expression)) == text
    assert render(parse(text)) == text


def test_render_values():
    assert render_values(["it's"]) == "'it\\'s'"
    assert render_values(list(range(7))) == "(0 | 1 | 2 | 3 | 4 | … 2 more)"
    assert render_values([{"system": "x", "code": "y"}]) == '{"system":"x","code":"y"}'


def test_a_deeply_nested_expression_is_a_step_not_a_crash(evaluator):
    patient = {"resourceType": "Patient"}
    # As deep as an expression may be: explaining it is no harder than evaluating it.
    expression = "(" * 90 + "true" + ")" * 90 + " and false"
    explanation = explain(
        evaluator, expression, "Patient", patient, resource=patient, root_resource=patient
    )
    assert list(explanation.result or ()) == [False]
    assert explanation.text()
