"""Issue 13, definitions that fail loudly: each mistake found by fuzzing the definitions
format and local rules is a DefinitionError with file and line when they load, never a
traceback, a crash at validation or a rule silently switched off."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.model import DefinitionError
from engine.rules.loader import load_rules
from engine.rules.local import apply_local_rules
from engine.rules.regenerate import regenerate
from tests.conftest import DEFINITIONS

SELECTION = (DEFINITIONS / "ImagingSelection.md").read_text(encoding="utf-8")
ISL_1 = "seriesUid.exists() or imageRegion3D.exists()"
CONSTRAINTS_LINE = 1 + SELECTION.splitlines().index(
    next(line for line in SELECTION.splitlines() if line.startswith("**Constraints:** isl-1"))
)


def _load_changed(tmp_path: Path, old: str, new: str) -> engine.Definitions:
    """The bundled definitions with ImagingSelection.md changed once."""
    assert old in SELECTION
    folder = tmp_path / "definitions"
    folder.mkdir()
    for path in DEFINITIONS.glob("*.md"):
        if path.name != "ImagingSelection.md":
            (folder / path.name).symlink_to(path.resolve())
    (folder / "ImagingSelection.md").write_text(SELECTION.replace(old, new, 1), encoding="utf-8")
    return engine.load_definitions(folder)


def _error(tmp_path: Path, old: str, new: str) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        _load_changed(tmp_path, old, new)
    return caught.value


def test_a_syntax_error_in_one_constraint_does_not_swallow_the_next(tmp_path: Path) -> None:
    # Before: isl-1 took isl-2's expression and isl-2 vanished, without a word.
    error = _error(tmp_path, ISL_1, "seriesUid.exists( or imageRegion3D.exists()")
    assert error.source is not None
    assert (Path(error.source.file).name, error.source.line) == (
        "ImagingSelection.md",
        CONSTRAINTS_LINE,
    )
    assert "constraint isl-1: expression is not valid FHIRPath" in str(error)


def test_a_misspelt_severity_does_not_hide_a_constraint(tmp_path: Path) -> None:
    error = _error(tmp_path, "; isl-2 | error |", "; isl-2 | eror |")
    assert "constraint isl-2: unknown severity 'eror'" in str(error)


def test_an_unknown_function_is_an_error_at_load(tmp_path: Path) -> None:
    # Before: the constraint loaded and became a "not evaluated" note at validation.
    error = _error(tmp_path, ISL_1, "seriesUid.exist() or imageRegion3D.exists()")
    assert "constraint isl-1: unknown function 'exist()' (did you mean 'exists()'?)" in str(error)
    assert error.source is not None and error.source.line == CONSTRAINTS_LINE


def test_a_known_function_the_engine_cannot_evaluate_stays_a_note(tmp_path: Path) -> None:
    definitions = _load_changed(tmp_path, ISL_1, "subject.resolve().exists()")
    report = engine.Validator(definitions).validate(
        {"resourceType": "ImagingSelection", "status": "available", "code": {"text": "x"}}
    )
    notes = [i for i in report.issues if i.key == "isl-1"]
    assert [(i.severity, i.code) for i in notes] == [("information", "informational")]
    assert "resolve()" in notes[0].message


def test_a_600_term_or_is_a_definition_error_not_a_recursion_error(tmp_path: Path) -> None:
    # Before: RecursionError out of the expression analysis at load.
    chain = " or ".join(["seriesUid.exists()"] * 600)
    error = _error(tmp_path, ISL_1, chain)
    assert "expression nested too deeply" in str(error)
    assert error.source is not None and error.source.line == CONSTRAINTS_LINE


def test_1000_nested_parentheses_are_a_definition_error(tmp_path: Path) -> None:
    # Before: loaded, then RecursionError out of validate().
    error = _error(tmp_path, ISL_1, "(" * 1000 + "seriesUid.exists()" + ")" * 1000)
    assert "expression nested too deeply (1001 levels, at most 100)" in str(error)


def test_a_5000_digit_cardinality_is_a_definition_error(tmp_path: Path) -> None:
    # Before: a ValueError traceback from int() (Python refuses > 4300 digits).
    old = "## ImagingSelection.status\n"
    status = SELECTION.index(old)
    card = SELECTION.index("**Cardinality:** 1..1", status)
    line = SELECTION.count("\n", 0, card) + 1
    error = _error(
        tmp_path,
        SELECTION[status:card] + "**Cardinality:** 1..1",
        SELECTION[status:card] + "**Cardinality:** 1.." + "9" * 5000,
    )
    assert error.source is not None and error.source.line == line
    assert "is larger than 2147483647" in str(error)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("[A-Z", "missing ]"),
        ("(a)\\1", "invalid escape sequence"),  # needs backtracking: refused, not run slowly
        ("(?=a)b", "invalid perl operator"),
    ],
)
def test_a_malformed_regex_field_is_a_definition_error_at_load(
    tmp_path: Path, pattern: str, reason: str
) -> None:
    # Before: loaded, then re.error on every resource with such a value.
    text = (DEFINITIONS / "id.md").read_text(encoding="utf-8")
    regex_line = next(line for line in text.splitlines() if line.startswith("**Regex:**"))
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "id.md").write_text(text.replace(regex_line, f"**Regex:** {pattern}"), "utf-8")
    with pytest.raises(DefinitionError) as caught:
        engine.load_definitions(folder / "id.md")
    assert caught.value.source is not None
    assert caught.value.source.line == text.splitlines().index(regex_line) + 1
    assert f"malformed Regex: regular expression '{pattern}'" in str(caught.value)
    assert reason in str(caught.value)


def test_a_malformed_regex_in_compiled_rules_is_a_definition_error(tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    for name in ("id.md", "string.md", "Element.md", "Base.md", "PrimitiveType.md", "DataType.md"):
        (folder / name).write_text((DEFINITIONS / name).read_text("utf-8"), "utf-8")
    regenerate(folder)
    rules = folder / "rules" / "id.yaml"
    text = rules.read_text("utf-8")
    line = next(line for line in text.splitlines() if line.strip().startswith("regex:"))
    rules.write_text(text.replace(line, line.split("regex:")[0] + 'regex: "[A-Z"'), "utf-8")
    definitions = load_rules(folder)
    with pytest.raises(DefinitionError) as caught:
        definitions["id"]
    assert caught.value.source is not None
    assert caught.value.source.line == text.splitlines().index(line) + 1
    assert "malformed regex" in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(" * 1000 + "studyUid.exists()" + ")" * 1000, "expression nested too deeply"),
        (" or ".join(["studyUid.exists()"] * 600), "expression nested too deeply"),
        ("studyUid.exist()", "unknown function 'exist()'"),
        ("studyUid.matches('[0-9')", "regular expression '[0-9': missing ]"),
    ],
)
def test_bad_local_rules_fail_at_load(
    tmp_path: Path, definitions: engine.Definitions, expression: str, message: str
) -> None:
    # Before: the first two loaded and raised RecursionError out of validate().
    path = tmp_path / "rules.yaml"
    path.write_text(
        "constraints:\n"
        "  - key: acme-1\n"
        "    severity: error\n"
        "    human: A study\n"
        f'    expression: "{expression}"\n'
        "    context: ImagingSelection\n",
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as caught:
        apply_local_rules(definitions, path)
    assert caught.value.source is not None and caught.value.source.line == 5
    assert message in str(caught.value)


def test_a_constraint_built_in_code_that_nests_too_deeply_is_reported_not_raised(
    definitions: engine.Definitions,
) -> None:
    # Definitions made in code skip the loader's checks: validation reports, never crashes.
    import dataclasses

    sd = definitions["ImagingSelection"]
    deep = "(" * 1000 + "studyUid.exists()" + ")" * 1000
    constraint = dataclasses.replace(sd.constraints[0], key="deep-1", expression=deep)
    root = dataclasses.replace(sd.root, constraints=(constraint,))
    changed = dataclasses.replace(sd, elements=(root, *sd.elements[1:]))
    types = {name: definitions[name] for name in definitions}
    types["ImagingSelection"] = changed
    report = engine.Validator(engine.Definitions(types, definitions.value_sets)).validate(
        {"resourceType": "ImagingSelection", "status": "available", "code": {"text": "x"}}
    )
    notes = [i for i in report.issues if i.key == "deep-1"]
    assert len(notes) == 1
    assert "nested too deeply" in notes[0].message
