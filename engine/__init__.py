"""fhir-invariants: a FHIRPath-driven generic invariant engine for FHIR."""

from engine.model import Definitions, DefinitionError, StructureDefinition

__all__ = ["Definitions", "DefinitionError", "StructureDefinition"]
