"""What every FHIRPath evaluator of the engine offers: compile an expression once for a
focus type, then evaluate it on many occurrences.

Two evaluators implement it (:mod:`engine.fhirpath.evaluators` chooses): the compiled
one, which turns the strict parse tree into Python closures, and the reference one,
fhirpathpy with the functions FHIR needs. Both take the same arguments, raise the same
:class:`FhirPathEvaluationError` and return the result collection as plain values, so
the validator, the tests and the tools can switch between them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "CompiledExpression",
    "Evaluator",
    "EvaluationTimeout",
    "FhirPathEvaluationError",
    "Session",
    "Verdict",
    "passes",
    "verdict_function",
]


class FhirPathEvaluationError(Exception):
    """Evaluating an expression failed; the message is the underlying error's text."""

    def __init__(self, message: str, expression: str) -> None:
        self.message = message
        self.expression = expression
        super().__init__(message)


class EvaluationTimeout(FhirPathEvaluationError):
    """The evaluation ran past the session's deadline (its resource's time budget)."""


@dataclass
class Session:
    """State shared by every evaluation on one resource.

    ``memo`` lets an evaluator compute a sub-expression that depends on the resource
    alone (``%resource.descendants()``) once per resource instead of once per
    occurrence; ``deadline`` (a :func:`time.monotonic` value) bounds the time spent.
    A session belongs to one resource and one thread.
    """

    memo: dict[Any, Any] = field(default_factory=dict)
    deadline: float | None = None
    #: Asked once the deadline has passed: a later deadline, or ``None`` (time is up).
    extend: Callable[[], float | None] | None = None

    def check_time(self, expression: str = "") -> None:
        """Raise :class:`EvaluationTimeout` once the deadline has passed."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            later = self.extend() if self.extend is not None else None
            if later is None or time.monotonic() > later:
                raise EvaluationTimeout("the time budget for this resource ran out", expression)
            self.deadline = later


class CompiledExpression(Protocol):
    """An expression compiled for one focus type, ready to evaluate on its occurrences."""

    expression: str

    def __call__(
        self,
        focus: Any,
        *,
        resource: Any,
        root_resource: Any,
        focus_extension: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        session: Session | None = None,
    ) -> list[Any]:
        """Evaluate on one occurrence and return the result collection as plain values.

        ``focus`` is the occurrence's JSON (a dict for a complex type or a resource, the
        value of a primitive, ``None`` for a primitive that has only extensions);
        ``focus_extension`` a primitive's ``_name`` object; ``resource`` and
        ``root_resource`` are ``%resource`` and ``%rootResource``; ``variables`` extra
        ``%name`` constants. Raises :class:`FhirPathEvaluationError` when evaluation fails.
        """
        ...


#: Whether a compiled expression passes on one occurrence (:func:`passes` of its result):
#: ``(focus, focus_extension, resource, root_resource, session)`` → bool. Raises
#: :class:`FhirPathEvaluationError` as the expression does.
Verdict = Callable[[Any, "Mapping[str, Any] | None", Any, Any, "Session | None"], bool]


def verdict_function(expression: CompiledExpression) -> Verdict:
    """The verdict of ``expression`` on an occurrence, as a function: the expression's
    own ``verdict`` attribute when it has one (the compiled evaluator's skips building
    the result collection), else :func:`passes` of its result.

        >>> from engine.fhirpath.evaluators import make_evaluator
        >>> rule = make_evaluator("compiled", engine.bundled_definitions()).compile(
        ...     "instance.exists() implies seriesUid.exists()", "ImagingSelection")
        >>> selection = {"resourceType": "ImagingSelection", "instance": [{"uid": "1.2"}]}
        >>> verdict_function(rule)(selection, None, selection, selection, None)
        False
    """
    own: Verdict | None = getattr(expression, "verdict", None)
    if own is not None:
        return own

    def verdict(
        focus: Any,
        focus_extension: Mapping[str, Any] | None,
        resource: Any,
        root_resource: Any,
        session: Session | None,
    ) -> bool:
        return passes(
            expression(
                focus,
                resource=resource,
                root_resource=root_resource,
                focus_extension=focus_extension,
                session=session,
            )
        )

    return verdict


class Evaluator(Protocol):
    """Compiles expressions; built once per set of definitions."""

    #: The name users select it by (``compiled``, ``fhirpathpy``).
    name: str

    def compile(self, expression: str, focus_type: str) -> CompiledExpression:
        """Compile ``expression`` for occurrences of ``focus_type``: a type name
        (``Identifier``, ``string``, ``ImagingSelection``) or the path of a backbone element
        (``ImagingSelection.instance``). Raises
        :class:`engine.fhirpath.syntax.FhirPathSyntaxError` when it is malformed."""
        ...

    def supported_functions(self) -> frozenset[str]:
        """The names of the functions expressions may call."""
        ...


def passes(result: list[Any]) -> bool:
    """The HL7 validator's reading of a constraint's result: a single boolean is the
    verdict, an empty result fails, any other non-empty result passes.

        >>> passes([True]), passes([False]), passes([]), passes(["x", "y"])
        (True, False, False, True)
    """
    if len(result) == 1 and isinstance(result[0], bool):
        return result[0]
    return len(result) > 0
