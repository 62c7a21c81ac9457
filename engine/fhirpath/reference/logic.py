"""``and``, ``or`` and ``implies`` that stop once the left operand decides the result.

FHIRPath's three-valued logic makes ``false and X`` false, ``true or X`` true and
``false implies X`` true whatever ``X`` is, and the HL7 Java validator does not evaluate
``X`` then. fhirpathpy evaluates both operands, which turns constraints of the form
``element.where(cheap test and <scan of every element>)`` (sdf-24, sdf-25) quadratic:
seconds per StructureDefinition. The result is the same; only an evaluation error the
right operand alone would raise is not raised, as in the HL7 validator.

Like :mod:`engine.fhirpath.reference.navigation`, :func:`install` replaces fhirpathpy's evaluators
for these expressions, and changes nothing for evaluations that are not this engine's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fhirpathpy.engine import make_param, util
from fhirpathpy.engine.evaluators import evaluators
from fhirpathpy.engine.invocations import logic

from engine.fhirpath.reference.navigation import MERGED_PRIMITIVES

__all__ = ["install"]

#: operator → (left value that decides, the result it decides, the two-operand function)
_DECIDED_BY_LEFT: dict[str, tuple[bool, bool, Callable[..., Any]]] = {
    "and": (False, False, logic.and_op),
    "or": (True, True, logic.or_op),
    "implies": (False, True, logic.implies_op),
}
_NODES = ("AndExpression", "OrExpression", "ImpliesExpression")
_ORIGINAL: dict[str, Callable[..., list[Any]]] = {name: evaluators[name] for name in _NODES}
#: The parameter type fhirpathpy's invocation table gives both operands of these operators.
_BOOLEAN_OPERAND = ["Boolean"]


def install() -> None:
    """Route fhirpathpy's and/or/implies evaluation through this module (idempotent)."""
    for name in _NODES:
        evaluators[name] = _evaluator(name)


def _evaluator(name: str) -> Callable[[dict[str, Any], Any, dict[str, Any]], list[Any]]:
    original = _ORIGINAL[name]

    def evaluate(ctx: dict[str, Any], parent_data: Any, node: dict[str, Any]) -> list[Any]:
        operator = node["terminalNodeText"][0]
        decided = _DECIDED_BY_LEFT.get(operator)
        if decided is None or not ctx.get(MERGED_PRIMITIVES):
            return original(ctx, parent_data, node)
        deciding, result, function = decided
        left, right = node["children"]
        a = make_param(ctx, parent_data, _BOOLEAN_OPERAND, left)
        if a is deciding:
            return [result]
        b = make_param(ctx, parent_data, _BOOLEAN_OPERAND, right)
        return list(util.arraify(function(ctx, a, b)))

    return evaluate
