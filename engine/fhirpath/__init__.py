"""The FHIRPath layer: strict syntax, static analysis, and the evaluators.

- :mod:`engine.fhirpath.syntax`: the strict grammar (``grammar.lark``) and its errors;
- :mod:`engine.fhirpath.analysis`: element names and functions an expression uses;
- :mod:`engine.fhirpath.evaluation`: what every evaluator offers;
- :mod:`engine.fhirpath.evaluators`: the evaluators by name;
- :mod:`engine.fhirpath.reference`: fhirpathpy with the functions FHIR needs;
- :mod:`engine.fhirpath.typeinfo`: type tables built from the definitions.
"""

from engine.fhirpath.analysis import functions_used, unknown_elements
from engine.fhirpath.evaluation import (
    CompiledExpression,
    Evaluator,
    FhirPathEvaluationError,
    Session,
    passes,
)
from engine.fhirpath.evaluators import DEFAULT_EVALUATOR, EVALUATORS, make_evaluator
from engine.fhirpath.reference.evaluator import (
    compile_expression,
    evaluate,
    supported_functions,
)
from engine.fhirpath.syntax import FhirPathSyntaxError, is_valid, parse
from engine.fhirpath.typeinfo import fhirpathpy_model

__all__ = [
    "DEFAULT_EVALUATOR",
    "EVALUATORS",
    "CompiledExpression",
    "Evaluator",
    "FhirPathEvaluationError",
    "FhirPathSyntaxError",
    "Session",
    "compile_expression",
    "evaluate",
    "fhirpathpy_model",
    "functions_used",
    "is_valid",
    "make_evaluator",
    "parse",
    "passes",
    "supported_functions",
    "unknown_elements",
]
