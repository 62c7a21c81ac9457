"""fhir-invariants: a FHIRPath-driven generic invariant engine for FHIR.

Example::

    import engine

    validator = engine.Validator(engine.load_definitions("definitions"))
    report = validator.validate(resource)  # a parsed FHIR JSON resource
    print(report.valid, [str(issue) for issue in report.issues])
"""

from typing import TYPE_CHECKING, Any

from engine.model import DefinitionError, Definitions, StructureDefinition
from engine.report import Issue, Report
from engine.validator import Validator, validate

if TYPE_CHECKING:
    from engine.markdown import load_definitions


def __getattr__(name: str) -> Any:
    # The markdown loader builds its field grammars on import; a run that starts from
    # compiled rules (the command line) never needs them.
    if name == "load_definitions":
        from engine.markdown import load_definitions

        return load_definitions
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


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
