"""The FHIRPath layer: strict syntax, static analysis, evaluation and the functions
fhirpathpy lacks."""

from engine.fhirpath.analysis import functions_used, unknown_elements
from engine.fhirpath.reference.evaluator import (
    CompiledExpression,
    FhirPathEvaluationError,
    compile_expression,
    evaluate,
    supported_functions,
)
from engine.fhirpath.reference.model import fhirpathpy_model
from engine.fhirpath.syntax import FhirPathSyntaxError, is_valid, parse

__all__ = [
    "CompiledExpression",
    "FhirPathEvaluationError",
    "FhirPathSyntaxError",
    "compile_expression",
    "evaluate",
    "fhirpathpy_model",
    "functions_used",
    "is_valid",
    "parse",
    "supported_functions",
    "unknown_elements",
]
