"""Generate ``definitions/`` for every FHIR R5 type from the official R5 package.

Usage::

    python tools/r5_definitions.py --package hl7.fhir.r5.core-5.0.0.tgz --out definitions

The package tarball is the one ``npm pack hl7.fhir.r5.core@5.0.0`` downloads; it is read
directly (no unpacking). The tool writes:

- ``<out>/<Type>.md`` for every StructureDefinition that defines a type (derivation
  ``specialization``, and ``Base``, which has no base): all resources, complex and
  primitive data types and the abstract base types. Profiles are skipped; so are logical
  models, unless a written type refers to one.
- ``<out>/r5.valuesets.yaml``: the codes of every value set bound with strength
  ``required`` in the written types (and in hand-maintained files of ``<out>``), expanded
  from the package's ValueSets and CodeSystems. Value sets that need a code system the
  package lacks (BCP-47, MIME types, UCUM, terminology.hl7.org…) are left out and listed.

Every generated file names the generating command (front-matter key ``generated-by``, a
comment line in the YAML). A definitions file that exists *without* ``generated-by`` is
hand-maintained and never overwritten: ``definitions/ImagingSelection.md`` (newer than
R5) takes precedence over R5's ImagingSelection that way. Output is deterministic, and a
file whose content is unchanged is not rewritten.

The few published expressions and regexes that the HL7 validator corrects before use are
corrected the same way, from the data in ``tools/r5_errata.yaml`` (each with its reason).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.definitions.fhir_import import structure_definition_from_fhir
from engine.definitions.markdown import parse_definitions_text
from engine.definitions.terminology import (
    UnexpandableValueSet,
    expand_value_set,
    value_sets_to_yaml,
)
from engine.definitions.writer import to_markdown
from engine.model import STRUCTURE_DEFINITION_BASE, DefinitionError, StructureDefinition

VALUE_SETS_FILE = "r5.valuesets.yaml"
ERRATA_FILE = Path(__file__).with_name("r5_errata.yaml")
NPM_COMMAND = "npm pack hl7.fhir.r5.core@5.0.0"


@dataclass(frozen=True)
class Package:
    """The resources of a FHIR package that the generator needs, keyed by canonical URL."""

    name: str
    structure_definitions: Mapping[str, Mapping[str, Any]]
    value_sets: Mapping[str, Mapping[str, Any]]
    code_systems: Mapping[str, Mapping[str, Any]]
    #: canonical URL → "<package file>/<member>", for error messages.
    origins: Mapping[str, str]


def read_package(path: Path) -> Package:
    """Read StructureDefinitions, ValueSets and CodeSystems from an npm package tarball."""
    with tarfile.open(path, "r:gz") as archive:
        resources = []
        for member in archive:
            if member.isfile() and _is_wanted(member.name):
                stream = archive.extractfile(member)
                if stream is not None:
                    resources.append((json.load(stream), f"{path.name}/{member.name}"))
    return package_of(path.name, resources)


def read_folder(path: Path) -> Package:
    """The same from a folder of ``<ResourceType>-<id>.json`` files (an unpacked package)."""
    resources = [
        (json.loads(file.read_text("utf-8")), str(file))
        for file in sorted(path.iterdir())
        if file.is_file() and _is_wanted(file.name)
    ]
    return package_of(path.name, resources)


def package_of(name: str, resources: Iterable[tuple[Mapping[str, Any], str]]) -> Package:
    """A :class:`Package` of ``(resource, origin)`` pairs; other resource types are ignored."""
    found: dict[str, dict[str, Mapping[str, Any]]] = {kind: {} for kind in _KINDS}
    origins: dict[str, str] = {}
    for resource, origin in resources:
        kind, url = resource.get("resourceType"), resource.get("url")
        if kind in found and isinstance(url, str):
            found[kind][url] = resource
            origins[url] = origin
    return Package(
        name=name,
        structure_definitions=found["StructureDefinition"],
        value_sets=found["ValueSet"],
        code_systems=found["CodeSystem"],
        origins=origins,
    )


_KINDS = ("StructureDefinition", "ValueSet", "CodeSystem")


def _is_wanted(member: str) -> bool:
    file_name = member.rsplit("/", 1)[-1]
    return file_name.endswith(".json") and file_name.split("-", 1)[0] in _KINDS


def select_types(package: Package) -> list[Mapping[str, Any]]:
    """The StructureDefinitions that define types, sorted by name.

    Specializations and the root type(s) without a base; logical models only when a
    selected type refers to one (as a type code, profile or target profile).
    """
    definitions = package.structure_definitions
    selected = {
        url: sd
        for url, sd in definitions.items()
        if sd.get("derivation") == "specialization"
        or ("baseDefinition" not in sd and sd.get("kind") != "logical")
    }
    pending = list(selected.values())
    while pending:
        for url in _referenced_urls(pending.pop()):
            sd = definitions.get(url)
            if sd is not None and url not in selected and sd.get("kind") == "logical":
                selected[url] = sd
                pending.append(sd)
    return sorted(selected.values(), key=lambda sd: str(sd["type"]))


def _referenced_urls(sd: Mapping[str, Any]) -> Iterable[str]:
    for element in sd.get("differential", {}).get("element", []):
        for type_ref in element.get("type", []):
            code = type_ref.get("code", "")
            yield code if ":" in code else STRUCTURE_DEFINITION_BASE + code
            yield from type_ref.get("profile", [])
            yield from type_ref.get("targetProfile", [])


def generated_by(package: Path, out: str) -> str:
    """The command recorded in every generated file (the package by file name, so that the
    output does not depend on where the tarball sits)."""
    return f"python tools/r5_definitions.py --package {package.name} --out {out}"


def is_hand_maintained(path: Path) -> bool:
    """True when ``path`` exists and its front matter has no ``generated-by`` key."""
    if not path.exists():
        return False
    return "generated-by" not in _front_matter(path.read_text("utf-8"))


def _front_matter(text: str) -> Mapping[str, Any]:
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---\n", 3)
    try:
        data = yaml.safe_load(text[4:end]) if end >= 0 else None
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def convert(
    package: Package, command: str, errata: Mapping[str, Any] | None = None
) -> list[StructureDefinition]:
    """Every selected type as a model, corrected by ``errata`` (see ``r5_errata.yaml``)
    and stamped with the generating command."""
    models = []
    for sd_json in select_types(package):
        model = structure_definition_from_fhir(sd_json, package.origins[str(sd_json["url"])])
        front_matter = {**model.front_matter, "generated-by": command}
        model = dataclasses.replace(model, front_matter=front_matter)
        models.append(apply_errata(model, errata or {}))
    return models


def load_errata(path: Path = ERRATA_FILE) -> Mapping[str, Any]:
    """The corrections of ``r5_errata.yaml``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def apply_errata(model: StructureDefinition, errata: Mapping[str, Any]) -> StructureDefinition:
    """``model`` with the errata for its type applied; a `was` that does not match the
    published text is an error (the package changed: review the erratum)."""
    fixes = [e for e in errata.get("constraints", []) if e["type"] == model.name]
    regexes = [e for e in errata.get("regexes", []) if e["type"] == model.name]
    if not fixes and not regexes:
        return model
    elements = []
    for element in model.elements:
        constraints = []
        for c in element.constraints:
            for fix in fixes:
                if fix["key"] == c.key:
                    if c.expression != fix["was"]:
                        raise DefinitionError(
                            f"erratum for {c.key}: published expression is {c.expression!r}, "
                            f"not {fix['was']!r}"
                        )
                    c = dataclasses.replace(c, expression=fix["now"])
            constraints.append(c)
        for fix in regexes:
            if fix["element"] == element.path:
                if element.regex != fix["was"]:
                    raise DefinitionError(
                        f"erratum for {element.path}: published regex is {element.regex!r}"
                    )
                element = dataclasses.replace(element, regex=fix["now"])
        elements.append(dataclasses.replace(element, constraints=tuple(constraints)))
    return dataclasses.replace(model, elements=tuple(elements))


def required_value_sets(models: Iterable[StructureDefinition]) -> set[str]:
    """Canonical URLs of the value sets bound with strength ``required``."""
    return {
        element.binding.value_set
        for model in models
        for element in model
        if element.binding is not None and element.binding.strength == "required"
    }


def _hand_maintained(out: Path) -> list[StructureDefinition]:
    """The definitions in ``out`` that were not generated: they win over the package's."""
    return [
        parse_definitions_text(path.read_text("utf-8"), str(path))
        for path in sorted(out.glob("*.md"))
        if path.name != "README.md" and is_hand_maintained(path)
    ]


def _write(path: Path, text: str) -> bool:
    # Bytes, not text: some R5 definitions hold bare carriage returns, which reading in
    # text mode would turn into newlines.
    data = text.encode("utf-8")
    if path.exists() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--package", required=True, type=Path, help="hl7.fhir.r5.core .tgz")
    parser.add_argument("--out", required=True, help="the definitions folder to write")
    args = parser.parse_args(argv)
    out = Path(args.out)
    command = generated_by(args.package, args.out)
    try:
        package = read_package(args.package)
        models = convert(package, command, load_errata())
    except (OSError, tarfile.TarError, json.JSONDecodeError) as error:
        print(f"error: cannot read {args.package}: {error}", file=sys.stderr)
        return 2
    except DefinitionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)

    try:
        hand_maintained = _hand_maintained(out)
    except DefinitionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    kept = {sd.name for sd in hand_maintained}
    written = unchanged = 0
    in_force = list(hand_maintained)
    for model in models:
        path = out / f"{model.name}.md"
        if model.name in kept or is_hand_maintained(path):
            continue
        in_force.append(model)
        if _write(path, to_markdown(model)):
            written += 1
        else:
            unchanged += 1

    expanded, left_out = [], []
    for url in sorted(required_value_sets(in_force)):
        try:
            expanded.append(expand_value_set(url, package.value_sets, package.code_systems))
        except UnexpandableValueSet as reason:
            left_out.append(str(reason))
    header = (
        f"Generated by: {command}\n"
        f"Package: {package.name} (from `{NPM_COMMAND}`)\n"
        "The codes of every value set bound with strength 'required' in the definitions of"
        " this folder,\nexpanded from the package's ValueSets and CodeSystems."
    )
    _write(out / VALUE_SETS_FILE, value_sets_to_yaml(expanded, header))

    print(f"{len(models)} types converted: {written} written, {unchanged} unchanged")
    for sd in hand_maintained:
        print(f"kept hand-maintained {sd.source.file} ({sd.name}; no generated-by)")
    print(f"{len(expanded)} value sets written to {out / VALUE_SETS_FILE}")
    print(f"{len(left_out)} required value sets left out (not expandable from the package):")
    for why in left_out:
        print(f"  {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
