"""The compiled rule file: exact round trip of what validation needs, fixed bytes, clear errors."""

from __future__ import annotations

import string

import pytest
import re2
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.fhirpath.regex import PatternError, compile_pattern
from engine.model import (
    Binding,
    Cardinality,
    Constraint,
    DefinitionError,
    ElementDefinition,
    Source,
    StructureDefinition,
    TypeRef,
)
from engine.rules.format import rules_from_yaml, rules_to_yaml


def essentials(sd: StructureDefinition) -> tuple[object, ...]:
    """Everything a rule file promises to keep, sources included."""
    return (
        sd.name,
        sd.kind,
        sd.base,
        sd.abstract,
        sd.title,
        sd.source,
        tuple(
            (
                e.path,
                e.short,
                e.cardinality,
                e.source,
                e.types,
                e.binding,
                e.content_reference,
                e.regex,
                e.is_modifier,
                e.constraints,
            )
            for e in sd.elements
        ),
    )


# Text with everything YAML treats specially: indicators, quotes, ": ", " #", "|", ";",
# backslashes, unicode, line breaks, and words YAML would read as booleans or numbers.
def _as_pattern(text: str) -> str:
    """``text`` if it compiles as a regular expression, else ``text`` quoted so it does:
    rule files refuse a regex that does not compile."""
    try:
        compile_pattern(text)
    except PatternError:
        return re2.escape(text)
    return text


_awkward = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=30,
    ),
    st.sampled_from(
        ["true", "no", "null", "~", "1.0", "0x1F", "- item", "a: b", "x #y", "'q'", '"q"', "@x"]
    ),
)
_name = st.text(alphabet=string.ascii_letters, min_size=1, max_size=8)
_url_or_name = st.one_of(
    _name.map(lambda n: "http://hl7.org/fhir/StructureDefinition/" + n),
    _name.map(lambda n: "http://example.org/fhir/StructureDefinition/" + n),
    st.just("http://hl7.org/fhir/StructureDefinition/a/b"),
)
_type = st.builds(
    TypeRef,
    code=st.one_of(_name, st.just("http://hl7.org/fhirpath/System.String")),
    target_profiles=st.lists(_url_or_name, max_size=3).map(tuple),
    profiles=st.lists(_url_or_name, max_size=2).map(tuple),
)
_cardinality = st.builds(
    Cardinality, st.integers(0, 3), st.one_of(st.none(), st.integers(1, 9))
).filter(lambda c: c.max is None or c.min <= c.max)
_binding = st.builds(
    Binding,
    strength=st.sampled_from(["required", "extensible", "preferred", "example"]),
    value_set_name=_awkward,
    link=st.one_of(_name.map(lambda n: "/valueset-" + n), st.just("http://x.org/vs|1.0")),
)


@st.composite
def structure_definitions(draw: st.DrawFn) -> StructureDefinition:
    md = draw(st.sampled_from(["T.md", "sub dir/T: x.md"]))
    type_name = draw(_name)
    paths = [type_name] + [
        f"{type_name}.{n}" for n in draw(st.lists(_name, max_size=4, unique=True))
    ]
    elements = []
    for line, path in enumerate(paths, start=10):
        constraints = tuple(
            Constraint(
                key=f"{k}-{i}",
                severity=draw(st.sampled_from(["fatal", "error", "warning", "information"])),
                human=draw(_awkward),
                expression=draw(_awkward.filter(bool)),
                context=path,
                source=Source(md, draw(st.integers(1, 10_000))),
            )
            for i, k in enumerate(draw(st.lists(_name, max_size=2)))
        )
        elements.append(
            ElementDefinition(
                path=path,
                short=draw(_awkward),
                cardinality=draw(_cardinality),
                source=Source(md, line),
                types=tuple(draw(st.lists(_type, max_size=3))),
                binding=draw(st.one_of(st.none(), _binding)),
                constraints=constraints,
                content_reference=draw(st.one_of(st.none(), st.just(f"#{type_name}"))),
                regex=draw(st.one_of(st.none(), _awkward.filter(bool).map(_as_pattern))),
                is_modifier=draw(st.one_of(st.none(), st.booleans())),
            )
        )
    return StructureDefinition(
        name=type_name,
        kind=draw(st.sampled_from(["resource", "complex-type", "primitive-type", "logical"])),
        base=draw(st.one_of(st.none(), _name)),
        elements=tuple(elements),
        source=Source(md, 1),
        title=draw(_awkward),
        abstract=draw(st.booleans()),
    )


@settings(max_examples=100, deadline=None)
@given(structure_definitions())
def test_round_trip_keeps_every_rule_field_and_bytes(sd: StructureDefinition) -> None:
    md = sd.source.file
    text = rules_to_yaml(sd, md)
    back = rules_from_yaml(text, "T.yaml")
    assert essentials(back) == essentials(sd)
    assert rules_to_yaml(back, md) == text
    # Any YAML reader reads the same data: the C and pure-Python loaders agree.
    assert yaml.load(text, Loader=yaml.SafeLoader) == yaml.load(text, Loader=yaml.CSafeLoader)


def _small_sd() -> StructureDefinition:
    md = "Thing.md"
    root = ElementDefinition(
        "Thing",
        "A thing",
        Cardinality(0, None),
        Source(md, 6),
        constraints=(
            Constraint(
                "thg-1",
                "error",
                "a | b; c",
                "name.exists() or code = 'x; y'",
                "Thing",
                Source(md, 8),
            ),
        ),
    )
    status = ElementDefinition(
        "Thing.status",
        "active | retired",
        Cardinality(1, 1),
        Source(md, 9),
        types=(TypeRef("code"),),
        binding=Binding("required", "thing-status", "/valueset-thing-status"),
        is_modifier=True,
    )
    subject = ElementDefinition(
        "Thing.subject",
        "Who",
        Cardinality(0, 1),
        Source(md, 15),
        types=(
            TypeRef(
                "Reference",
                target_profiles=(
                    "http://hl7.org/fhir/StructureDefinition/Patient",
                    "http://example.org/StructureDefinition/Other",
                ),
            ),
        ),
    )
    return StructureDefinition(
        "Thing", "resource", "DomainResource", (root, status, subject), Source(md, 1), "Things"
    )


def test_layout_is_reviewable_and_names_how_to_regenerate() -> None:
    text = rules_to_yaml(_small_sd(), "Thing.md", "definitions")
    lines = text.splitlines()
    assert lines[:2] == [
        "# Generated by: fhir-invariants rules regenerate --definitions definitions",
        "# Source: Thing.md",
    ]
    assert "    cardinality: 1..1" in lines
    assert "    types: [code]" in lines
    assert (
        "    binding: {strength: required, name: thing-status, link: /valueset-thing-status}"
        in lines
    )
    assert "        targets: [Patient, http://example.org/StructureDefinition/Other]" in lines
    assert "        human: a | b; c" in lines
    assert "        source: Thing.md:8" in lines
    assert "    modifier: true" in lines
    assert rules_to_yaml(_small_sd(), "Thing.md", "definitions") == text


def test_sources_are_joined_to_the_definitions_folder() -> None:
    sd = rules_from_yaml(rules_to_yaml(_small_sd(), "Thing.md"), "x.yaml", source_dir="defs/")
    assert sd.source == Source("defs/Thing.md", 1)
    assert sd.element("Thing.status").source == Source("defs/Thing.md", 9)
    assert sd.constraints[0].source == Source("defs/Thing.md", 8)


def _broken(old: str, new: str) -> str:
    text = rules_to_yaml(_small_sd(), "Thing.md")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("cardinality: 1..1", "cardinality: 1..", 26, "malformed cardinality '1..'"),
        ("    short: Who\n", "    short: Who\n    shrot: x\n", 33, "unknown field 'shrot'"),
        ("severity: error", "severity: fatalish", 18, "'fatalish' is not one of"),
        ("strength: required", "strength: mandatory", 28, "'mandatory' is not one of"),
        ("format: 1", "format: 7", 4, "rule file format 7 is not 1: regenerate it"),
        ("context: Thing\n", "context: Thing.status\n", 19, "is not its element 'Thing'"),
        ("    line: 9\n", "", 23, "missing field 'line'"),
        ("human: a | b; c", "human: [a", 21, "malformed YAML"),
    ],
)
def test_malformed_rule_file_names_file_and_line(
    old: str, new: str, line: int, message: str
) -> None:
    with pytest.raises(DefinitionError) as caught:
        rules_from_yaml(_broken(old, new), "rules/Thing.yaml")
    assert caught.value.source is not None
    assert caught.value.source.file == "rules/Thing.yaml"
    assert message in caught.value.message
    assert caught.value.source.line == line
