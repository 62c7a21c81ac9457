"""The FHIRPath layer: strict syntax, static analysis, evaluation and the functions
fhirpathpy lacks."""

from engine.fhirpath.evaluate import (
    CompiledExpression,
    FhirPathEvaluationError,
    compile_expression,
    evaluate,
)
from engine.fhirpath.syntax import FhirPathSyntaxError, is_valid, parse

__all__ = [
    "CompiledExpression",
    "FhirPathEvaluationError",
    "FhirPathSyntaxError",
    "compile_expression",
    "evaluate",
    "is_valid",
    "parse",
]
