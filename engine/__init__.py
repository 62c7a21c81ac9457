"""fhir-invariants: a FHIRPath-driven generic invariant engine for FHIR."""

from engine.markdown import load_definitions
from engine.model import DefinitionError, Definitions, StructureDefinition

__all__ = ["Definitions", "DefinitionError", "StructureDefinition", "load_definitions"]
