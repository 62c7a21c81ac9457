"""The FHIR R5 core types as :mod:`engine.model` objects, built from the vendored element
trees (tests/fixtures/fhirpath/r5-element-tree.json), for tests that need real types."""

from __future__ import annotations

import json
from functools import cache

from engine.model import (
    Cardinality,
    Definitions,
    ElementDefinition,
    Source,
    StructureDefinition,
    TypeRef,
)

from .suite import FIXTURES

_TREES = FIXTURES / "fhirpath" / "r5-element-tree.json"


@cache
def r5_definitions() -> Definitions:
    """Every R5 specialization: resources, data types, primitives and their bases."""
    trees = json.loads(_TREES.read_text(encoding="utf-8"))["entries"]
    return Definitions({name: _structure(name, tree) for name, tree in trees.items()})


def _structure(name: str, tree: dict) -> StructureDefinition:
    source = Source(f"R5:{name}", 1)
    elements = tuple(
        ElementDefinition(
            path=path,
            short="",
            cardinality=Cardinality(minimum, None if maximum == "*" else int(maximum)),
            source=source,
            types=tuple(_type(t) for t in types),
            content_reference=reference.split("#", 1)[1] if reference else None,
        )
        for path, minimum, maximum, types, reference in tree["elements"]
    )
    return StructureDefinition(
        name=name,
        kind=tree["kind"],
        base=tree["base"],
        elements=elements,
        source=source,
        abstract=tree["abstract"],
    )


def _type(entry: str | list) -> TypeRef:
    if isinstance(entry, str):
        return TypeRef(entry)
    code, targets = entry
    return TypeRef(code, tuple(targets))
