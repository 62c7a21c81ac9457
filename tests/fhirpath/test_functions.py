"""The functions added to fhirpathpy, against the official suite's cases and real data."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.fhirpath import evaluate
from engine.fhirpath.quantities import quantity_order, units_comparable
from engine.fhirpath.reference.functions import FUNCTIONS
from engine.fhirpath.typeinfo import fhirpathpy_model
from engine.fhirpath.xhtml import has_content, html_problems

from .r5 import r5_definitions
from .suite import SUITE, output_matches, rendered, suite_cases, suite_input

_R5_MODEL = fhirpathpy_model(r5_definitions())

_ADDED = ("lowBoundary", "highBoundary", "hasValue", "htmlChecks", "comparable")
_R5_CASES = [
    case
    for case in suite_cases(SUITE / "suites" / "fhir-test-cases" / "tests-fhir-r5.xml")
    if any(f"{name}(" in case.expression for name in _ADDED)
]


def test_the_suite_has_cases_for_every_added_function():
    assert len(_R5_CASES) == 63
    for name in _ADDED:
        assert any(f"{name}(" in case.expression for case in _R5_CASES), name


@pytest.mark.parametrize("case", _R5_CASES, ids=lambda case: case.name)
def test_official_suite_case(case):
    resource = suite_input(case.input_file) if case.input_file else {}
    result = evaluate(case.expression, resource, model=_R5_MODEL)
    assert len(result) == len(case.outputs), [rendered(value) for value in result]
    for value, (expected_type, expected) in zip(result, case.outputs, strict=True):
        assert output_matches(value, expected_type, expected), (rendered(value), expected)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("@2014-02.highBoundary(8)", "@2014-02-28"),
        ("@2016-02.highBoundary(8)", "@2016-02-29"),
        ("@2014-01-01T10:30:00.5.lowBoundary()", "@2014-01-01T10:30:00.500+14:00"),
        ("@2014-01-01T10:30:00.5Z.highBoundary()", "@2014-01-01T10:30:00.599Z"),
        ("@T10.highBoundary()", "@T10:59:59.999"),
        ("0.lowBoundary()", "-0.50000000"),
        ("2.50 'mg'.highBoundary(3)", "2.505 'mg'"),
    ],
)
def test_boundaries_beyond_the_suite(expression, expected):
    assert [rendered(value) for value in evaluate(expression, {})] == [expected]


@pytest.mark.parametrize("expression", ["@2014.lowBoundary(5)", "@T10:30.lowBoundary(8)"])
def test_boundary_at_an_impossible_precision_is_empty(expression):
    assert evaluate(expression, {}) == []


def test_per_1_on_a_period_with_different_precisions():
    per_1 = (
        "start.hasValue().not() or end.hasValue().not()"
        " or (start.lowBoundary() <= end.highBoundary())"
    )
    period = {"start": "2001-05-06", "end": "2001-05-06T10:10:10Z"}
    assert evaluate(f"identifier.period.all({per_1})", {"identifier": [{"period": period}]}) == [
        True
    ]
    reversed_period = {"start": "2001-05-08", "end": "2001-05-06T10:10:10Z"}
    resource = {"identifier": [{"period": reversed_period}]}
    assert evaluate(f"identifier.period.all({per_1})", resource) == [False]


def test_rng_2_compares_quantities_of_comparable_units():
    rng_2 = (
        "low.value.empty() or high.value.empty() or "
        "low.lowBoundary().comparable(high.highBoundary()).not() or "
        "(low.lowBoundary() <= high.highBoundary())"
    )

    def check(low, high):
        resource = {"resourceType": "Observation", "valueRange": {"low": low, "high": high}}
        return evaluate(f"valueRange.select({rng_2})", resource)

    cm = {"value": Decimal("2"), "system": "http://unitsofmeasure.org", "code": "cm"}
    assert check(cm, {**cm, "value": Decimal("3")}) == [True]
    assert check({**cm, "value": Decimal("4")}, cm) == [False]
    assert check(cm, {"value": Decimal("1"), "code": "s"}) == [True]


def test_has_value_sees_primitives_with_only_extensions():
    resource = {
        "resourceType": "Patient",
        "birthDate": "1970",
        "_gender": {"extension": [{"url": "http://example.org/x", "valueString": "?"}]},
    }
    assert evaluate("birthDate.hasValue()", resource) == [True]
    assert evaluate("gender.hasValue()", resource) == [False]
    assert evaluate("gender.exists() and gender.extension.exists()", resource) == [True]
    assert evaluate("gender", resource) == []
    assert evaluate("hasValue()", resource) == [False]


def test_primitive_extensions_stay_with_their_values():
    resource = {
        "resourceType": "Patient",
        "name": [
            {
                "given": ["Peter", None, "Jim"],
                "_given": [None, {"extension": [{"url": "u", "valueCode": "c"}]}, None],
            }
        ],
    }
    assert evaluate("name.given.count()", resource) == [3]
    assert evaluate("name.given", resource) == ["Peter", "Jim"]
    assert evaluate("name.given[1].extension('u').exists()", resource) == [True]
    assert evaluate("name.given[0].extension.exists()", resource) == [False]
    assert evaluate("name.children().count()", resource) == [3]


def test_ele_1_on_a_primitive_with_only_an_extension():
    ele_1 = "hasValue() or (children().count() > id.count())"
    resource = {"resourceType": "Patient", "_gender": {"extension": [{"url": "u"}]}}
    assert evaluate(f"gender.select({ele_1})", resource) == [True]
    assert evaluate(f"gender.select({ele_1})", {"_gender": {"id": "a"}}) == [False]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p>Fine&nbsp;text</p></div>', None),
        ('<div xmlns="http://www.w3.org/1999/xhtml"><img src="x.png"/></div>', None),
        ("<p>a</p><script>alert(1)</script>", "element 'script' is not allowed"),
        ('<p onclick="go()">a</p>', "attribute 'onclick' is not allowed on 'p'"),
        ("<p><table><tr><td>a</td></tr></table></p>", "block element 'table'"),
        # Content is txt-2's rule (has_content), not a rule about elements and attributes.
        ('<div xmlns="http://www.w3.org/1999/xhtml"> </div>', None),
        ("<p>unclosed", "not well-formed XHTML"),
        ('<!DOCTYPE html><div xmlns="http://www.w3.org/1999/xhtml">a</div>', "a DOCTYPE"),
        ('<svg xmlns="http://www.w3.org/2000/svg"/>x', "element 'svg' is not in the XHTML"),
    ],
)
def test_html_rules(text, problem):
    problems = html_problems(text)
    if problem is None:
        assert problems == []
    else:
        assert any(p.startswith(problem) for p in problems), problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p>Some text</p></div>', True),
        ('<div xmlns="http://www.w3.org/1999/xhtml">\n  <p> \t</p>\n</div>', False),
        ('<div xmlns="http://www.w3.org/1999/xhtml"><img src="x.png"/></div>', True),
        # Java's trim() keeps a no-break space: the HL7 validator counts it as content.
        ('<div xmlns="http://www.w3.org/1999/xhtml">&nbsp;</div>', True),
        ('<div xmlns="http://www.w3.org/1999/xhtml"><p>a</pa></div>', False),
        ("<script>alert(1)</script>", True),
    ],
)
def test_narrative_content(text, expected):
    assert has_content(text) is expected
    assert evaluate(f"{_quoted(text)}.htmlChecks2()", {}) == [expected]


def _quoted(text: str) -> str:
    return (
        "'"
        + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t")
        + "'"
    )


def test_html_checks_is_empty_for_non_strings():
    assert evaluate("5.htmlChecks()", {}) == []
    assert evaluate("('<p>a</p>' | '<p>b</p>').htmlChecks()", {}) == []
    assert evaluate("'<b>x</b>'.htmlChecks()", {}) == [True]
    assert evaluate("5.htmlChecks2()", {}) == []
    assert evaluate("('<p>a</p>' | '<p>b</p>').htmlChecks2()", {}) == []


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("'cm'", "'[in_i]'", True),
        ("'mg'", "'kg'", True),
        ("'mL'", "'L'", True),
        ("'h'", "day", True),
        ("'cm'", "'s'", False),
        ("'mg'", "'mL'", False),
        ("'{beats}/min'", "'{beats}/min'", True),
        ("'{beats}/min'", "'/min'", False),
    ],
)
def test_units_comparable(left, right, expected):
    assert units_comparable(left, right) is expected


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        ((Decimal(1), "'m'"), (Decimal(99), "'cm'"), 1),
        ((Decimal(1), "'[in_i]'"), (Decimal("2.54"), "'cm'"), 0),
        ((Decimal(500), "'mg'"), (Decimal(1), "'g'"), -1),
        ((Decimal(36), "'Cel'"), (Decimal(37), "'Cel'"), -1),
        ((Decimal(36), "'Cel'"), (Decimal(300), "'K'"), None),
        ((Decimal(1), "'cm'"), (Decimal(1), "'s'"), None),
    ],
)
def test_quantity_order(left, right, order):
    assert quantity_order(*left, *right) == order


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 'cm' < 2 'cm'", [True]),
        ("1 'm' > 99 'cm'", [True]),
        ("2.54 'cm' <= 1 '[in_i]'", [True]),
        ("1 'cm' >= 1 's'", []),
        ("1 < 2 and 'a' < 'b'", [True]),
    ],
)
def test_ordering_operators_handle_quantities(expression, expected):
    assert evaluate(expression, {}) == expected


def test_the_table_names_only_callable_functions():
    assert {"hasValue", "htmlChecks", "htmlChecks2", "lowBoundary", "highBoundary"} <= set(
        FUNCTIONS
    )
    assert all(callable(entry["fn"]) for entry in FUNCTIONS.values())
