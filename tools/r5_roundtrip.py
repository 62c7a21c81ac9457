"""Check that every R5 type survives JSON → model → markdown → model → JSON.

Usage::

    python tools/r5_roundtrip.py --package hl7.fhir.r5.core-5.0.0.tgz
    python tools/r5_roundtrip.py --folder tests/fixtures/r5/structuredefinitions

For every type-defining StructureDefinition (the selection of ``tools/r5_definitions.py``)
the official JSON goes through
:func:`engine.definitions.fhir_import.structure_definition_from_fhir`,
:func:`engine.definitions.writer.to_markdown`,
:func:`engine.definitions.markdown.parse_definitions_text` and ``to_fhir()``; the result
is compared with the official differential: element paths in order, min/max (the
snapshot's where the differential omits them), type codes, target profiles, profiles,
binding strength and value set (``|version`` ignored), constraints (key, severity, human,
expression), contentReference and the primitive regex, plus the type's kind, abstract flag
and base. Prints the number of definitions checked and every mismatch; exits 1 on any
mismatch.

A binding with no value set (FHIR allows a bare strength) cannot be written in the
definitions format; such bindings are listed separately as not expressible, not as
mismatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r5_definitions import read_folder, read_package, select_types

from engine.definitions.fhir_import import (
    REGEX_EXTENSION,
    fhir_type_code,
    structure_definition_from_fhir,
)
from engine.definitions.markdown import parse_definitions_text
from engine.definitions.writer import to_markdown


@dataclass
class Outcome:
    """What the round trip found across all definitions."""

    checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    not_expressible: list[str] = field(default_factory=list)


def round_trip(sd_json: Mapping[str, Any], origin: str) -> dict[str, Any]:
    """The StructureDefinition JSON after the trip through the model and markdown."""
    model = structure_definition_from_fhir(sd_json, origin)
    text = to_markdown(model)
    return parse_definitions_text(text, f"{model.name}.md").to_fhir()


def compare(original: Mapping[str, Any], result: Mapping[str, Any], outcome: Outcome) -> None:
    """Record every difference between an official definition and its round-tripped form."""
    name = str(original.get("type"))
    for key in ("type", "kind", "abstract", "baseDefinition"):
        expected = original.get(key, False if key == "abstract" else None)
        if result.get(key, False if key == "abstract" else None) != expected:
            outcome.mismatches.append(f"{name}: {key} {expected!r} became {result.get(key)!r}")
    snapshot = {e["path"]: e for e in original.get("snapshot", {}).get("element", [])}
    before = original["differential"]["element"]
    after = result.get("differential", {}).get("element", [])
    if [e["path"] for e in before] != [e.get("path") for e in after]:
        outcome.mismatches.append(f"{name}: element paths differ")
        return
    for old, new in zip(before, after, strict=True):
        for aspect, expected, actual in _aspects(old, new, snapshot.get(old["path"], {})):
            if expected != actual:
                outcome.mismatches.append(
                    f"{old['path']}: {aspect}: expected {expected!r}, got {actual!r}"
                )
        if "binding" in old and "valueSet" not in old["binding"]:
            outcome.not_expressible.append(
                f"{old['path']}: {old['binding']['strength']} binding without a value set"
            )


def _aspects(
    old: Mapping[str, Any], new: Mapping[str, Any], snapshot: Mapping[str, Any]
) -> Iterable[tuple[str, Any, Any]]:
    yield "min", old.get("min", snapshot.get("min")), new.get("min")
    yield "max", old.get("max", snapshot.get("max")), new.get("max")
    yield "types", _types(old), _types(new)
    yield "binding", _binding(old), _binding(new)
    yield "constraints", _constraints(old), _constraints(new)
    yield "contentReference", old.get("contentReference"), new.get("contentReference")
    yield "regex", _regex(old), _regex(new)


def _types(element: Mapping[str, Any]) -> list[tuple[str, list[str], list[str]]]:
    """Types by their FHIR type (see ``fhir_type_code``: ``Resource.id`` is an ``id``)."""
    path = str(element.get("path", ""))
    return [
        (fhir_type_code(t, path), t.get("targetProfile", []), t.get("profile", []))
        for t in element.get("type", [])
    ]


def _binding(element: Mapping[str, Any]) -> tuple[str, str] | None:
    binding = element.get("binding")
    if not binding or "valueSet" not in binding:
        return None
    return binding.get("strength"), binding["valueSet"].split("|", 1)[0]


def _constraints(element: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (c.get("key"), c.get("severity"), c.get("human"), c.get("expression"))
        for c in element.get("constraint", [])
    ]


def _regex(element: Mapping[str, Any]) -> list[str]:
    return [
        ext.get("valueString")
        for t in element.get("type", [])
        for ext in t.get("extension", [])
        if ext.get("url") == REGEX_EXTENSION
    ]


def check(definitions: Iterable[tuple[Mapping[str, Any], str]]) -> Outcome:
    """Round-trip and compare each ``(StructureDefinition JSON, origin)``."""
    outcome = Outcome()
    for sd_json, origin in definitions:
        outcome.checked += 1
        try:
            result = round_trip(sd_json, origin)
        except ValueError as error:
            outcome.mismatches.append(f"{sd_json.get('type')}: round trip failed: {error}")
            continue
        compare(sd_json, result, outcome)
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--package", type=Path, help="hl7.fhir.r5.core .tgz (npm pack)")
    source.add_argument("--folder", type=Path, help="a folder of StructureDefinition-*.json")
    args = parser.parse_args(argv)
    package = read_package(args.package) if args.package else read_folder(args.folder)
    outcome = check((sd, package.origins[sd["url"]]) for sd in select_types(package))
    print(f"{outcome.checked} StructureDefinitions checked, {len(outcome.mismatches)} mismatches")
    for mismatch in outcome.mismatches:
        print(f"  MISMATCH {mismatch}")
    if outcome.not_expressible:
        print(f"{len(outcome.not_expressible)} not expressible in the definitions format:")
        for item in outcome.not_expressible:
            print(f"  {item}")
    return 1 if outcome.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
