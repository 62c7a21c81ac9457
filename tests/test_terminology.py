"""Value-set data files and expansion from real R5 ValueSets/CodeSystems (tests/fixtures/r5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.definitions.terminology import (
    UnexpandableValueSet,
    expand_value_set,
    load_value_set_files,
    load_value_sets,
    parse_value_sets,
    value_sets_to_yaml,
)
from engine.model import DefinitionError, Source, ValueSet

FIXTURES = Path(__file__).parent / "fixtures" / "r5" / "terminology"
VS = "http://hl7.org/fhir/ValueSet/"
OBS_STATUS = "http://hl7.org/fhir/observation-status"


def _resources(kind: str) -> dict[str, dict[str, Any]]:
    found = (json.loads(p.read_text("utf-8")) for p in FIXTURES.glob(f"{kind}-*.json"))
    return {r["url"]: r for r in found}


VALUE_SETS = _resources("ValueSet")
CODE_SYSTEMS = _resources("CodeSystem")


def _codes(value_set: ValueSet) -> set[tuple[str | None, str]]:
    return set(value_set.codes)


def test_administrative_gender_expands_to_exactly_its_four_codes() -> None:
    vs = expand_value_set(VS + "administrative-gender|5.0.0", VALUE_SETS, CODE_SYSTEMS)
    assert vs.url == VS + "administrative-gender"
    assert vs.name == "AdministrativeGender"
    system = "http://hl7.org/fhir/administrative-gender"
    assert _codes(vs) == {(system, c) for c in ("male", "female", "other", "unknown")}


def test_observation_status_includes_nested_concepts() -> None:
    vs = expand_value_set(VS + "observation-status", VALUE_SETS, CODE_SYSTEMS)
    expected = [
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    ]
    assert _codes(vs) == {(OBS_STATUS, c) for c in expected}


def test_nested_value_sets_of_listed_concepts() -> None:
    vs = expand_value_set(VS + "security-label-examples", VALUE_SETS, CODE_SYSTEMS)
    tho = "http://terminology.hl7.org/CodeSystem/"
    assert _codes(vs) == {
        (tho + "v3-Confidentiality", "N"),
        (tho + "v3-Confidentiality", "R"),
        (tho + "v3-ActCode", "ETH"),
        (tho + "v3-ActCode", "PSY"),
        (tho + "v3-ActCode", "STD"),
        (tho + "v3-ActReason", "TREAT"),
        (tho + "v3-ActReason", "HPAYMT"),
        (tho + "v3-ActReason", "ETREAT"),
        (tho + "v3-ActCode", "NOAUTH"),
        (tho + "v3-ActCode", "DELAU"),
        (tho + "v3-ActCode", "NORDSCLCD"),
    }


def _composed(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fixture value sets plus one composed over the real observation-status system."""
    return {**VALUE_SETS, "urn:test": {"url": "urn:test", "name": "Test", "compose": compose}}


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("is-a", {"amended", "corrected"}),
        ("descendent-of", {"corrected"}),
        (
            "is-not-a",
            {"registered", "preliminary", "final", "cancelled", "entered-in-error", "unknown"},
        ),
        ("generalizes", {"amended"}),
    ],
)
def test_hierarchy_filters(op: str, expected: set[str]) -> None:
    include = {
        "system": OBS_STATUS,
        "filter": [{"property": "concept", "op": op, "value": "amended"}],
    }
    vs = expand_value_set("urn:test", _composed({"include": [include]}), CODE_SYSTEMS)
    assert _codes(vs) == {(OBS_STATUS, c) for c in expected}


def test_generalizes_finds_the_ancestors() -> None:
    include = {
        "system": OBS_STATUS,
        "filter": [{"property": "concept", "op": "generalizes", "value": "corrected"}],
    }
    vs = expand_value_set("urn:test", _composed({"include": [include]}), CODE_SYSTEMS)
    assert _codes(vs) == {(OBS_STATUS, "amended"), (OBS_STATUS, "corrected")}


def test_exclude_and_value_set_intersection() -> None:
    compose = {
        "include": [
            {"system": OBS_STATUS, "valueSet": [VS + "observation-status"]},
            {"system": "http://hl7.org/fhir/administrative-gender", "concept": [{"code": "other"}]},
        ],
        "exclude": [{"system": OBS_STATUS, "concept": [{"code": "unknown"}, {"code": "final"}]}],
    }
    vs = expand_value_set("urn:test", _composed(compose), CODE_SYSTEMS)
    statuses = {
        "registered",
        "preliminary",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
    }
    assert _codes(vs) == {(OBS_STATUS, c) for c in statuses} | {
        ("http://hl7.org/fhir/administrative-gender", "other")
    }


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (VS + "ucum-units", "code system http://unitsofmeasure.org is not available"),
        (VS + "color-codes", "content is 'not-present', not 'complete'"),
        (VS + "no-such-value-set", "value set is not available"),
    ],
)
def test_value_sets_that_cannot_be_expanded_say_why(url: str, reason: str) -> None:
    with pytest.raises(UnexpandableValueSet, match=reason):
        expand_value_set(url, VALUE_SETS, CODE_SYSTEMS)


def test_unsupported_filter_and_cycles_are_unexpandable() -> None:
    regex = {"system": OBS_STATUS, "filter": [{"property": "code", "op": "regex", "value": "a.*"}]}
    with pytest.raises(UnexpandableValueSet, match="unsupported filter code regex"):
        expand_value_set("urn:test", _composed({"include": [regex]}), CODE_SYSTEMS)
    with pytest.raises(UnexpandableValueSet, match="circular value-set inclusion"):
        expand_value_set("urn:test", _composed({"include": [{"valueSet": ["urn:test"]}]}), {})


def test_yaml_round_trip(tmp_path: Path) -> None:
    expanded = [
        expand_value_set(VS + name, VALUE_SETS, CODE_SYSTEMS)
        for name in ("administrative-gender", "observation-status", "security-label-examples")
    ]
    bare = ValueSet("urn:bare", "Bare", frozenset({(None, "yes"), (None, "1"), ("urn:s", "null")}))
    text = value_sets_to_yaml([*expanded, bare], "Generated by: the test\nsecond line")
    assert text.startswith("# Generated by: the test\n# second line\n")
    assert value_sets_to_yaml(
        reversed([*expanded, bare]), "Generated by: the test\nsecond line"
    ) == (text)
    path = tmp_path / "t.valuesets.yaml"
    path.write_text(text, "utf-8")
    loaded = load_value_sets(path)
    assert loaded == {vs.url: vs for vs in [*expanded, bare]}
    assert loaded["urn:bare"].contains("yes")
    assert loaded[VS + "administrative-gender"].contains(
        "female", "http://hl7.org/fhir/administrative-gender"
    )


def test_the_written_format_is_compact_and_readable() -> None:
    vs = expand_value_set(VS + "administrative-gender", VALUE_SETS, CODE_SYSTEMS)
    assert value_sets_to_yaml([vs], "Generated by: x") == (
        "# Generated by: x\n"
        "http://hl7.org/fhir/ValueSet/administrative-gender:\n"
        "  name: AdministrativeGender\n"
        "  codes:\n"
        "    http://hl7.org/fhir/administrative-gender: [female, male, other, unknown]\n"
    )


def test_empty_file_has_no_value_sets() -> None:
    assert parse_value_sets("# nothing yet\n", "empty.valuesets.yaml") == {}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("urn:a:\n  name: A\n  codes: {s: [x\n", 4, "malformed YAML"),
        ("- urn:a\n", 1, "the file must be a mapping"),
        ("urn:a:\n  codes: {s: [x]}\n", 2, "value set urn:a: missing 'name'"),
        ("urn:a:\n  name: A\n", 2, "value set urn:a: missing 'codes'"),
        ("urn:a:\n  name: A\n  codes: {s: [x]}\n  extra: 1\n", 4, "unknown field 'extra'"),
        ("urn:a:\n  name: A\n  codes:\n    s: [x, 12]\n", 4, "code must be a non-empty string"),
        ("urn:a:\n  name: A\n  codes:\n    s: [yes]\n", 4, "got 'yes'"),
        ("urn:a:\n  name: A\n  codes:\n    s: x\n", 4, "the codes of s must be a list"),
        (
            "urn:a:\n  name: A\n  codes: {s: [x]}\nurn:a:\n  name: B\n  codes: {s: [y]}\n",
            4,
            "duplicate key 'urn:a' in the file (first at line 1)",
        ),
    ],
)
def test_malformed_files_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_value_sets(text, "bad.valuesets.yaml")
    assert caught.value.source is not None
    assert (caught.value.source.file, caught.value.source.line) == ("bad.valuesets.yaml", line)
    assert message in caught.value.message


def test_unreadable_file_is_a_definition_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.valuesets.yaml"
    with pytest.raises(DefinitionError, match="cannot read value sets"):
        load_value_sets(missing)
    binary = tmp_path / "binary.valuesets.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DefinitionError, match="cannot read value sets"):
        load_value_sets(binary)


def test_deprecated_concepts_are_marked_as_the_package_marks_them() -> None:
    # discriminator-type marks `pattern` by its status and deprecationDate properties and
    # the standards-status extension; search-entry-mode marks `outcome` by the extension.
    pattern = expand_value_set(VS + "discriminator-type", VALUE_SETS, CODE_SYSTEMS)
    system = "http://hl7.org/fhir/discriminator-type"
    assert ("pattern" in {c for _, c in pattern.codes}) and pattern.contains("value", system)
    assert pattern.deprecated == {(system, "pattern")}
    outcome = expand_value_set(VS + "search-entry-mode", VALUE_SETS, CODE_SYSTEMS)
    assert outcome.deprecated == {("http://hl7.org/fhir/search-entry-mode", "outcome")}
    gender = expand_value_set(VS + "administrative-gender", VALUE_SETS, CODE_SYSTEMS)
    assert gender.deprecated == frozenset()


@pytest.mark.parametrize(
    "concept",
    [
        {"code": "b", "property": [{"code": "status", "valueCode": "deprecated"}]},
        {"code": "b", "property": [{"code": "deprecationDate", "valueDateTime": "2020-01-01"}]},
        {"code": "b", "property": [{"code": "deprecated", "valueBoolean": True}]},
        {
            "code": "b",
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                    "valueCode": "deprecated",
                }
            ],
        },
    ],
)
def test_each_way_a_code_system_deprecates_a_concept(concept: dict[str, Any]) -> None:
    code_system = {"url": "urn:cs", "content": "complete", "concept": [{"code": "a"}, concept]}
    value_sets = {
        "urn:vs": {"url": "urn:vs", "name": "T", "compose": {"include": [{"system": "urn:cs"}]}}
    }
    vs = expand_value_set("urn:vs", value_sets, {"urn:cs": code_system})
    assert (vs.codes, vs.deprecated) == ({("urn:cs", "a"), ("urn:cs", "b")}, {("urn:cs", "b")})


def test_a_value_set_can_deprecate_a_concept_it_lists() -> None:
    status = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
    include = {
        "system": OBS_STATUS,
        "concept": [
            {"code": "final"},
            {"code": "amended", "extension": [{"url": status, "valueCode": "withdrawn"}]},
        ],
    }
    vs = expand_value_set("urn:test", _composed({"include": [include]}), CODE_SYSTEMS)
    assert vs.deprecated == {(OBS_STATUS, "amended")}


def test_deprecated_codes_round_trip_through_the_data_file(tmp_path: Path) -> None:
    vs = expand_value_set(VS + "discriminator-type", VALUE_SETS, CODE_SYSTEMS)
    text = value_sets_to_yaml([vs], "Generated by: x")
    assert text.endswith("  deprecated:\n    http://hl7.org/fhir/discriminator-type: [pattern]\n")
    path = tmp_path / "d.valuesets.yaml"
    path.write_text(text, "utf-8")
    assert load_value_sets(path) == {vs.url: vs}
    path.write_text(text.replace("[pattern]", "[nope]"), "utf-8")
    with pytest.raises(DefinitionError, match="deprecated codes that are not among its codes"):
        load_value_sets(path)


def test_a_value_set_in_two_files_is_an_error_naming_both(tmp_path: Path) -> None:
    one = tmp_path / "a.valuesets.yaml"
    two = tmp_path / "b.valuesets.yaml"
    one.write_text("urn:a:\n  name: A\n  codes: {s: [x]}\n", "utf-8")
    two.write_text("urn:b:\n  name: B\n  codes: {s: [y]}\nurn:a:\n  name: A\n  codes: {s: [z]}\n")
    with pytest.raises(DefinitionError) as caught:
        load_value_set_files([one, two])
    assert caught.value.source == Source(str(two), 4)
    assert f"value set urn:a is defined both here and in {one}" in caught.value.message
    assert set(load_value_set_files([one])) == {"urn:a"}
