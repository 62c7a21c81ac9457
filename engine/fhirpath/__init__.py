"""The FHIRPath layer: strict syntax, static analysis, evaluation and the functions
fhirpathpy lacks."""

from engine.fhirpath.syntax import FhirPathSyntaxError, is_valid, parse

__all__ = ["FhirPathSyntaxError", "is_valid", "parse"]
