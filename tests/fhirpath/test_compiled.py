"""The compiled evaluator's own behaviour: FHIR's merged primitives, typing at compile and
run time, the session (memo, time budget), errors, fallbacks and threads."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import engine
from engine.fhirpath import FhirPathEvaluationError
from engine.fhirpath.compiled import CompiledEvaluator
from engine.fhirpath.compiled import evaluator as evaluator_module
from engine.fhirpath.compiled.core import Unsupported
from engine.fhirpath.evaluation import EvaluationTimeout, Session
from engine.fhirpath.evaluators import make_evaluator
from engine.fhirpath.reference.evaluator import ReferenceEvaluator
from engine.fhirpath.syntax import FhirPathSyntaxError

_PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "birthDate": "1974-12-25",
    "_birthDate": {"extension": [{"url": "http://example.org/t", "valueString": "x"}]},
    "name": [
        {"given": [None, "James"], "_given": [{"extension": [{"url": "u"}]}, None]},
        {"given": ["Jim"], "family": "Chalmers"},
    ],
    "contained": [{"resourceType": "Organization", "id": "o1", "name": "Acme"}],
    "managingOrganization": {"reference": "#o1"},
}


@pytest.fixture(scope="module")
def evaluator() -> CompiledEvaluator:
    return CompiledEvaluator(engine.bundled_definitions())


def _run(evaluator: CompiledEvaluator, expression: str, focus_type: str = "Patient", **kwargs):
    resource = kwargs.pop("resource", _PATIENT)
    focus = kwargs.pop("focus", resource)
    compiled = evaluator.compile(expression, focus_type)
    return compiled(focus, resource=resource, root_resource=resource, **kwargs)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # A primitive and its _name companion are one item.
        ("name.given.count()", [3]),
        ("name.given", ["James", "Jim"]),
        ("name.first().given.first().hasValue()", [False]),
        ("name.first().given.first().extension.url", ["u"]),
        ("name.given.where(hasValue()).count()", [2]),
        ("birthDate.extension.valueString", ["x"]),
        ("birthDate.hasValue()", [True]),
        # Dates compare as dates, not strings.
        ("birthDate > @1974-12-24", [True]),
        ("birthDate = @1974-12", []),
        # Resources inside resources are typed by their resourceType.
        ("contained.name", ["Acme"]),
        ("contained.ofType(Organization).id", ["o1"]),
        ("contained.first() is Organization", [True]),
        ("children().ofType(HumanName).count()", [2]),
        ("descendants().ofType(Reference).reference", ["#o1"]),
        ("Patient.name.family", ["Chalmers"]),
        ("%resource.contained.name", ["Acme"]),
        ("%context.id", ["p1"]),
        ("$this.active", [True]),
    ],
)
def test_fhir_data(evaluator, expression, expected):
    assert _run(evaluator, expression) == expected


def test_choice_elements_and_their_types(evaluator):
    observation = {
        "resourceType": "Observation",
        "valueQuantity": {"value": 185.5, "unit": "lbs", "code": "[lb_av]"},
        "component": [{"valueString": "a"}, {"valueInteger": 3}],
    }
    run = lambda expression: _run(evaluator, expression, "Observation", resource=observation)  # noqa: E731
    assert run("value.value") == [engine.fhirpath.compiled.values.decimal(185.5)]
    assert run("value is Quantity") == [True]
    assert run("value > 180 '[lb_av]'") == [True]
    assert run("component.value.ofType(integer)") == [3]
    assert run("component.value.ofType(string)") == ["a"]
    assert run("component.where(value is string).exists()") == [True]


def test_backbone_and_content_reference_focus(evaluator):
    questionnaire = {
        "resourceType": "Questionnaire",
        "item": [{"linkId": "1", "item": [{"linkId": "1.1", "item": [{"linkId": "1.1.1"}]}]}],
    }
    item = questionnaire["item"][0]["item"][0]
    result = _run(
        evaluator,
        "item.linkId | repeat(item).linkId",
        "Questionnaire.item",
        resource=questionnaire,
        focus=item,
    )
    assert result == ["1.1.1"]
    assert _run(evaluator, "repeat(item).linkId", "Questionnaire", resource=questionnaire) == [
        "1",
        "1.1",
        "1.1.1",
    ]


def test_a_primitive_focus_with_extensions(evaluator):
    compiled = evaluator.compile("hasValue() or (children().count() > id.count())", "string")
    extension = {"extension": [{"url": "u", "valueCode": "x"}]}
    assert compiled(None, resource=_PATIENT, root_resource=_PATIENT, focus_extension=extension) == [
        True
    ]
    assert compiled(
        None, resource=_PATIENT, root_resource=_PATIENT, focus_extension={"id": "a"}
    ) == [False]
    assert compiled("x", resource=_PATIENT, root_resource=_PATIENT) == [True]


def test_a_system_type_focus_given_by_url(evaluator):
    compiled = evaluator.compile("$this.length() > 2", "http://hl7.org/fhirpath/System.String")
    assert compiled("abc", resource=_PATIENT, root_resource=_PATIENT) == [True]


def test_what_depends_on_the_resource_alone_is_computed_once_per_session(evaluator):
    resource = {"resourceType": "Patient", "name": [{"family": "A"}]}
    compiled = evaluator.compile("%resource.descendants().count()", "HumanName")
    session = Session()
    first = compiled(
        resource["name"][0], resource=resource, root_resource=resource, session=session
    )
    # A session belongs to one resource as it was: a later change is not seen through it.
    resource["name"].append({"family": "B"})
    again = compiled(
        resource["name"][0], resource=resource, root_resource=resource, session=session
    )
    fresh = compiled(resource["name"][0], resource=resource, root_resource=resource)
    assert first == again == [2]
    assert fresh == [4]
    assert session.memo


def test_each_resource_of_a_session_has_its_own_results(evaluator):
    outer = {"resourceType": "Patient", "contained": [{"resourceType": "Patient", "id": "x"}]}
    inner = outer["contained"][0]
    compiled = evaluator.compile("%resource.descendants().count()", "Patient")
    session = Session()
    assert compiled(outer, resource=outer, root_resource=outer, session=session) == [2]
    assert compiled(inner, resource=inner, root_resource=outer, session=session) == [1]


def test_the_time_budget_stops_a_long_evaluation(evaluator):
    resource = {"resourceType": "Patient", "name": [{"given": [str(i)]} for i in range(5000)]}
    compiled = evaluator.compile("descendants().count()", "Patient")
    expired = Session(deadline=time.monotonic() - 1)
    with pytest.raises(EvaluationTimeout):
        compiled(resource, resource=resource, root_resource=resource, session=expired)
    with pytest.raises(EvaluationTimeout):
        evaluator.compile("name.where(given.exists()).count()", "Patient")(
            resource, resource=resource, root_resource=resource, session=expired
        )
    assert compiled(resource, resource=resource, root_resource=resource, session=Session()) == [
        10000
    ]


def test_deep_expressions_and_data_are_evaluation_errors(evaluator):
    # Expressions deeper than the grammar's limit are refused when they are compiled.
    with pytest.raises(FhirPathSyntaxError, match="nested too deeply"):
        evaluator.compile("1" + " + 1" * 5000, "Patient")
    resource: dict[str, Any] = {"resourceType": "Patient"}
    for name in ("extension", "modifierExtension"):
        nested: dict[str, Any] = {"url": "u"}
        for _ in range(5000):
            nested = {"extension": [nested]}
        resource[name] = [nested]
    with pytest.raises(FhirPathEvaluationError):
        _run(evaluator, "extension = modifierExtension", resource=resource)


@pytest.mark.parametrize(
    "expression",
    [
        "name.given.substring(1)",  # several strings where one is required
        "name.given < 'a'",
        "unknownFunction()",
        "%undefined",
        "'a' > 1",
        "active.as(string1)",
    ],
)
def test_evaluation_errors(evaluator, expression):
    with pytest.raises(FhirPathEvaluationError):
        _run(evaluator, expression)


def test_an_unsupported_expression_falls_back_to_the_reference(monkeypatch):
    evaluator = CompiledEvaluator(engine.bundled_definitions())

    def unsupported(self, tree, focus_type):
        raise Unsupported("a construct")

    monkeypatch.setattr(evaluator_module.Compiler, "compile", unsupported)
    compiled = evaluator.compile("name.given.count()", "Patient")
    assert compiled(_PATIENT, resource=_PATIENT, root_resource=_PATIENT) == [3]
    assert [(f.expression, f.reason) for f in evaluator.fallbacks] == [
        ("name.given.count()", "a construct")
    ]


def test_every_function_the_reference_supports(evaluator):
    reference = ReferenceEvaluator(engine.bundled_definitions())
    assert reference.supported_functions() <= evaluator.supported_functions()
    assert "resolve" not in evaluator.supported_functions()
    assert {"defineVariable", "sort", "matchesFull", "escape"} <= evaluator.supported_functions()


def test_registered_by_name():
    assert make_evaluator("compiled", engine.bundled_definitions()).name == "compiled"


def test_threads_share_an_evaluator():
    evaluator = CompiledEvaluator(engine.bundled_definitions())
    expressions = [
        ("name.given.count()", "Patient"),
        ("contained.name", "Patient"),
        ("descendants().count()", "Patient"),
        ("value.value > 1", "Observation"),
        ("children().count()", "HumanName"),
    ]
    observation = {"resourceType": "Observation", "valueQuantity": {"value": 2}}

    def work(index: int) -> list[Any]:
        expression, focus_type = expressions[index % len(expressions)]
        resource = observation if focus_type == "Observation" else _PATIENT
        focus = _PATIENT["name"][1] if focus_type == "HumanName" else resource
        compiled = evaluator.compile(expression, focus_type)
        return compiled(focus, resource=resource, root_resource=resource)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(200)))
    expected = [work(index) for index in range(len(expressions))]
    assert results == [expected[index % len(expressions)] for index in range(200)]


@pytest.mark.parametrize(
    ("expression", "focus_type", "message"),
    [
        ("name.given1", "Patient", "'given1' is not an element of HumanName"),
        ("Encounter.name", "Patient", "'Encounter' is not an element of Patient"),
        ("(value as Period).unit", "Observation", "'unit' is not an element of Period"),
        ("children().first()", "Patient", "first() depends on an order"),
        ("iif('x', 1, 2)", "Patient", "iif() needs a boolean criterion"),
    ],
)
def test_strict_mode_checks_expressions_against_the_model(expression, focus_type, message):
    strict = CompiledEvaluator(engine.bundled_definitions(), strict=True)
    compiled = strict.compile(expression, focus_type)
    with pytest.raises(
        FhirPathEvaluationError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        compiled(_PATIENT, resource=_PATIENT, root_resource=_PATIENT)


def test_strict_mode_accepts_what_is_right(evaluator):
    strict = CompiledEvaluator(engine.bundled_definitions(), strict=True)
    for expression in ("name.given", "Patient.contact.name", "value.ofType(Quantity).unit"):
        focus_type = "Observation" if expression.startswith("value") else "Patient"
        strict.compile(expression, focus_type)(_PATIENT, resource=_PATIENT, root_resource=_PATIENT)
    # Not in the default (lenient) mode, which the validator uses.
    assert _run(evaluator, "name.given1") == []


_SHAPES: dict[str, Any] = {
    "resourceType": "Patient",
    "name": [
        {"given": [None, None], "_given": [None, {"id": "g"}]},  # only an extension
        {"given": [None]},  # an array of nulls holds nothing
        {"given": "Jim", "_given": [{"id": "x"}]},  # a scalar beside an array
    ],
    "_gender": {"id": "only-an-extension"},
    "telecom": [None],
    "link": [],
}


@pytest.mark.parametrize(
    "expression",
    [
        "name.given.exists()",
        "name.given.empty()",
        "name[0].given.exists()",
        "name[1].given.exists()",
        "name[1].given.empty()",
        "name[2].given.exists()",
        "gender.exists()",
        "telecom.exists()",
        "telecom.empty()",
        "link.exists()",
        "birthDate.empty()",
        "name.family.exists()",
        "contact.name.exists()",
    ],
)
def test_exists_and_empty_of_an_element_agree_with_navigating_it(evaluator, expression):
    # a.b.exists() asks whether b is there without collecting it: the answer is that
    # of counting what a.b collects, for arrays with nulls and primitives with only a
    # _name object alike.
    count = expression.rsplit(".", 1)[0] + ".count()"
    found = _run(evaluator, count, resource=_SHAPES)[0]
    exists = expression.endswith("exists()")
    assert _run(evaluator, expression, resource=_SHAPES) == [(found > 0) == exists]
