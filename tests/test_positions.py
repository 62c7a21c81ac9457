"""Line and column of each issue, on official examples read as JSON, NDJSON and XML.

The expected positions are found in the test's own text by a plain search for what was
planted (a defect with a value that occurs once), never by the code under test: a
property is placed at the opening quote of its name, an array item at its first
character, an XML element at the ``<`` of its start tag.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.io.batch import Checker, Result
from engine.io.inputs import RawResource, read
from engine.io.positions import place, resource_type_at
from engine.validation.report import Issue

FIXTURES = Path(__file__).parent / "fixtures"
R5 = FIXTURES / "r5-examples"
PAIRS = FIXTURES / "inputs" / "xml-json"
SELECTIONS = FIXTURES / "imagingselection"

CHECKER = Checker(engine.bundled_definitions())


def official(name: str) -> dict[str, Any]:
    return json.loads((R5 / f"{name}.json").read_text(encoding="utf-8"))


def check(data: str | bytes, syntax: str = "json", name: str = "test") -> Result:
    raw = data.encode() if isinstance(data, str) else data
    return CHECKER(RawResource(name, name, raw, syntax))  # type: ignore[arg-type]


def at(text: str, offset: int, first_line: int = 1) -> tuple[int, int]:
    """Line and column of a character offset, counted the plain way."""
    line_start = text.rfind("\n", 0, offset) + 1
    return first_line + text.count("\n", 0, offset), offset - line_start + 1


def key_at(text: str, planted: str) -> tuple[int, int]:
    """Where the property holding a planted, unique text starts: its opening quote."""
    assert text.count(planted) == 1, planted
    return at(text, text.index(planted))


def issue_at(result: Result, location: str) -> Issue:
    found = [i for i in result.report.issues if i.location == location]
    assert found, (location, [i.location for i in result.report.issues])
    return found[0]


def position(issue: Issue) -> tuple[int | None, int | None]:
    return issue.line, issue.column


# -- JSON -------------------------------------------------------------------------------


def test_an_official_json_example_exact_positions() -> None:
    path = SELECTIONS / "imagingselection-example-2d-image-region-selection.json"
    text = path.read_text(encoding="utf-8")
    result = check(text)
    lines = text.splitlines()
    assert lines[18].startswith('  "studyUid"') and lines[32].startswith('      "sopClass"')
    expected = {
        "ImagingSelection": (1, 1),
        "ImagingSelection.studyUid": (19, 3),
        "ImagingSelection.derivedFrom": (20, 3),
        "ImagingSelection.instance[0].sopClass": (33, 7),
        "ImagingSelection.instance[0].imageRegion": (38, 7),
    }
    for location, where in expected.items():
        assert position(issue_at(result, location)) == where
    assert all(i.line is not None for i in result.report.issues)


#: Where each planted defect's element starts: the text of its property, or for an item
#: of an array a text inside it (the item starts at the ``{`` before it).
ITEM = "item:"


def planted_bundle() -> tuple[dict[str, Any], dict[str, str]]:
    """A Bundle of official examples with one defect planted at each kind of place, and
    for each location the text that marks its element."""
    patient = official("Patient-example")
    patient["_birthDate"]["extension"][0]["valueDateTime"] = "Christmas-1974"
    patient["name"][1]["given"].append({"marker-given": 1})
    patient["_gender2"] = {"marker": "underscore"}
    observation = official("Observation-example")
    observation["status"] = "bogus-status"
    observation["valueQuantity"]["value"] = "185 lbs"
    request = official("MedicationRequest-medrx0309")
    request["contained"][0]["colour"] = "blue-marker"
    no_status = official("Observation-example")
    no_status["id"] = "no-status"
    del no_status["status"]
    entries = [patient, observation, request, no_status]
    bundle = {
        "resourceType": "Bundle",
        "id": "planted",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{n}", "resource": r} for n, r in enumerate(entries)],
    }
    marks = {
        "Bundle.entry[0].resource.birthDate.extension[0].value.ofType(dateTime)":
            '"valueDateTime": "Christmas-1974"',
        "Bundle.entry[0].resource.name[1].given[1]": ITEM + '"marker-given"',
        "Bundle.entry[0].resource._gender2": '"_gender2": {',
        "Bundle.entry[1].resource.status": '"status": "bogus-status"',
        "Bundle.entry[1].resource.value.ofType(Quantity).value": '"value": "185 lbs"',
        "Bundle.entry[2].resource.contained[0].colour": '"colour": "blue-marker"',
    }  # fmt: skip
    return bundle, marks


def marked(text: str, mark: str) -> int:
    """The offset where a planted element starts in ``text``."""
    inside = mark.removeprefix(ITEM)
    assert text.count(inside) == 1, mark
    offset = text.index(inside)
    return text.rindex("{", 0, offset) if mark.startswith(ITEM) else offset


@pytest.mark.parametrize("indent", [None, 2], ids=["one line", "indented"])
def test_a_json_bundle_places_issues_inside_entries_and_contained_resources(
    indent: int | None,
) -> None:
    bundle, marks = planted_bundle()
    # One line, as the official files are written, and indented over many lines.
    text = json.dumps(bundle, ensure_ascii=False, indent=indent)
    result = check(text)
    for location, mark in marks.items():
        assert position(issue_at(result, location)) == at(text, marked(text, mark)), location
    # A resource-level issue (a required element missing) is placed at the resource: the
    # "resource" property of its entry, the fourth in the Bundle.
    fourth = [m.start() for m in re.finditer('"resource": ', text)][3]
    assert position(issue_at(result, "Bundle.entry[3].resource")) == at(text, fourth)
    if indent:
        assert position(issue_at(result, "Bundle.entry[1].resource.status"))[0] > 100


def test_ndjson_positions_are_file_lines_and_columns_in_the_line(tmp_path) -> None:
    bundle, marks = planted_bundle()
    resources = [e["resource"] for e in bundle["entry"]]
    lines = [json.dumps(r, ensure_ascii=False) for r in resources]
    lines.insert(2, "")  # a blank line: the resources after it are on lines 4 and 5
    data = tmp_path / "export.ndjson"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = [CHECKER(item) for item in read([str(data)])]
    assert [r.source for r in results] == [f"{data}:{n}" for n in (1, 2, 4, 5)]
    file_lines = (1, 2, 4)
    for location, mark in marks.items():
        entry = int(location[len("Bundle.entry[")])
        prefix = f"Bundle.entry[{entry}].resource"
        inner = resources[entry]["resourceType"] + location.removeprefix(prefix)
        line = file_lines[entry]
        column = marked(lines[line - 1], mark) + 1
        assert position(issue_at(results[entry], inner)) == (line, column), location
    assert position(issue_at(results[3], "Observation")) == (5, 1)


def test_an_official_contained_resource_issue_in_its_file() -> None:
    text = (R5 / "Questionnaire-qgen-Substance1.json").read_text(encoding="utf-8")
    result = check(text)
    issue = issue_at(result, "Questionnaire.contained[0]")
    assert issue.key == "cnl-0"
    # The contained ValueSet: the first item of the "contained" array.
    first_item = text.index("{", text.index('"contained"'))
    assert position(issue) == at(text, first_item) == (1, 69)


def test_a_resource_inside_parameters() -> None:
    parameters = official("Parameters-example")
    (holder,) = [p for p in parameters["parameter"] if "resource" in p]
    holder["resource"]["gender"] = "bogus-gender"
    text = json.dumps(parameters, indent=2)
    result = check(text)
    issue = issue_at(result, "Parameters.parameter[2].resource.gender")
    assert position(issue) == key_at(text, '"gender": "bogus-gender"')


def test_every_issue_on_the_official_sample_points_at_its_element() -> None:
    """On each of the 74 official examples, indented: every issue's position holds the
    element its location names: the resource's ``{``, the property's name, or an item of
    an array (a value just after ``[`` or ``,``)."""
    checked = 0
    for path in sorted(R5.glob("*.json")):
        text = json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2)
        result = check(text, name=path.name)
        starts = [0] + [m.end() for m in re.finditer("\n", text)]
        for issue in result.report.issues:
            assert issue.line is not None and issue.column is not None, (path.name, issue)
            offset = starts[issue.line - 1] + issue.column - 1
            here, before = text[offset:], text[:offset].rstrip()[-1:]
            last = re.search(r"\.(?:ofType\((\w+)\)|([^.\[\]()]+))(\[\d+\])?$", issue.location)
            checked += 1
            if last is None:
                assert here.startswith("{") and not before, (path.name, issue)
                continue
            if last[1]:  # value.ofType(Quantity): the property valueQuantity
                name = issue.location[: last.start()].rsplit(".", 1)[1].split("[")[0]
                name += last[1][:1].upper() + last[1][1:]
            else:
                name = last[2]
            names_it = re.match(rf'"_?{re.escape(name)}"\s*:', here) is not None
            if last[3]:  # an item of an array, or a repeating element given as one value
                assert before in ("[", ",") or names_it, (path.name, issue, here[:40])
            else:
                assert names_it, (path.name, issue, here[:40])
    assert checked >= 25  # the sample has 30 issues today: the loop did check them


# -- XML --------------------------------------------------------------------------------


def element_at(text: str, planted: str) -> tuple[int, int]:
    """Where the element holding a planted, unique text starts: the ``<`` of its tag."""
    assert text.count(planted) == 1, planted
    return at(text, text.rindex("<", 0, text.index(planted) + 1))


def test_an_official_xml_example_exact_positions() -> None:
    path = SELECTIONS / "imagingselection-example-basic-image-selection.xml"
    text = path.read_text(encoding="utf-8")
    result = check(text, "xml")
    sop = [m.start() for m in re.finditer("<sopClass>", text)]
    assert position(issue_at(result, "ImagingSelection.instance[0].sopClass")) == at(text, sop[0])
    assert position(issue_at(result, "ImagingSelection.instance[1].sopClass")) == at(text, sop[1])
    root = text.index("<ImagingSelection")
    assert position(issue_at(result, "ImagingSelection")) == at(text, root) == (2, 1)


def _xml_body(name: Path) -> str:
    """An official XML document without its XML declaration."""
    return re.sub(r"^<\?xml[^>]*\?>\s*", "", name.read_text(encoding="utf-8"))


def planted_xml() -> tuple[str, dict[str, str]]:
    patient = _xml_body(PAIRS / "patient-example.xml")
    patient = patient.replace(
        'valueDateTime value="1974-12-25T14:35:45-05:00"', 'valueDateTime value="Christmas-1974"'
    )
    patient = patient.replace('<given value="Jim"/>', '<given value="Jim"/><colour value="blue"/>')
    observation = _xml_body(PAIRS / "observation-example.xml")
    observation = observation.replace('<value value="185"/>', '<value value="185 lbs"/>')
    # An older-model ImagingSelection (its sopClass is a Coding, now an oid) contained in
    # a current one.
    older = _xml_body(SELECTIONS / "imagingselection-example-basic-image-selection.xml")
    older = older.replace('<id value="example-basic-image-selection"', '<id value="contained-1"', 1)
    mg = _xml_body(SELECTIONS / "imagingselection-example-mg-image-selection.xml")
    container = re.sub(
        r"(<ImagingSelection[^>]*>)", lambda m: m[1] + "\n<contained>\n" + older + "</contained>",
        mg, count=1,
    )  # fmt: skip
    entries = "".join(
        f"  <entry>\n    <resource>\n{body}\n    </resource>\n  </entry>\n"
        for body in (patient, observation, container)
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Bundle xmlns="http://hl7.org/fhir">\n'
        f'  <id value="planted"/>\n  <type value="collection"/>\n{entries}</Bundle>\n'
    )
    marks = {
        "Bundle.entry[0].resource.birthDate.extension[0].value.ofType(dateTime)":
            'valueDateTime value="Christmas-1974"',
        "Bundle.entry[0].resource.name[1].colour": '<colour value="blue"/>',
        "Bundle.entry[1].resource.value.ofType(Quantity).value": '<value value="185 lbs"/>',
    }  # fmt: skip
    return text, marks


def test_an_xml_bundle_places_issues_inside_entries_and_contained_resources() -> None:
    text, marks = planted_xml()
    result = check(text, "xml")
    for location, mark in marks.items():
        assert position(issue_at(result, location)) == element_at(text, mark), location
    contained = text.index("<contained>")
    sop = [m.start() for m in re.finditer("<sopClass>", text)]
    assert len(sop) == 2 and sop[0] > contained
    prefix = "Bundle.entry[2].resource.contained[0]"
    assert position(issue_at(result, f"{prefix}.instance[0].sopClass")) == at(text, sop[0])
    assert position(issue_at(result, f"{prefix}.instance[1].sopClass")) == at(text, sop[1])


def test_xml_and_json_of_the_same_resource_place_issues_at_the_same_element() -> None:
    xml_text, _ = planted_xml()
    from_xml = check(xml_text, "xml")
    as_json = engine.io.fhir_xml.xml_to_json(xml_text.encode(), engine.bundled_definitions())
    json_text = json.dumps(as_json, indent=1)
    from_json = check(json_text)
    xml_lines, json_lines = xml_text.splitlines(), json_text.splitlines()
    located = 0

    def ordered(result: Result) -> list[Issue]:
        # Element order is an XML-only rule: the JSON has no order to break.
        issues = [i for i in result.report.issues if "is out of order" not in i.message]
        return sorted(issues, key=lambda i: (i.location, i.message))

    for x, j in zip(ordered(from_xml), ordered(from_json), strict=True):
        assert (x.location, x.message) == (j.location, j.message)
        last = re.search(r"\.(\w+)(?:\.ofType\((\w+)\))?(\[\d+\])?$", x.location)
        if last is None or last[3]:
            continue
        name = last[1] + (last[2][:1].upper() + last[2][1:] if last[2] else "")
        xml_here = xml_lines[x.line - 1][x.column - 1 :]  # type: ignore[operator]
        json_here = json_lines[j.line - 1][j.column - 1 :]  # type: ignore[operator]
        if re.match(rf'"_?{name}"', json_here):  # an element, not an XML attribute
            assert xml_here.startswith(f"<{name}"), (x.location, xml_here)
            located += 1
    assert located >= 3


# -- placing, piece by piece ---------------------------------------------------------------


def raw(text: str, line: int = 1) -> RawResource:
    return RawResource("t", "t", text.encode(), "json", line)


PLACES = (
    '{"resourceType": "Patient",\n'
    '  "_birthDate": {"extension": [{"url": "x", "valueString": "é\\"{["}]},\n'
    '  "deceasedBoolean": true,\n'
    '  "name": {"given": ["A", "B"], "_given": [null, {"extension": [{"url": 1}]}]},\n'
    '  "a.b": 1,\n'
    '  "text": {"div": "<div/>"}}'
)


@pytest.mark.parametrize(
    ("location", "mark"),
    [
        ("Patient", '{"resourceType"'),
        ("(resource)", '{"resourceType"'),
        ("Patient.birthDate", '"_birthDate"'),  # only its _birthDate is there
        ("Patient.birthDate.extension[0]", '{"url": "x"'),
        ("Patient.deceased", '"deceasedBoolean"'),  # a choice named without its type
        ("Patient.deceased.ofType(boolean)", '"deceasedBoolean"'),
        ("Patient.name[0]", '"name"'),  # a repeating element given as one value
        ("Patient.name[0].given[1]", '"B"'),
        ("Patient.name[0].given[7]", '"given"'),  # no such item: the property
        ("Patient.name[0].given[1].extension[0].url", '"url": 1'),
        ("Patient.a.b", '"a.b"'),  # an unknown property whose name holds a dot
        ("Patient.nothere.deeper", '{"resourceType"'),  # not there: the resource
        ("Patient.text.div", '"div"'),
    ],
)
def test_locations_are_followed_through_the_json_text(location: str, mark: str) -> None:
    assert PLACES.count(mark) == 1
    assert place(raw(PLACES), [location]) == [at(PLACES, PLACES.index(mark))]


def test_columns_count_characters_and_lines_count_from_the_resource_line() -> None:
    text = '{"resourceType": "Patient", "id": "é€𝄞", "gender": "x"}'
    ((line, column),) = place(raw(text, line=40), ["Patient.gender"])  # type: ignore[misc]
    assert (line, column) == (40, text.index('"gender"') + 1)


def test_locations_that_name_no_element_get_no_position() -> None:
    assert place(raw('{"resourceType": "Patient"}'), ["(input)", "(line 1, column 2)"]) == [
        None,
        None,
    ]


def test_malformed_json_and_xml_keep_the_position_of_the_error() -> None:
    broken = check('{"resourceType": "Patient",\n  "id": }')
    (issue,) = broken.report.issues
    assert (issue.location, position(issue)) == ("(line 2, column 9)", (2, 9))
    assert str(issue).startswith("Fatal @ (line 2, column 9): invalid JSON")
    broken_xml = check('<Patient xmlns="http://hl7.org/fhir">\n  <id>', "xml")
    assert position(broken_xml.report.issues[0]) == (2, 7)


def test_positions_can_be_left_out() -> None:
    checker = Checker(engine.bundled_definitions(), positions=False)
    text = (SELECTIONS / "imagingselection-example-2d-image-region-selection.json").read_bytes()
    result = checker(RawResource("t", "t", text, "json"))
    assert result.report.issues and all(i.line is None for i in result.report.issues)
    assert position(check(text).report.issues[0]) != (None, None)


def test_a_clean_resource_is_not_read_again(monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        engine.io.batch, "with_positions", lambda report, item: calls.append(item.source)
    )
    clean = copy.deepcopy(official("Patient-example"))
    assert not check(json.dumps(clean), name="clean").report.issues
    assert calls == []


def test_each_issue_knows_the_type_of_the_resource_it_is_in() -> None:
    bundle, _ = planted_bundle()
    result = check(json.dumps(bundle))
    locations = (i.location for i in result.report.issues)
    types = dict(zip(locations, result.resource_types, strict=True))
    assert types["Bundle.entry[2].resource.contained[0].colour"] == "Medication"
    assert types["Bundle.entry[1].resource.status"] == "Observation"
    assert types["Bundle.entry[3].resource"] == "Observation"
    assert resource_type_at(bundle, "Bundle.entry[9].resource") == "Bundle"


# -- output ---------------------------------------------------------------------------------


def test_the_outputs_carry_positions_as_the_hl7_validator_writes_them() -> None:
    issue = Issue("error", "code-invalid", "Patient.gender", "bad code", None, 12, 5)
    assert str(issue) == "Error @ Patient.gender (line 12, col 5): bad code"
    assert issue.to_dict()["line"] == 12 and issue.to_dict()["column"] == 5
    entry = issue.to_outcome_issue()
    assert entry["location"] == ["Patient.gender", "Line[12] Col[5]"]
    assert entry["expression"] == ["Patient.gender"]
    urls = {e["url"].rsplit("/", 1)[1]: e["valueInteger"] for e in entry["extension"]}
    assert urls == {"operationoutcome-issue-line": 12, "operationoutcome-issue-col": 5}
    unplaced = Issue("error", "code-invalid", "Patient.gender", "bad code").to_outcome_issue()
    assert "location" not in unplaced and "extension" not in unplaced


# -- the JSON scanner on any JSON ------------------------------------------------------------

_KEYS = st.text(alphabet="abcdefgh", min_size=1, max_size=6)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),  # any characters: quotes, brackets, line breaks, astral planes
)
# Objects hold scalars, objects and arrays; arrays hold scalars or objects (a location has
# one index per step, so no array directly in an array).
_OBJECTS = st.recursive(
    st.dictionaries(_KEYS, _SCALARS, max_size=4),
    lambda inner: st.dictionaries(
        _KEYS,
        st.one_of(_SCALARS, inner, st.lists(st.one_of(_SCALARS, inner), min_size=1, max_size=4)),
        max_size=5,
    ),
    max_leaves=25,
)


def _paths(value: dict[str, Any], prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a property or an array item that a location can name."""
    found = []
    for key, item in value.items():
        found.append((*prefix, key))
        if isinstance(item, dict):
            found += _paths(item, (*prefix, key))
        elif isinstance(item, list):
            for index, element in enumerate(item):
                found.append((*prefix, key, index))
                if isinstance(element, dict):
                    found += _paths(element, (*prefix, key, index))
    return found


def _location(path: tuple[Any, ...]) -> str:
    return "Root" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _changed_at(data: dict[str, Any], path: tuple[Any, ...], dump: Any) -> int:
    """Where the element at ``path`` starts, found without the scanner: change its first
    character (a property's name, or an item) and see where the two texts part."""
    changed = copy.deepcopy(data)
    holder: Any = changed
    for step in path[:-1]:
        holder = holder[step]
    last = path[-1]
    if isinstance(last, int):
        # A value that starts with another character: a number for a string, else a string.
        holder[last] = 0 if isinstance(holder[last], str) else "~"
        offset = 0
    else:
        renamed = "Z" + last[1:]
        holder_items = list(holder.items())
        holder.clear()
        holder.update((renamed if k == last else k, v) for k, v in holder_items)
        offset = -1  # the name's first character follows its opening quote
    before, after = dump(data), dump(changed)
    index = next(i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b)
    return index + offset


@settings(max_examples=150, deadline=None)
@given(data=_OBJECTS, indent=st.sampled_from([None, 0, 1, 2, "\t"]), choice=st.randoms())
def test_any_json_element_is_found_where_it_starts(data, indent, choice) -> None:
    paths = _paths(data)
    if not paths:
        return
    path = choice.choice(paths)

    def dump(value: Any) -> str:
        return json.dumps(value, indent=indent, ensure_ascii=False)

    text = dump(data)
    expected = at(text, _changed_at(data, path, dump))
    assert place(raw(text), [_location(path)]) == [expected]
