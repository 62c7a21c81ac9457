"""fhir-invariants: a FHIRPath-driven generic invariant engine for FHIR.

    >>> import engine
    >>> validator = engine.Validator()          # the bundled R5 definitions
    >>> report = validator.validate({"resourceType": "ImagingSelection", "status": "available",
    ...                              "code": {"text": "x"}})
    >>> report.valid, [issue.key for issue in report.issues if issue.code == "invariant"]
    (False, ['isl-1', 'dom-6'])

The package is layered along the flow of the data, each layer importing only those
below it: :mod:`engine.model` (the structure-definition model) ← :mod:`engine.fhirpath`
← :mod:`engine.definitions` (markdown → model) ← :mod:`engine.rules` (compiled rules,
local rules) ← :mod:`engine.validation` (plan, walk, issues) ← :mod:`engine.io` (inputs,
batches, output formats) ← :mod:`engine.cli`. This module is the public API.
"""

from engine.model import DefinitionError, Definitions, StructureDefinition
from engine.rules.sources import bundled_definitions, load_definitions
from engine.validation.report import Issue, Report
from engine.validation.validator import Validator, validate

__all__ = [
    "DefinitionError",
    "Definitions",
    "Issue",
    "Report",
    "StructureDefinition",
    "Validator",
    "bundled_definitions",
    "load_definitions",
    "validate",
]
