"""Helpers for comparing structure-definition models in tests."""

from __future__ import annotations

from dataclasses import replace

from engine.model import Source, StructureDefinition


def without_sources(sd: StructureDefinition) -> StructureDefinition:
    """``sd`` with every file:line source blanked: models read from different texts
    compare equal when only where they were written differs."""
    nowhere = Source("", 0)
    return replace(
        sd,
        source=nowhere,
        elements=tuple(
            replace(
                e,
                source=nowhere,
                constraints=tuple(replace(c, source=nowhere) for c in e.constraints),
            )
            for e in sd.elements
        ),
    )
