"""The structure-definition model: what a definitions file says, as immutable data.

The bottom layer of the package: every other layer reads these objects and none of them
is imported from here. :mod:`engine.model.structure` holds the classes,
:mod:`engine.model.fhir_export` their FHIR StructureDefinition form.
"""

from engine.model.structure import (
    FHIR_BASE,
    REFERENCE_TYPES,
    STRUCTURE_DEFINITION_BASE,
    VALUE_SET_BASE,
    Binding,
    BindingStrength,
    Cardinality,
    Constraint,
    DefinitionError,
    Definitions,
    ElementDefinition,
    Kind,
    LazyMapping,
    Mapping_,
    Severity,
    Source,
    StructureDefinition,
    TypeRef,
    ValueSet,
    canonical_for_link,
)

__all__ = [
    "FHIR_BASE",
    "REFERENCE_TYPES",
    "STRUCTURE_DEFINITION_BASE",
    "VALUE_SET_BASE",
    "Binding",
    "BindingStrength",
    "Cardinality",
    "Constraint",
    "DefinitionError",
    "Definitions",
    "ElementDefinition",
    "Kind",
    "LazyMapping",
    "Mapping_",
    "Severity",
    "Source",
    "StructureDefinition",
    "TypeRef",
    "ValueSet",
    "canonical_for_link",
]
