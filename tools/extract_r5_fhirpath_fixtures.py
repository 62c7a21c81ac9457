"""Extract the FHIRPath test fixtures of ``tests/fixtures/fhirpath/`` from the FHIR R5 package.

Writes two files:

- ``r5-constraint-expressions.json``: every constraint a StructureDefinition defines (its
  differential), with the type, element path and key it sits on, and the distinct
  expressions found only in snapshots (inherited ones, as the profiles see them);
- ``r5-element-tree.json``: the element tree of every specialization (resources, data
  types, primitives): path, cardinality, type codes and content references, enough to
  build :mod:`engine.model` objects for the analysis tests.

Usage::

    python tools/extract_r5_fhirpath_fixtures.py /tmp/r5/core/package tests/fixtures/fhirpath
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

_SYSTEM_TYPES = "http://hl7.org/fhirpath/System."
_FHIR_TYPE = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
_COMMAND = "python tools/extract_r5_fhirpath_fixtures.py <hl7.fhir.r5.core package dir> <out dir>"


def main() -> None:
    """Read the package directory, write both fixture files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the unpacked hl7.fhir.r5.core package/")
    parser.add_argument("out", type=Path, help="the fixture directory to write")
    args = parser.parse_args()
    definitions = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(args.package.glob("StructureDefinition-*.json"))
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    _write(args.out / "r5-constraint-expressions.json", _constraints(definitions))
    _write(args.out / "r5-element-tree.json", _element_trees(definitions))


def _write(path: Path, entries: Any) -> None:
    # One line per entry keeps the files small and their diffs readable.
    header = {
        "source": "hl7.fhir.r5.core 5.0.0 (npm pack hl7.fhir.r5.core@5.0.0), public domain",
        "generated_by": _COMMAND,
    }
    lines = [json.dumps(header, ensure_ascii=False)[:-1] + ', "entries": {']
    items = list(entries.items())
    for index, (name, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f" {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _constraints(definitions: list[dict[str, Any]]) -> dict[str, Any]:
    defined = []
    for sd in definitions:
        for element in sd.get("differential", {}).get("element", []):
            for constraint in element.get("constraint", []):
                if "expression" in constraint:
                    defined.append(
                        {
                            "structure": sd["name"],
                            "derivation": sd.get("derivation", ""),
                            "path": element["path"],
                            "key": constraint["key"],
                            "expression": constraint["expression"],
                        }
                    )
    known = {entry["expression"] for entry in defined}
    snapshot_only = {
        constraint["expression"]
        for sd in definitions
        for element in sd.get("snapshot", {}).get("element", [])
        for constraint in element.get("constraint", [])
        if constraint.get("expression", "") and constraint["expression"] not in known
    }
    return {"defined": defined, "snapshot_only": sorted(snapshot_only)}


def _element_trees(definitions: list[dict[str, Any]]) -> dict[str, Any]:
    trees: dict[str, Any] = {}
    for sd in definitions:
        if sd.get("derivation") != "specialization":
            continue
        base = sd.get("baseDefinition")
        trees[sd["type"]] = {
            "kind": sd["kind"],
            "abstract": sd.get("abstract", False),
            "base": base.rsplit("/", 1)[-1] if base else None,
            "elements": [_element(sd, e) for e in sd["differential"]["element"]],
        }
    return trees


def _element(sd: dict[str, Any], element: dict[str, Any]) -> list[Any]:
    return [
        element["path"],
        element.get("min", 0),
        element.get("max", "*"),
        [_type(sd, element, t) for t in element.get("type", []) if _type(sd, element, t)],
        element.get("contentReference"),
    ]


def _type(sd: dict[str, Any], element: dict[str, Any], type_: dict[str, Any]) -> Any:
    code = type_["code"]
    if code.startswith(_SYSTEM_TYPES):
        # A primitive's own value has a FHIRPath system type, not a FHIR one.
        if sd["kind"] == "primitive-type" and element["path"].endswith(".value"):
            return None
        code = next(
            (e["valueUrl"] for e in type_.get("extension", []) if e["url"] == _FHIR_TYPE),
            None,
        )
        if code is None:
            return None
    return code if "targetProfile" not in type_ else [code, type_["targetProfile"]]


if __name__ == "__main__":
    main()
