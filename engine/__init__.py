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

``engine.__version__`` is the installed distribution's version (``fhir-invariants``),
read from the package metadata, so a checkout installed in editable mode and a wheel
both report what ``pyproject.toml`` says.
"""

from importlib import metadata

from engine.model import DefinitionError, Definitions, StructureDefinition
from engine.rules.sources import bundled_definitions, load_definitions
from engine.validation.report import Issue, Report
from engine.validation.validator import Validator, validate

try:
    __version__: str = metadata.version("fhir-invariants")
except metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "unknown"

__all__ = [
    "DefinitionError",
    "Definitions",
    "Issue",
    "Report",
    "StructureDefinition",
    "__version__",
    "Validator",
    "bundled_definitions",
    "load_definitions",
    "validate",
]
