"""fhir-invariants: a FHIRPath-driven generic invariant engine for FHIR.

Example::

    import engine

    validator = engine.Validator(engine.load_definitions("definitions"))
    report = validator.validate(resource)  # a parsed FHIR JSON resource
    print(report.valid, [str(issue) for issue in report.issues])
"""

from engine.markdown import load_definitions
from engine.model import DefinitionError, Definitions, StructureDefinition
from engine.report import Issue, Report
from engine.validator import Validator, validate

__all__ = [
    "DefinitionError",
    "Definitions",
    "Issue",
    "Report",
    "StructureDefinition",
    "Validator",
    "load_definitions",
    "validate",
]
