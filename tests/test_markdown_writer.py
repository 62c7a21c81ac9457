"""to_markdown: the loader's exact inverse, on the seed, on real R5 types and on edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import engine
from engine.definitions.fhir_import import structure_definition_from_fhir
from engine.definitions.markdown import parse_definitions_text
from engine.definitions.writer import to_markdown
from engine.model import (
    Binding,
    Cardinality,
    Constraint,
    ElementDefinition,
    Mapping_,
    Source,
    StructureDefinition,
    TypeRef,
)
from tests.model_helpers import without_sources

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "definitions" / "ImagingSelection.md"
R5 = Path(__file__).parent / "fixtures" / "r5" / "structuredefinitions"
HERE = Source("Gen.md", 1)
SD = "http://hl7.org/fhir/StructureDefinition/"


def _round_trip(sd: StructureDefinition) -> StructureDefinition:
    return parse_definitions_text(to_markdown(sd), "Gen.md")


def test_seed_is_written_back_byte_for_byte() -> None:
    text = SEED.read_text(encoding="utf-8")
    sd = engine.load_definitions(SEED)["ImagingSelection"]
    assert to_markdown(sd) == text


@pytest.mark.parametrize(
    "path", sorted(R5.glob("StructureDefinition-*.json")), ids=lambda p: p.stem
)
def test_r5_type_round_trips(path: Path) -> None:
    """Real R5 types use every convention: kinds, bases (none for Base), abstract, Regex,
    content references, profiles, FHIRPath system type URLs, multi-line texts."""
    sd = structure_definition_from_fhir(json.loads(path.read_text(encoding="utf-8")), path.name)
    text = to_markdown(sd)
    back = parse_definitions_text(text, "Gen.md")
    assert without_sources(back) == without_sources(sd)
    assert to_markdown(back) == text


def _element(path: str, **fields: object) -> ElementDefinition:
    fields.setdefault("cardinality", Cardinality(0, 1))
    return ElementDefinition(path=path, short=str(fields.pop("short", "")), source=HERE, **fields)  # type: ignore[arg-type]


def _type(*elements: ElementDefinition, **fields: object) -> StructureDefinition:
    return StructureDefinition(
        name=elements[0].path,
        kind=fields.pop("kind", "resource"),  # type: ignore[arg-type]
        base=fields.pop("base", "DomainResource"),  # type: ignore[arg-type]
        elements=elements,
        source=HERE,
        title=str(fields.pop("title", "Gizmo Definitions")),
        **fields,  # type: ignore[arg-type]
    )


def test_front_matter_conventions() -> None:
    sd = _type(
        _element("Gizmo"),
        kind="complex-type",
        base="DataType",
        abstract=True,
        front_matter={"generated-by": "python tools/r5_definitions.py --out definitions"},
    )
    assert to_markdown(sd).split("# Gizmo Definitions")[0] == (
        "---\n"
        'type: "resource-definitions"\n'
        'title: "Gizmo Definitions"\n'
        'resource: "Gizmo"\n'
        'kind: "complex-type"\n'
        'base: "DataType"\n'
        "abstract: true\n"
        'generated-by: "python tools/r5_definitions.py --out definitions"\n'
        "---\n"
    )
    assert without_sources(_round_trip(sd)) == without_sources(sd)


def test_type_without_a_base() -> None:
    sd = _type(_element("Gizmo"), kind="complex-type", base=None, abstract=True)
    assert 'base: "none"\n' in to_markdown(sd)
    assert _round_trip(sd).base is None


def test_resource_with_another_base_says_so() -> None:
    sd = _type(_element("Gizmo"), base="Resource")
    assert 'base: "Resource"\n' in to_markdown(sd)
    assert "kind:" not in to_markdown(sd)
    assert _round_trip(sd).base == "Resource"


def test_section_conventions() -> None:
    sd = _type(
        _element("Gizmo", cardinality=Cardinality(0, None)),
        _element(
            "Gizmo.value[x]",
            short="Value | of the gizmo",
            definition=" Starts with a space.\n\nKeeps a blank line and a trailing one\n",
            aliases=("Reading", "Measurement\nvalue"),
            types=(
                TypeRef("Quantity", profiles=(SD + "SimpleQuantity",)),
                TypeRef("Reference", target_profiles=(SD + "Patient", "http://x.org/SD/Other")),
                TypeRef("http://hl7.org/fhirpath/System.String"),
            ),
            binding=Binding("example", "v3-X", "http://terminology.hl7.org/ValueSet/v3-X"),
            is_summary=False,
            is_modifier=True,
            is_modifier_reason="It changes (everything)",
            mappings=(Mapping_("rim", "Act[classCode=ACT; moodCode=DEFN]"), Mapping_("w5", "x")),
        ),
        _element("Gizmo.part", types=(TypeRef("BackboneElement"),), is_modifier=False),
        _element("Gizmo.part.part", content_reference="Gizmo.part", regex="[0-9]+"),
    )
    text = to_markdown(sd)
    assert text.split("## Gizmo.value[x]\n")[1].split("\n## ")[0] == (
        "Value | of the gizmo\n"
        "**Definition:**  Starts with a space.\n"
        "\n"
        "Keeps a blank line and a trailing one\n"
        "\n"
        "**Aliases:** Reading, Measurement\n"
        "value\n"
        "**Cardinality:** 0..1\n"
        "**Type:** Quantity([SimpleQuantity](/SimpleQuantity)), "
        "Reference([Patient](/Patient), [Other](http://x.org/SD/Other)), "
        "[System.String](http://hl7.org/fhirpath/System.String)\n"
        "**Binding:** example:[v3-X](http://terminology.hl7.org/ValueSet/v3-X)\n"
        "**Summary:** false\n"
        "**Is Modifier:** true (Reason: It changes (everything))\n"
        "**Mappings:** rim=Act[classCode=ACT; moodCode=DEFN]; w5=x"
    )
    assert (
        "## Gizmo.part\n**Cardinality:** 0..1\n**Type:** [BackboneElement](/BackboneElement)\n"
        "**Is Modifier:** false\n## "
    ) in text
    assert text.endswith(
        "## Gizmo.part.part\n**Cardinality:** 0..1\n**Type:** See [Gizmo.part](#Gizmo.part)\n"
        "**Regex:** [0-9]+"
    )
    assert without_sources(_round_trip(sd)) == without_sources(sd)


def _constraint(key: str, human: str, expression: str, context: str = "Gizmo") -> Constraint:
    return Constraint(key, "error", human, expression, context, HERE)


@pytest.mark.parametrize(
    ("element", "message"),
    [
        (
            _element("Gizmo", comments="Fine first line\n**Note:** reads as a field"),
            "Gizmo: a line of Comments would read as a section heading or a field",
        ),
        (
            _element("Gizmo", definition="Fine\n## Heading"),
            "Gizmo: a line of Definition would read as a section heading or a field",
        ),
        (
            _element("Gizmo", mappings=(Mapping_("w5", "ends with a newline\n"),)),
            "Gizmo: the last field of a section cannot end with a newline",
        ),
        (_element("Gizmo", short="two\nlines"), "Gizmo: the short description must be one"),
        (
            _element(
                "Gizmo",
                constraints=(_constraint("g-1", "Draft | active", "status.exists()"),),
            ),
            "Gizmo: constraint g-1 would read back differently",
        ),
        (
            _element(
                "Gizmo",
                constraints=(_constraint("g-1", "Status", "status.exists()", "Gizmo.other"),),
            ),
            "Gizmo: constraint g-1 has context 'Gizmo.other'",
        ),
        (
            _element(
                "Gizmo",
                types=(TypeRef("Reference", target_profiles=(SD + "A",), profiles=(SD + "B",)),),
            ),
            "Gizmo: type Reference has both profiles and target profiles",
        ),
        (
            _element("Gizmo", types=(TypeRef("Quantity", target_profiles=(SD + "A",)),)),
            "Gizmo: type Quantity cannot have target profiles in this format",
        ),
        (
            _element("Gizmo", aliases=("One, two",)),
            "Gizmo: Aliases 'One, two' would read back as ('One', 'two')",
        ),
        (
            _element("Gizmo", is_modifier_reason="Without the flag"),
            "Gizmo: a modifier reason needs is_modifier True",
        ),
    ],
)
def test_what_the_format_cannot_express_is_refused(
    element: ElementDefinition, message: str
) -> None:
    with pytest.raises(ValueError) as error:
        to_markdown(_type(element))
    assert str(error.value).startswith(message), str(error.value)


def test_unknown_front_matter_is_refused() -> None:
    with pytest.raises(ValueError, match="front matter colour='blue' cannot be written"):
        to_markdown(_type(_element("Gizmo"), front_matter={"colour": "blue"}))
