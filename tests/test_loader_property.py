"""Property: any definition the format can hold, written with to_markdown and loaded again,
gives back exactly the model that was written (sources aside).

Random definitions have nested backbone elements, choice elements with several types,
References with targets, profiled types, content references, bindings, regexes,
multi-line texts with blank lines, aliases, mappings whose maps hold ``; `` and
``; name=`` inside brackets, and constraints whose expressions hold `` | `` (union),
``;`` and fake ``key | error |`` heads inside string literals, and parentheses, with human
texts holding `` | `` and ``; ``.

Human texts are built from natural words, and at least two words follow every `` | ``
in them. A human text like ``draft | active`` is genuinely ambiguous in this format (the
rest ``active | expression`` is itself valid FHIRPath, a union), and so is one where a
FHIRPath keyword (and, or, xor, implies, is, as, in, div, mod, contains) or a time unit
follows a word; the vocabulary leaves those words out, and severity words too, so that no
text reads like the head of another constraint. The writer refuses what is ambiguous
(tested in test_markdown_writer.py).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

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

SD = "http://hl7.org/fhir/StructureDefinition/"
HERE = Source("Gen.md", 1)

WORDS = [
    "image",
    "region",
    "series",
    "frame",
    "value",
    "patient",
    "present",
    "only",
    "SHALL",
    "have",
    "least",
    "one",
    "code",
    "text",
    "number",
    "the",
    "a",
    "of",
    "with",
    "when",
    "must",
    "be",
    "each",
    "selected",
    "study",
    "given",
    "known",
    "other",
    "DICOM",
    "UID",
    "pixel",
    "été",
    "µm",
    "résumé",
]
_RESERVED = {"and", "or", "xor", "implies", "is", "as", "in", "div", "mod", "contains"}
_RESERVED |= {"true", "false", "not", "day", "days", "week", "weeks", "year", "years"}

words = st.sampled_from(WORDS)
phrases = st.lists(words, min_size=2, max_size=6).map(" ".join)
names = st.from_regex(r"[a-z][a-zA-Z]{2,9}", fullmatch=True).filter(lambda n: n not in _RESERVED)
type_names = st.from_regex(r"[A-Z][a-zA-Z]{2,12}", fullmatch=True)


@st.composite
def sentences(draw: st.DrawFn, separators: tuple[str, ...] = (" ", ", ", "; ", ": ")) -> str:
    """Words with punctuation; every part starts with two words."""
    parts = draw(st.lists(phrases, min_size=1, max_size=4))
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(separators)) + part
    return text


def human_texts() -> st.SearchStrategy[str]:
    return sentences((" ", ", ", "; ", " | ", ": ", ". "))


@st.composite
def multiline_texts(draw: st.DrawFn) -> str:
    """Free text over several lines, with blank lines, a leading space or a final newline."""
    lines = draw(st.lists(st.one_of(sentences(), st.just("")), min_size=1, max_size=4))
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = " " + text
    if draw(st.booleans()):
        text += "\n"
    return text if text.strip() else ""


_SIMPLE_TYPES = [
    "string",
    "code",
    "id",
    "boolean",
    "integer",
    "decimal",
    "uri",
    "dateTime",
    "Identifier",
    "CodeableConcept",
    "Coding",
    "Period",
    "Attachment",
    "Quantity",
]

type_refs = st.one_of(
    st.sampled_from(_SIMPLE_TYPES).map(TypeRef),
    st.just(TypeRef("http://hl7.org/fhirpath/System.String")),
    st.just(TypeRef("Quantity", profiles=(SD + "SimpleQuantity",))),
    st.lists(
        st.sampled_from(
            ["Patient", "Group", "Device", "Practitioner", "Organization", "Specimen"]
        ).map(SD.__add__)
        | st.just("http://example.org/fhir/StructureDefinition/Widget"),
        min_size=1,
        max_size=4,
        unique=True,
    ).map(lambda urls: TypeRef("Reference", target_profiles=tuple(urls))),
    st.just(TypeRef("canonical", target_profiles=(SD + "Questionnaire",))),
    st.just(TypeRef("CodeableReference", target_profiles=(SD + "Substance",))),
)

bindings = st.builds(
    lambda strength, name, absolute: Binding(
        strength,
        name,
        f"http://terminology.hl7.org/ValueSet/{name}" if absolute else f"/valueset-{name}",
    ),
    st.sampled_from(["required", "extensible", "preferred", "example"]),
    st.from_regex(r"[a-z][a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True),
    st.booleans(),
)

map_texts = st.one_of(
    sentences((" ", "; ", ", ", "\n")),
    st.just("Act[classCode=ACT; moodCode=DEFN]"),
    st.just("Participation.signatureCode (0..1); see (a) and [b"),
)
mappings = st.lists(
    st.builds(
        Mapping_,
        st.sampled_from(["w5", "rim", "v2", "dicom", "workflow", "sct-concept"]),
        map_texts,
    ),
    max_size=3,
).map(tuple)

cardinalities = st.integers(0, 2).flatmap(
    lambda low: st.one_of(st.none(), st.integers(max(low, 1), 5)).map(
        lambda high: Cardinality(low, high)
    )
)

_TEMPLATES = (
    "{a}.exists() or {b}.empty()",
    "({a} | {b}).count() <= 3",
    "{a}.exists() implies {b}.all($this.toString() != '; k-9 | error | x | y')",
    "{a}.where($this = 'a; b').exists().not()",
    "(({a}.exists() and {b}.exists()) or {a}.empty()).not() = false",
    "{a}.count() mod 2 = 0",
    "{a}.select($this | {b}).distinct().count() < 5",
)


@st.composite
def expressions(draw: st.DrawFn, child_names: list[str]) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        template = draw(st.sampled_from(_TEMPLATES))
        parts.append(
            template.format(
                a=draw(st.sampled_from(child_names)), b=draw(st.sampled_from(child_names))
            )
        )
    return draw(st.sampled_from([" and ", " or "])).join(f"({p})" for p in parts)


@st.composite
def structure_definitions(draw: st.DrawFn) -> StructureDefinition:
    name = draw(type_names)
    kind = draw(st.sampled_from(["resource", "complex-type", "primitive-type", "logical"]))
    bases = ["DomainResource", "Resource", None] if kind == "resource" else ["DataType", None]
    rows: list[dict[str, Any]] = [{"path": name, "cardinality": draw(cardinalities)}]
    backbones: list[str] = []
    _children(draw, name, 0, rows, backbones)
    keys = iter(f"{name[:3].lower()}-{n}" for n in range(1, 1000))
    all_keys: list[str] = []
    for row in rows:
        children = [r["path"].rsplit(".", 1)[1] for r in rows if _parent(r["path"]) == row["path"]]
        plain = [c for c in children if not c.endswith("[x]")]
        if plain and (row["path"] == name or row["path"] in backbones):
            for _ in range(draw(st.integers(0, 3))):
                key = next(keys)
                all_keys.append(key)
                severity = draw(st.sampled_from(["error", "warning", "information", "fatal"]))
                row.setdefault("constraints", []).append(
                    Constraint(
                        key,
                        severity,
                        draw(human_texts()),
                        draw(expressions(plain)),
                        row["path"],
                        HERE,
                    )
                )
    elements = []
    for row in rows:
        if all_keys and draw(st.booleans()):
            row["conditions"] = tuple(draw(st.lists(st.sampled_from(all_keys), max_size=3)))
        row["constraints"] = tuple(row.get("constraints", ()))
        elements.append(_element(draw, row))
    return StructureDefinition(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        base=draw(st.sampled_from(bases)),
        elements=tuple(elements),
        source=HERE,
        title=draw(sentences()),
        abstract=draw(st.booleans()),
        front_matter=draw(
            st.sampled_from([{}, {"generated-by": "python tools/r5_definitions.py --out d"}])
        ),
    )


def _parent(path: str) -> str | None:
    return path.rsplit(".", 1)[0] if "." in path else None


def _children(
    draw: st.DrawFn, parent: str, depth: int, rows: list[dict[str, Any]], backbones: list[str]
) -> None:
    for child in draw(st.lists(names, min_size=1 if depth == 0 else 0, max_size=4, unique=True)):
        path = f"{parent}.{child}"
        shape = draw(st.sampled_from(["leaf", "choice", "backbone", "reference"]))
        row: dict[str, Any] = {"path": path, "cardinality": draw(cardinalities)}
        if shape == "choice":
            row["path"] = path + "[x]"
            types = draw(st.lists(type_refs, min_size=2, max_size=4, unique_by=lambda t: t.code))
            row["types"] = tuple(types)
            rows.append(row)
        elif shape == "backbone" and depth < 2:
            row["types"] = (TypeRef("BackboneElement"),)
            rows.append(row)
            backbones.append(path)
            _children(draw, path, depth + 1, rows, backbones)
        elif shape == "reference" and backbones:
            row["content_reference"] = draw(st.sampled_from(backbones))
            rows.append(row)
        else:
            row["types"] = (draw(type_refs),)
            if draw(st.booleans()):
                row["regex"] = draw(
                    st.sampled_from(["[A-Za-z0-9\\-\\.]{1,64}", "-?(0|[1-9][0-9]*)"])
                )
            rows.append(row)


def _element(draw: st.DrawFn, row: dict[str, Any]) -> ElementDefinition:
    is_modifier = draw(st.sampled_from([None, False, True]))
    reason = (
        draw(st.sampled_from(["", "It changes the meaning (of everything)"])) if is_modifier else ""
    )
    return ElementDefinition(
        path=row["path"],
        short=draw(st.one_of(st.just(""), sentences((" ", " | ", ", ")))),
        cardinality=row["cardinality"],
        source=HERE,
        definition=draw(st.one_of(st.just(""), multiline_texts())),
        comments=draw(st.one_of(st.just(""), multiline_texts())),
        requirements=draw(st.one_of(st.just(""), multiline_texts())),
        aliases=tuple(draw(st.lists(phrases, max_size=3))),
        conditions=row.get("conditions", ()),
        types=row.get("types", ()),
        binding=draw(st.one_of(st.none(), bindings)) if row.get("types") else None,
        is_summary=draw(st.sampled_from([None, False, True])),
        is_modifier=is_modifier,
        is_modifier_reason=reason,
        constraints=row["constraints"],
        mappings=draw(mappings),
        content_reference=row.get("content_reference"),
        regex=row.get("regex"),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structure_definitions())
def test_written_definitions_load_back_exactly(sd: StructureDefinition) -> None:
    text = to_markdown(sd)
    note(text)
    loaded = parse_definitions_text(text, "Gen.md")
    assert without_sources(loaded) == without_sources(sd)
    assert to_markdown(loaded) == text
