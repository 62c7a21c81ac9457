"""The strict FHIRPath grammar against the official suite, the R5 constraints and bad input."""

from __future__ import annotations

import lark
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.fhirpath import FhirPathSyntaxError, is_valid, parse

from .suite import SUITE_FILES, r5_constraints, suite_cases

_ALL_CASES = [case for path in SUITE_FILES for case in suite_cases(path)]


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_accepts_every_suite_expression_not_marked_as_a_syntax_error(path):
    cases = [case for case in suite_cases(path) if case.invalid != "syntax"]
    rejected = [
        (case.id, str(error)) for case in cases if (error := _syntax_error(case.expression))
    ]
    assert len(cases) > 600
    assert rejected == []


def test_rejects_every_suite_expression_marked_as_a_syntax_error():
    cases = [case for case in _ALL_CASES if case.invalid == "syntax"]
    assert [case.expression for case in cases] == ["2 + 2 /", "2 + 2 /* not finished"] * 2
    assert not any(is_valid(case.expression) for case in cases)


def test_accepts_every_r5_core_constraint():
    entries = r5_constraints()
    expressions = [entry["expression"] for entry in entries["defined"]]
    expressions += entries["snapshot_only"]
    rejected = [(text, str(error)) for text in expressions if (error := _syntax_error(text))]
    assert len(expressions) == 391
    assert rejected == []


@pytest.mark.parametrize(
    ("expression", "message", "line", "column"),
    [
        ("Patient..name", "expected a name after '.', found '.'", 1, 9),
        ("name.", "expected a name after '.', found end of expression", 1, 6),
        ("(a", "expected ')' or an operator after 'a', found end of expression", 1, 3),
        (
            "a b",
            "expected '.' or an operator or the end of the expression after 'a', found 'b'",
            1,
            3,
        ),
        ("'unterminated", "unterminated string", 1, 1),
        ("exists(", "expected an expression after '(', found end of expression", 1, 8),
        ("a | | b", "expected an expression after '|', found '|'", 1, 5),
        ("1 +", "expected an expression after '+', found end of expression", 1, 4),
        ("2 + 2 /* not finished", "unterminated comment '/*'", 1, 7),
        ("a is", "expected a name after 'is', found end of expression", 1, 5),
        ("x.`open", "unterminated delimited name", 1, 3),
        ("a.$thus", "unknown special name (expected $this, $index or $total)", 1, 3),
        (
            "1 andx",
            "expected '.' or a unit or an operator or the end of the expression after '1'",
            1,
            3,
        ),
        ("10Lx", "expected", 1, 3),
        ("where(a = 1\n  and b =)", "expected an expression after '=', found ')'", 2, 10),
        ("   ", "empty expression", 1, 1),
    ],
)
def test_rejects_malformed_expressions_with_position(expression, message, line, column):
    with pytest.raises(FhirPathSyntaxError) as caught:
        parse(expression)
    error = caught.value
    assert error.message.startswith(message)
    assert (error.line, error.column, error.expression) == (line, column, expression)
    assert isinstance(error, ValueError)


def test_error_text_is_one_line_then_the_expression_line_and_a_caret():
    with pytest.raises(FhirPathSyntaxError) as caught:
        parse("name.where(use = 'official')\n  .given..first()")
    assert str(caught.value).splitlines() == [
        "expected a name after '.', found '.' (line 2, column 10)",
        "    .given..first()",
        "           ^",
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "{}",
        "true and false",
        "'it\\'s' & 'a\\u0041\\n'",
        "10L + 3",
        "4 days + 2 'mg' + 1.5 year",
        "@2015-02-04T14:34:28.123+09:00 > @2015T and @2015-02 < @2016-01-01Z",
        "@T14:34 | @T14:34:28.5Z",
        "%resource.id = %`vs-x` or %'vs-y' = %ucum",
        "`given name`.`div`",
        "a.as(Quantity).is(Quantity) and a is System.Integer and (a as FHIR.Quantity).exists()",
        "in.contains.is.as",
        "'a'.contains('a') and 'a' in 'ab' and ('ab' contains 'a')",
        "text.div.htmlChecks() and a.day.mod",
        "x /* inline */ .y // till the end\n .z",
        "name.select($this.given[$index]).aggregate($total + 1, 0)",
        "-1.convertsToInteger() and +2 > -(3 div 2 mod 1)",
        'type.code.contains(":")',
        "a implies b or c xor d and e",
    ],
)
def test_accepts_the_full_language(expression):
    assert isinstance(parse(expression), lark.Tree)


def _shape(tree: lark.Tree | lark.Token | None) -> str:
    """A compact rendering of the operator structure, to check precedence."""
    if isinstance(tree, lark.Token) or tree is None:
        return str(tree)
    if tree.data in ("member", "function"):
        return str(tree.children[0].children[0])
    if tree.data == "binary":
        left, op, right = tree.children
        return f"({_shape(left)} {op} {_shape(right)})"
    if tree.data == "type_expression":
        left, op, spec = tree.children
        return f"({_shape(left)} {op} {'.'.join(str(i.children[0]) for i in spec.children)})"
    if tree.data == "polarity":
        return f"({tree.children[0]}{_shape(tree.children[1])})"
    if tree.data == "invoke":
        return f"{_shape(tree.children[0])}.{_shape(tree.children[1])}"
    return str(tree.children[0])


@pytest.mark.parametrize(
    ("expression", "shape"),
    [
        ("a or b and c", "(a or (b and c))"),
        ("a implies b implies c", "((a implies b) implies c)"),
        ("1 + 2 * 3 - 4", "((1 + (2 * 3)) - 4)"),
        ("a = b | c", "(a = (b | c))"),
        ("a | b is T", "(a | (b is T))"),
        ("1 > 2 is Boolean", "(1 > (2 is Boolean))"),
        ("a + b is FHIR.T", "((a + b) is FHIR.T)"),
        ("-1.x", "(-1.x)"),
        ("a in b and c contains d", "((a in b) and (c contains d))"),
        ("a ~ b != c", "((a ~ b) != c)"),
    ],
)
def test_follows_the_specification_precedence(expression, shape):
    assert _shape(parse(expression)) == shape


@given(st.text(alphabet="ab.()[]'`%$@|=<>+-*/ 0123456789,\n{}TZ:", max_size=30))
def test_any_text_parses_or_gives_a_positioned_syntax_error(text):
    try:
        parse(text)
    except FhirPathSyntaxError as error:
        assert error.line >= 1
        assert error.column >= 1
        assert str(error).count("\n") == 2


def _syntax_error(expression: str) -> FhirPathSyntaxError | None:
    try:
        parse(expression)
    except FhirPathSyntaxError as error:
        return error
    return None
