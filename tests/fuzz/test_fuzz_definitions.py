"""Fuzzing the definitions format, local rules and FHIRPath expressions (issue 13): a
malformed input is a DefinitionError (or FhirPathSyntaxError) with its location, never
another exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

import engine
from engine.definitions.markdown import parse_definitions_text
from engine.fhirpath.lint import expression_problems
from engine.fhirpath.syntax import FhirPathSyntaxError, parse
from engine.model import DefinitionError
from engine.rules.local import apply_local_rules
from tests.fuzz import strategies
from tests.fuzz.conftest import PROFILE, examples, must_finish

settings.load_profile(PROFILE)


@settings(max_examples=examples(150))
@given(strategies.definition_text())
def test_an_edited_definitions_file_loads_or_says_where_it_is_wrong(
    edited: tuple[str, str],
) -> None:
    name, text = edited
    try:
        parse_definitions_text(text, name)
    except DefinitionError as error:
        assert error.source is not None and error.source.file == name
        assert 1 <= error.source.line <= text.count("\n") + 1


@settings(max_examples=examples(100))
@given(strategies.bad_definition_edit())
def test_a_field_known_to_be_wrong_is_refused_where_it_is(edit: tuple[str, str, int, str]) -> None:
    name, text, line, done = edit
    with pytest.raises(DefinitionError) as caught:
        parse_definitions_text(text, name)
    assert caught.value.source is not None, done
    assert (caught.value.source.file, caught.value.source.line) == (name, line), done


@settings(max_examples=examples(200))
@given(strategies.expressions)
def test_any_expression_parses_or_is_a_syntax_error(expression: str) -> None:
    try:
        parse(expression)
    except FhirPathSyntaxError as error:
        assert error.line >= 1 and error.column >= 1
        return
    expression_problems(expression)


@settings(max_examples=examples(60))
@given(strategies.expressions)
def test_any_local_rule_loads_or_says_where_it_is_wrong(
    definitions: engine.Definitions, tmp_path_factory, expression: str
) -> None:
    path: Path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    quoted = expression.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        "constraints:\n"
        "  - key: acme-1\n"
        "    severity: error\n"
        "    human: Fuzzed\n"
        f'    expression: "{quoted}"\n'
        "    context: ImagingSelection\n",
        encoding="utf-8",
    )
    try:
        local = apply_local_rules(definitions, path)
    except DefinitionError as error:
        assert error.source is not None and error.source.line >= 1
        return
    # A long text: a catastrophic pattern on a backtracking engine would never end.
    text = "a" * 60 + "b"
    with must_finish():
        engine.Validator(local, time_budget=5).validate(
            {"resourceType": "ImagingSelection", "status": "available", "code": {"text": text}}
        )
