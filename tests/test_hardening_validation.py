"""Issue 13, validation on hostile input: bounded time (linear-time regular expressions,
a per-resource time budget) and the silent passes that are now errors (calendar dates,
time zones, the narrative's XHTML root)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.fhirpath.evaluation import FhirPathEvaluationError
from engine.fhirpath.reference.evaluator import evaluate
from engine.fhirpath.regex import PatternError, compile_pattern
from engine.rules.local import apply_local_rules
from tests.hang_guard import must_finish

#: A hang guard, not a timing: each case below finishes in milliseconds, or runs for
#: longer than the universe's age on a backtracking engine.


def _selection(text: str = "x") -> dict[str, Any]:
    return {"resourceType": "ImagingSelection", "status": "available", "code": {"text": text}}


def _local(tmp_path: Path, definitions: engine.Definitions, expression: str) -> engine.Definitions:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "constraints:\n"
        "  - key: acme-1\n"
        "    severity: error\n"
        "    human: Hostile\n"
        f"    expression: {expression}\n"
        "    context: ImagingSelection\n",
        encoding="utf-8",
    )
    return apply_local_rules(definitions, path)


# ---- regular expressions run in linear time


def test_a_catastrophic_regex_in_a_local_rule_does_not_hang(
    tmp_path: Path, definitions: engine.Definitions
) -> None:
    # Before: Python's re backtracks through 2^60 ways of splitting the text.
    local = _local(tmp_path, definitions, "code.text.matches('^(a|aa)+$')")
    with must_finish():
        report = engine.Validator(local).validate(_selection("a" * 60 + "b"))
    failed = [i for i in report.issues if i.key == "acme-1"]
    assert [(i.code, i.location) for i in failed] == [("invariant", "ImagingSelection")]


def test_a_catastrophic_regex_field_does_not_hang(tmp_path: Path) -> None:
    source = Path("definitions")
    folder = tmp_path / "defs"
    folder.mkdir()
    for path in source.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        if path.name == "string.md":
            regex = next(line for line in text.splitlines() if line.startswith("**Regex:**"))
            text = text.replace(regex, "**Regex:** (a|aa)+")
        (folder / path.name).write_text(text, encoding="utf-8")
    validator = engine.Validator(engine.load_definitions(folder))
    with must_finish():
        report = validator.validate(_selection("a" * 60 + "b"))
    assert [i.message for i in report.issues if i.location == "ImagingSelection.code.text"] == [
        f"The value '{'a' * 60}b' is not a valid string (string: the pattern (a|aa)+)"
    ]


def test_patterns_that_need_backtracking_are_refused_not_run() -> None:
    with pytest.raises(PatternError, match="invalid escape sequence"):
        compile_pattern("(a)\\1")
    with pytest.raises(PatternError, match="invalid perl operator"):
        compile_pattern("a(?=b)")


def test_matches_and_replace_matches_run_on_the_linear_engine() -> None:
    # Before: fhirpathpy's re accepted the backreference and answered true.
    with pytest.raises(FhirPathEvaluationError, match="invalid escape sequence"):
        evaluate("'aa'.matches('(a)\\\\1')", {})
    with must_finish():
        assert evaluate(f"'{'a' * 60}b'.matches('^(a|aa)+$')", {}) == [False]
        assert evaluate("'ab-cd'.replaceMatches('(\\\\w+)-(\\\\w+)', '$2-$1')", {}) == ["cd-ab"]
    assert evaluate("'a\nb'.matches('a.b')", {}) == [True]  # single-line mode


# ---- the time budget


#: Expressions that run for ever (or nearly), per evaluator: each level of where() makes
#: fhirpathpy evaluate its argument twice (2^30 steps); repeat() on a number that grows
#: never stops producing new items.
PATHOLOGICAL = {
    "fhirpathpy": "code" + ".where(true" * 30 + ")" * 30 + ".exists()",
    "compiled": "1.repeat($this + 1).exists()",
}


@pytest.mark.parametrize("evaluator", sorted(PATHOLOGICAL))
def test_the_time_budget_ends_a_pathological_resource(
    tmp_path: Path, definitions: engine.Definitions, evaluator: str
) -> None:
    local = _local(tmp_path, definitions, PATHOLOGICAL[evaluator])
    validator = engine.Validator(local, time_budget=2, evaluator=evaluator)
    with must_finish():
        validator.validate(_selection())  # compiles every rule, which the budget counts
        report = validator.validate(_selection())
    costly = [i for i in report.issues if i.code == "too-costly"]
    assert len(costly) == 1
    issue = costly[0]
    assert (issue.severity, issue.key, issue.location) == ("fatal", "acme-1", "ImagingSelection")
    assert "time budget of 2 s" in issue.message
    assert "constraint acme-1 on ImagingSelection" in issue.message
    assert not report.valid


@pytest.mark.parametrize("evaluator", sorted(PATHOLOGICAL))
def test_the_budget_grows_with_the_size_of_the_resource(
    tmp_path: Path, definitions: engine.Definitions, evaluator: str
) -> None:
    # A large Bundle needs the time its size needs; a small crafted resource does not.
    local = _local(tmp_path, definitions, PATHOLOGICAL[evaluator])
    validator = engine.Validator(local, time_budget=0.5, evaluator=evaluator)
    with must_finish():
        report = validator.validate(_selection("x" * 3_000_000))
    costly = [i for i in report.issues if i.code == "too-costly"]
    assert len(costly) == 1 and "time budget of 1.5 s" in costly[0].message


def test_a_resource_within_its_budget_is_unaffected(validator: engine.Validator) -> None:
    resource = _selection()
    resource["seriesUid"] = "1.2.3"
    resource["studyUid"] = "1.2"
    bounded = engine.Validator(validator.definitions, time_budget=30)
    unbounded = engine.Validator(validator.definitions, time_budget=None)
    assert bounded.validate(resource).issues == unbounded.validate(resource).issues


def test_the_budget_must_be_positive(definitions: engine.Definitions) -> None:
    with pytest.raises(ValueError, match="time_budget"):
        engine.Validator(definitions, time_budget=0)


# ---- silent passes that are errors


def _patient(**fields: Any) -> dict[str, Any]:
    text = '<div xmlns="http://www.w3.org/1999/xhtml">A patient</div>'
    return {
        "resourceType": "Patient",
        "text": {"status": "generated", "div": text},
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "location", "message"),
    [
        (
            {"birthDate": "2021-02-30"},
            "Patient.birthDate",
            "The value '2021-02-30' is not a valid date: February 2021 has 28 days",
        ),
        (
            {"birthDate": "2023-04-31"},
            "Patient.birthDate",
            "The value '2023-04-31' is not a valid date: April 2023 has 30 days",
        ),
        (
            {"deceasedDateTime": "2021-02-29T10:00:00Z"},
            "Patient.deceased.ofType(dateTime)",
            "The value '2021-02-29T10:00:00Z' is not a valid dateTime: February 2021 has 28 days",
        ),
        (
            {"deceasedDateTime": "2021-03-01T10:00:00"},
            "Patient.deceased.ofType(dateTime)",
            "The value '2021-03-01T10:00:00' is not a valid dateTime: a time needs a time "
            "zone (Z or an offset such as +01:00)",
        ),
        (
            {"meta": {"lastUpdated": "2021-02-30T10:00:00Z"}},
            "Patient.meta.lastUpdated",
            "The value '2021-02-30T10:00:00Z' is not a valid instant: February 2021 has 28 days",
        ),
    ],
)
def test_impossible_dates_and_times_without_zone_are_errors(
    validator: engine.Validator, fields: dict[str, Any], location: str, message: str
) -> None:
    report = validator.validate(_patient(**fields))
    assert [(i.severity, i.code, i.location, i.message) for i in report.issues] == [
        ("error", "value", location, message)
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"birthDate": "2024-02-29"},
        {"birthDate": "2021-02"},
        {"birthDate": "2021"},
        {"deceasedDateTime": "2021-03-01"},
        {"deceasedDateTime": "2021-03-01T10:00:00+14:00"},
        {"meta": {"lastUpdated": "2000-02-29T23:59:60.5Z"}},
    ],
)
def test_real_dates_still_pass(validator: engine.Validator, fields: dict[str, Any]) -> None:
    assert validator.validate(_patient(**fields)).issues == ()


@pytest.mark.parametrize(
    "div",
    [
        "<div><p>No namespace</p></div>",
        '<p xmlns="http://www.w3.org/1999/xhtml">Not a div</p>',
        '<div xmlns="urn:other">Another namespace</div>',
        '<div xmlns="http://www.w3.org/1999/xhtml">a</div><div>b</div>',
        "Just text",
    ],
)
def test_a_narrative_that_is_not_an_xhtml_div_is_an_error(
    validator: engine.Validator, div: str
) -> None:
    resource = _patient()
    resource["text"] = {"status": "generated", "div": div}
    report = validator.validate(resource)
    assert not report.valid
    # The XHTML rules (txt-1) say what is wrong; the narrative shows text (txt-2 passes).
    assert {(i.key, i.location) for i in report.issues if i.severity == "error"} == {
        ("txt-1", "Patient.text.div"),
    }


def test_a_narrative_xhtml_div_with_a_prefix_passes(validator: engine.Validator) -> None:
    resource = _patient()
    resource["text"]["div"] = '<h:div xmlns:h="http://www.w3.org/1999/xhtml">Hi</h:div>'
    assert validator.validate(copy.deepcopy(resource)).issues == ()
