"""Reading inputs (engine.io.inputs): which files, in which order, split how, parsed how."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

import engine
from engine.io.inputs import InputError, RawResource, Unreadable, expand, parse, read

FIXTURES = Path(__file__).parent / "fixtures"
SELECTIONS = FIXTURES / "imagingselection"
MG_XML = SELECTIONS / "imagingselection-example-mg-image-selection.xml"
BASIC_JSON = SELECTIONS / "imagingselection-example-basic-image-selection.json"


def raw(data: str, syntax: str = "json", line: int = 1) -> RawResource:
    return RawResource("test", "test", data.encode("utf-8"), syntax, line)  # type: ignore[arg-type]


def error_of(item: RawResource, definitions: engine.Definitions) -> InputError:
    with pytest.raises(InputError) as caught:
        parse(item, definitions)
    return caught.value


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A folder with resources at two levels, and files that are not resources."""
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    shutil.copy(MG_XML, tmp_path / "b" / "mg.xml")
    shutil.copy(BASIC_JSON, tmp_path / "a.json")
    (tmp_path / "c.ndjson").write_text('{"resourceType": "Basic"}\n\n{"resourceType": "Patient"}\n')
    (tmp_path / "README.md").write_text("not a resource")
    (tmp_path / ".hidden" / "x.json").write_text("{}")
    (tmp_path / ".y.json").write_text("{}")
    return tmp_path


def test_a_folder_is_read_recursively_in_sorted_order_skipping_other_files(tree: Path) -> None:
    items = list(read([str(tree)]))
    assert [i.source for i in items] == [
        str(tree / "a.json"),
        str(tree / "b" / "mg.xml"),
        f"{tree / 'c.ndjson'}:1",
        f"{tree / 'c.ndjson'}:3",
    ]
    assert [i.syntax for i in items if isinstance(i, RawResource)] == [
        "json",
        "xml",
        "json",
        "json",
    ]
    assert {i.file for i in items[2:]} == {str(tree / "c.ndjson")}


def test_ndjson_lines_keep_their_line_numbers(tree: Path, definitions) -> None:
    items = [i for i in read([str(tree / "c.ndjson")]) if isinstance(i, RawResource)]
    assert [i.line for i in items] == [1, 3]
    assert [parse(i, definitions)["resourceType"] for i in items] == ["Basic", "Patient"]


def test_globs_expand_recursively(tree: Path) -> None:
    items = list(read([str(tree / "**" / "*.xml"), str(tree / "*.json")]))
    assert [i.source for i in items] == [str(tree / "b" / "mg.xml"), str(tree / "a.json")]


def test_paths_that_name_nothing_are_unreadable_and_the_rest_is_read(tree: Path) -> None:
    items = list(read([str(tree / "missing.json"), str(tree / "*.nothing"), str(tree / "a.json")]))
    assert items[0] == Unreadable(str(tree / "missing.json"), "no such file or directory")
    assert items[1] == Unreadable(str(tree / "*.nothing"), "no file matches this pattern")
    assert isinstance(items[2], RawResource)


def test_a_folder_without_resources_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert list(read([str(tmp_path)])) == [
        Unreadable(str(tmp_path), "no .json, .ndjson, .jsonl or .xml file in this folder")
    ]


def test_a_broken_link_in_a_folder_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    assert list(read([str(tmp_path)])) == [
        Unreadable(str(tmp_path / "gone.json"), "no such file or directory")
    ]


def test_expand_names_files_without_reading_them(tree: Path) -> None:
    assert list(expand(["-", str(tree / "b")])) == ["-", tree / "b" / "mg.xml"]


@pytest.mark.parametrize(
    ("data", "syntax", "count"),
    [
        (b'<?xml version="1.0"?>\n<Basic xmlns="http://hl7.org/fhir"/>', "xml", 1),
        (b'\xef\xbb\xbf  <Basic xmlns="http://hl7.org/fhir"/>', "xml", 1),
        (b'{\n  "resourceType": "Basic"\n}\n', "json", 1),
        (b'{"resourceType": "Basic"}\n', "json", 1),
        (b'{"resourceType": "Basic"}\n{"resourceType": "Basic"}\n', "json", 2),
        (b'{"resourceType": "Basic"\n', "json", 1),
    ],
)
def test_standard_input_is_recognized_by_its_content(data: bytes, syntax: str, count: int) -> None:
    items = list(read(["-"], stdin=io.BytesIO(data)))
    assert len(items) == count
    assert all(isinstance(i, RawResource) and i.syntax == syntax for i in items)
    assert items[0].source == ("<stdin>:1" if count > 1 else "<stdin>")


def test_a_file_with_another_name_is_recognized_by_its_content(tmp_path: Path) -> None:
    (tmp_path / "resources.txt").write_text('{"a": 1}\n{"b": 2}\n')
    assert [i.source for i in read([str(tmp_path / "resources.txt")])] == [
        f"{tmp_path / 'resources.txt'}:1",
        f"{tmp_path / 'resources.txt'}:2",
    ]


def test_json_parses_to_python_values(definitions) -> None:
    value = parse(raw('{"resourceType": "Basic", "n": 1.50, "ok": true, "x": null}'), definitions)
    assert value == {"resourceType": "Basic", "n": 1.5, "ok": True, "x": None}


def test_a_byte_order_mark_is_accepted(definitions) -> None:
    item = RawResource("t", "t", b'\xef\xbb\xbf{"resourceType": "Basic"}', "json")
    assert parse(item, definitions) == {"resourceType": "Basic"}


def test_bad_json_names_line_and_column(definitions) -> None:
    error = error_of(raw('{\n  "resourceType": "Basic",\n  "id" "x"\n}'), definitions)
    assert (error.line, error.column) == (3, 8)
    assert str(error) == "test: line 3, column 8: invalid JSON: Expecting ':' delimiter"


def test_positions_in_an_ndjson_line_are_file_lines(definitions) -> None:
    error = error_of(raw('{"resourceType": "Basic",}', line=7), definitions)
    assert (error.line, error.column) == (7, 26)


def test_duplicate_properties_are_refused(definitions) -> None:
    error = error_of(raw('{"resourceType": "Basic", "id": "a", "id": "b"}'), definitions)
    assert error.message == "invalid JSON: duplicate property 'id'"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_numbers_are_refused(constant: str, definitions) -> None:
    error = error_of(raw(f'{{"resourceType": "Basic", "n": {constant}}}'), definitions)
    assert error.message == f"invalid JSON: '{constant}' is not a JSON number"


def test_text_that_is_not_utf8_names_its_line(definitions) -> None:
    item = RawResource("t", "t", b'{\n"a": "\xff"}', "json", 4)
    error = error_of(item, definitions)
    assert error.line == 5
    assert error.message.startswith("not UTF-8 text")


def test_deep_nesting_is_an_input_error_not_a_crash(definitions) -> None:
    error = error_of(raw("[" * 100_000 + "]" * 100_000), definitions)
    assert error.message == "nested too deeply to read"


def test_deeply_nested_xml_is_an_input_error_not_a_crash(definitions) -> None:
    deep = '<extension url="u">' * 3000 + "</extension>" * 3000
    item = raw(f'<Patient xmlns="http://hl7.org/fhir">{deep}</Patient>', "xml")
    assert error_of(item, definitions).message == "nested too deeply to read"


def test_xml_is_converted_and_its_errors_carry_file_lines(definitions) -> None:
    selection = parse(RawResource("mg", "mg", MG_XML.read_bytes(), "xml"), definitions)
    assert selection["resourceType"] == "ImagingSelection"
    assert selection["category"][0]["coding"][0]["code"] == "128181"
    error = error_of(raw('<Basic xmlns="http://hl7.org/fhir">\n<code>', "xml"), definitions)
    assert error.line == 2
    assert error.message.startswith("malformed XML")


def test_a_bundle_is_one_resource(tmp_path: Path, definitions) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": json.loads(BASIC_JSON.read_text())}] * 3,
    }
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    items = list(read([str(tmp_path / "bundle.json")]))
    assert len(items) == 1
    assert isinstance(items[0], RawResource)
    assert len(parse(items[0], definitions)["entry"]) == 3
