"""Strict checks when loading: each malformed input gives a DefinitionError at its file and line.

Every case starts from one small valid file (``VALID``), changes one thing, and asserts the
error's file, line and message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.definitions.markdown import parse_definitions_text
from engine.model import DefinitionError, Source
from tests.model_helpers import without_sources

VALID = """\
---
type: "resource-definitions"
title: "Widget Definitions"
resource: "Widget"
---
# Widget Definitions
## Widget
A widget
**Definition:** A test resource.
**Cardinality:** 0..*
**Constraints:** wdg-1 | error | A part needs a name | part.all(name.exists())
## Widget.status
draft | active
**Cardinality:** 1..1
**Type:** [code](/code)
## Widget.part
A part
**Conditions:** wdg-1
**Cardinality:** 0..*
**Type:** [BackboneElement](/BackboneElement)
## Widget.part.name
Name of the part
**Cardinality:** 0..1
**Type:** [string](/string)"""


def _write(tmp_path: Path, text: str, name: str = "Widget.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, old: str, new: str) -> DefinitionError:
    """Load VALID with ``old`` replaced by ``new`` and return the error it raises."""
    assert old in VALID, old
    path = _write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(path)
    assert error.value.source is not None
    assert error.value.source.file == str(path)
    return error.value


def test_valid_file_loads(tmp_path: Path) -> None:
    widget = engine.load_definitions(_write(tmp_path, VALID))["Widget"]
    assert [e.path for e in widget] == [
        "Widget",
        "Widget.status",
        "Widget.part",
        "Widget.part.name",
    ]
    assert widget.element("Widget.part").conditions == ("wdg-1",)


# ---- fields


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        (
            "**Cardinality:** 1..1",
            "**Cardinallity:** 1..1",
            14,
            "unknown field 'Cardinallity' (did you mean 'Cardinality'?)",
        ),
        ("**Cardinality:** 1..1", "**Cardinality:** 1..", 14, "malformed cardinality '1..'"),
        (
            "**Cardinality:** 1..1",
            "**Cardinality:** 2..1",
            14,
            "cardinality '2..1': min is greater than max",
        ),
        (
            "**Type:** [code](/code)",
            "**Type:** [code](/code",
            15,
            "malformed type '[code](/code': it ends too early",
        ),
        (
            "**Type:** [code](/code)",
            "**Type:** [code](/code); [string](/string)",
            15,
            "malformed type '[code](/code); [string](/string)' at column 14",
        ),
        (
            "**Type:** [code](/code)",
            "**Type:** [code](/code), [string](/string)",
            15,
            "section 'Widget.status': 2 types, but only a choice element (a name ending in [x]) "
            "may have several",
        ),
        (
            "**Type:** [code](/code)",
            "**Type:** [code](/code)\n**Binding:** mandatory:[x](/valueset-x)",
            16,
            "malformed binding 'mandatory:[x](/valueset-x)'",
        ),
        (
            "**Type:** [code](/code)",
            "**Type:** [code](/code)\n**Summary:** yes",
            16,
            "malformed Summary 'yes': expected true or false",
        ),
        (
            "**Type:** [code](/code)",
            "**Type:** [code](/code)\n**Is Modifier:** true (because)",
            16,
            "malformed Is Modifier 'true (because)'",
        ),
        (
            "**Type:** [code](/code)",
            "**Type:** [code](/code)\n**Mappings:** w5",
            16,
            "malformed mapping 'w5': expected 'identity=map'",
        ),
        (
            "**Type:** [code](/code)",
            "**Type:** [code](/code)\n**Type:** [string](/string)",
            16,
            "section 'Widget.status': duplicate field 'Type'",
        ),
        ("**Conditions:** wdg-1", "**Conditions:** wdg-1,wdg-2", 18, "malformed conditions"),
    ],
)
def test_malformed_field(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    error = _error(tmp_path, old, new)
    assert error.source is not None
    assert error.source.line == line
    assert error.message == message or error.message.startswith(message), error.message


def test_missing_cardinality(tmp_path: Path) -> None:
    error = _error(tmp_path, "**Cardinality:** 1..1\n", "")
    assert (error.source, error.message) == (
        Source(error.source.file, 12),  # type: ignore[union-attr]
        "section 'Widget.status': missing field 'Cardinality'",
    )


def test_short_description_of_two_lines(tmp_path: Path) -> None:
    error = _error(tmp_path, "A part\n", "A part\nthat goes on\n")
    assert error.source.line == 18  # type: ignore[union-attr]
    assert error.message.startswith("section 'Widget.part': the short description must be one line")


# ---- sections


def test_section_whose_parent_is_missing(tmp_path: Path) -> None:
    error = _error(tmp_path, "## Widget.part.name", "## Widget.piece.name")
    assert error.source.line == 21  # type: ignore[union-attr]
    assert error.message == "section 'Widget.piece.name': parent 'Widget.piece' is not defined"


def test_child_before_its_parent(tmp_path: Path) -> None:
    error = _error(
        tmp_path,
        "## Widget.status\ndraft | active\n",
        "## Widget.part.size\nSize\n**Cardinality:** 0..1\n## Widget.status\ndraft | active\n",
    )
    assert error.source.line == 12  # type: ignore[union-attr]
    assert error.message == "section 'Widget.part.size': parent 'Widget.part' is not defined"


def test_duplicate_section(tmp_path: Path) -> None:
    error = _error(tmp_path, "## Widget.part\n", "## Widget.status\n")
    assert error.source.line == 16  # type: ignore[union-attr]
    assert error.message == "duplicate section 'Widget.status' (first defined at line 12)"


def test_first_section_is_not_the_root(tmp_path: Path) -> None:
    error = _error(tmp_path, "## Widget\n", "## Gadget\n")
    assert error.source.line == 7  # type: ignore[union-attr]
    assert error.message == "the first section must be the root 'Widget', found 'Gadget'"


def test_section_of_another_type(tmp_path: Path) -> None:
    error = _error(tmp_path, "## Widget.status", "## Gadget.status")
    assert error.source.line == 12  # type: ignore[union-attr]
    assert error.message == "section 'Gadget.status' is not an element of 'Widget'"


def test_malformed_section_path(tmp_path: Path) -> None:
    error = _error(tmp_path, "## Widget.status", "## Widget..status")
    assert error.source.line == 12  # type: ignore[union-attr]
    assert error.message == "malformed section path 'Widget..status'"


def test_text_before_the_first_section(tmp_path: Path) -> None:
    error = _error(tmp_path, "# Widget Definitions\n", "# Widget Definitions\nSome intro\n")
    assert error.source.line == 7  # type: ignore[union-attr]
    assert error.message == "expected a '## <path>' section heading"


def test_missing_title_heading(tmp_path: Path) -> None:
    error = _error(tmp_path, "# Widget Definitions\n", "")
    assert error.source.line == 6  # type: ignore[union-attr]
    assert error.message == "expected a '# <title>' line after the front matter"


def test_title_differs_from_front_matter(tmp_path: Path) -> None:
    error = _error(tmp_path, "# Widget Definitions", "# Gadget Definitions")
    assert error.source.line == 6  # type: ignore[union-attr]
    assert error.message == (
        "the heading '# Gadget Definitions' differs from the front matter title "
        "'Widget Definitions'"
    )


# ---- constraints


def test_constraint_expression_not_valid_fhirpath(tmp_path: Path) -> None:
    error = _error(tmp_path, "part.all(name.exists())", "part.all(name..exists())")
    assert error.source.line == 11  # type: ignore[union-attr]
    assert error.message.startswith(
        "constraint wdg-1: expression is not valid FHIRPath: expected a name after '.', found "
        "'.' (line 1, column 15)"
    )


def test_constraint_with_unknown_severity(tmp_path: Path) -> None:
    error = _error(tmp_path, "wdg-1 | error |", "wdg-1 | eror |")
    assert error.source.line == 11  # type: ignore[union-attr]
    assert error.message.startswith("constraint wdg-1: unknown severity 'eror'")


def test_duplicate_constraint_key(tmp_path: Path) -> None:
    error = _error(
        tmp_path,
        "**Type:** [BackboneElement](/BackboneElement)",
        "**Type:** [BackboneElement](/BackboneElement)\n"
        "**Constraints:** wdg-1 | warning | Named | name.exists()",
    )
    assert error.source.line == 21  # type: ignore[union-attr]
    assert error.message == (
        f"duplicate constraint key 'wdg-1' (first defined at {error.source.file}:11)"  # type: ignore[union-attr]
    )


def test_conditions_naming_an_unknown_constraint(tmp_path: Path) -> None:
    error = _error(tmp_path, "**Conditions:** wdg-1", "**Conditions:** wdg-1, wdg-99")
    assert error.source.line == 18  # type: ignore[union-attr]
    assert error.message == "Conditions names unknown constraint 'wdg-99'"


def test_constraint_naming_an_unknown_element(tmp_path: Path) -> None:
    error = _error(tmp_path, "part.all(name.exists())", "part.all(nmae.exists())")
    assert error.source.line == 11  # type: ignore[union-attr]
    assert error.message.startswith("constraint wdg-1: 'nmae' is not an element of")


def test_seed_constraint_with_misspelt_element(tmp_path: Path) -> None:
    seed = Path(__file__).resolve().parent.parent / "definitions" / "ImagingSelection.md"
    text = seed.read_text(encoding="utf-8").replace(
        "isl-2 | error | seriesUid SHALL only be present if studyUid is present | "
        "seriesUid.exists()",
        "isl-2 | error | seriesUid SHALL only be present if studyUid is present | "
        "seriesUID.exists()",
    )
    path = _write(tmp_path, text, "ImagingSelection.md")
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(path)
    assert error.value.source == Source(str(path), 11)
    assert (
        error.value.message == "constraint isl-2: 'seriesUID' is not an element of ImagingSelection"
    )


# ---- front matter


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        (
            'resource: "Widget"',
            'resource: "Widget"\ncolour: "blue"',
            5,
            "unknown front matter key 'colour'",
        ),
        (
            'type: "resource-definitions"',
            'type: "definitions"',
            2,
            "front matter 'type' must be 'resource-definitions'",
        ),
        ('resource: "Widget"\n', "", 1, "front matter has no 'resource' (the type's name)"),
        ('resource: "Widget"', "resource: 12", 4, "front matter 'resource' must be a string"),
        (
            'resource: "Widget"',
            'resource: "Widget"\nkind: "thing"',
            5,
            "front matter 'kind' must be one of resource, complex-type, primitive-type, "
            "logical, not 'thing'",
        ),
        (
            'resource: "Widget"',
            'resource: "Widget"\nkind: "complex-type"',
            1,
            "front matter needs a 'base' for kind 'complex-type' ('none' when it has none)",
        ),
        (
            'resource: "Widget"',
            'resource: "Widget"\nabstract: "yes"',
            5,
            "front matter 'abstract' must be true or false",
        ),
        (
            'resource: "Widget"',
            'resource: "Widget"\ntitle: "Again"',
            5,
            "duplicate front matter key 'title'",
        ),
        (
            'title: "Widget Definitions"',
            'title: "Widget Definitions',
            4,
            "malformed YAML in front matter",
        ),
        ('title: "Widget Definitions"', "title: [Widget", 4, "malformed YAML in front matter"),
    ],
)
def test_malformed_front_matter(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    error = _error(tmp_path, old, new)
    assert error.source.line == line, error  # type: ignore[union-attr]
    assert error.message.startswith(message), error.message


def test_missing_front_matter(tmp_path: Path) -> None:
    error = _error(tmp_path, VALID[: VALID.index("# Widget")], "")
    assert error.source.line == 1  # type: ignore[union-attr]
    assert error.message == "missing front matter: the file must start with a '---' line"


def test_front_matter_not_closed(tmp_path: Path) -> None:
    error = _error(tmp_path, "---\n# Widget", "# Widget")
    assert error.source.line == 1  # type: ignore[union-attr]
    assert error.message == "front matter is not closed by a '---' line"


def test_front_matter_not_a_mapping(tmp_path: Path) -> None:
    error = _error(tmp_path, VALID[4 : VALID.index("---", 4)], "- a list\n")
    assert error.source.line == 2  # type: ignore[union-attr]
    assert error.message == "front matter must be a YAML mapping of keys to values"


# ---- files, folders and types


def test_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "Missing.md"
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(missing)
    assert error.value.message == f"definitions file not found: '{missing}'"
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(tmp_path / "missing-folder")
    assert error.value.message == (
        f"definitions file or folder not found: '{tmp_path / 'missing-folder'}'"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    looping = tmp_path / "Loop.md"
    looping.symlink_to(looping)
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(looping)
    assert error.value.message == f"cannot read '{looping}': Too many levels of symbolic links"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "Widget.md"
    path.write_bytes(VALID.replace("A part\n", "A p\xe4rt\n").encode("latin-1"))
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(path)
    assert error.value.source == Source(str(path), 17)
    assert error.value.message == "not UTF-8 text (byte 0xe4 cannot be decoded)"


def test_folder_without_definitions(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Notes\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(tmp_path)
    assert error.value.message == f"no definition files (*.md) in folder '{tmp_path}'"


def test_not_a_definitions_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "{}", "Widget.json")
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(path)
    assert error.value.message == (
        f"'{path}' is not a definitions file (expected *.md or *.valuesets.yaml)"
    )


def test_no_paths() -> None:
    with pytest.raises(DefinitionError, match="no definition files or folders given"):
        engine.load_definitions()


def test_type_defined_twice(tmp_path: Path) -> None:
    first = _write(tmp_path, VALID, "A.md")
    second = _write(tmp_path, VALID, "B.md")
    with pytest.raises(DefinitionError) as error:
        engine.load_definitions(tmp_path)
    assert error.value.source == Source(str(second), 1)
    assert error.value.message == f"type 'Widget' is defined twice (first in {first}:1)"


def test_conditions_may_name_a_constraint_of_another_loaded_file(tmp_path: Path) -> None:
    base = VALID.replace("Widget", "Base").replace("wdg-1", "bas-1")
    _write(tmp_path, base, "Base.md")
    _write(tmp_path, VALID.replace("**Conditions:** wdg-1", "**Conditions:** bas-1"))
    with pytest.raises(DefinitionError):
        engine.load_definitions(tmp_path / "Widget.md")
    definitions = engine.load_definitions(tmp_path)
    assert definitions["Widget"].element("Widget.part").conditions == ("bas-1",)


def test_the_same_key_in_two_types_is_allowed(tmp_path: Path) -> None:
    # FHIR scopes keys by type: R5 uses inv-1 for different rules in three types
    _write(tmp_path, VALID.replace("Widget", "Gadget"), "Gadget.md")
    _write(tmp_path, VALID)
    definitions = engine.load_definitions(tmp_path)
    assert [c.key for c in definitions["Gadget"].constraints] == ["wdg-1"]
    assert [c.key for c in definitions["Widget"].constraints] == ["wdg-1"]


def test_value_set_files_in_a_folder_are_loaded(tmp_path: Path) -> None:
    _write(tmp_path, VALID)
    (tmp_path / "widget.valuesets.yaml").write_text(
        "http://example.org/ValueSet/widget-status:\n"
        "  name: WidgetStatus\n"
        "  codes:\n"
        "    http://example.org/widget-status: [draft, active]\n",
        encoding="utf-8",
    )
    definitions = engine.load_definitions(tmp_path)
    value_set = definitions.value_set("http://example.org/ValueSet/widget-status")
    assert value_set is not None
    assert value_set.contains("active", "http://example.org/widget-status")


def test_crlf_file_loads_like_lf() -> None:
    lf = parse_definitions_text(VALID, "Widget.md")
    crlf = parse_definitions_text(VALID.replace("\n", "\r\n"), "Widget.md")
    assert crlf == lf


def test_blank_lines_between_sections_and_final_newline_are_layout() -> None:
    spaced = parse_definitions_text(VALID.replace("\n## ", "\n\n## ") + "\n", "Widget.md")
    assert without_sources(spaced) == without_sources(parse_definitions_text(VALID, "W.md"))
    assert spaced.element("Widget.part.name").source.line == 25
