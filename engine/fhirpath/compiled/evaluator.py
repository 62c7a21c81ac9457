"""The compiled evaluator: FHIRPath expressions as Python closures over plain JSON.

:class:`CompiledEvaluator` implements :class:`engine.fhirpath.evaluation.Evaluator`. It
compiles an expression once per focus type (:mod:`engine.fhirpath.compiled.compiler`)
and evaluates it with no per-call set-up beyond the environment object. An expression
the compiler cannot handle is evaluated by the reference evaluator instead, whole; each
such fallback is recorded in :attr:`CompiledEvaluator.fallbacks`.

    >>> evaluator = CompiledEvaluator(engine.bundled_definitions())
    >>> rule = evaluator.compile("instance.exists() implies seriesUid.exists()",
    ...                          "ImagingSelection")
    >>> selection = {"resourceType": "ImagingSelection", "instance": [{"uid": "1.2"}]}
    >>> rule(selection, resource=selection, root_resource=selection)
    [False]
    >>> evaluator.fallbacks
    []
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import lark

from engine.fhirpath.compiled.compiler import Compiler
from engine.fhirpath.compiled.core import NO_ENVIRONMENT, Compiled, Env, SemanticError, Unsupported
from engine.fhirpath.compiled.functions import supported
from engine.fhirpath.compiled.operators import FhirPathError
from engine.fhirpath.compiled.types import TypeModel
from engine.fhirpath.compiled.values import Node, plain
from engine.fhirpath.evaluation import (
    CompiledExpression,
    FhirPathEvaluationError,
    Session,
    passes,
)
from engine.fhirpath.syntax import parse
from engine.fhirpath.typeinfo import fhirpathpy_model
from engine.model import Definitions

__all__ = ["CompiledEvaluator", "Fallback"]

_SYSTEM_URL = "http://hl7.org/fhirpath/System."


@dataclass(frozen=True)
class Fallback:
    """An expression evaluated by the reference evaluator, and why."""

    expression: str
    focus_type: str
    reason: str


def _expression(
    expression: str, focus_type: str | None, compiled: Compiled, needs_env: bool
) -> CompiledExpression:
    """One expression compiled for one focus type: a function (the
    :class:`~engine.fhirpath.evaluation.CompiledExpression` protocol), with the attributes
    ``expression``, ``focus_type`` and ``compiled`` (its static type and flags).

    A function, not an object with ``__call__``, and no environment object built when
    the expression reads nothing from it (no ``%`` variable, no iteration): ele-1 runs
    on every element occurrence, where this set-up is most of the cost.
    """
    fn = compiled.fn
    shared = None if needs_env else NO_ENVIRONMENT

    def evaluate(
        focus: Any,
        *,
        resource: Any,
        root_resource: Any,
        focus_extension: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        session: Session | None = None,
    ) -> list[Any]:
        if focus_extension is not None or focus is None:
            this = [Node(focus, focus_type, focus_extension)]
        else:
            this = [focus]
        env = shared or Env(this, resource, root_resource, variables, session)
        try:
            result = fn(this, env)
            if len(result) == 1 and (result[0] is True or result[0] is False):
                return [result[0]]
            return plain(result)
        except FhirPathEvaluationError:
            raise
        except (FhirPathError, RecursionError) as error:
            raise _evaluation_error(error, expression) from None
        except Exception as error:  # noqa: BLE001 - any failure is this expression's error
            raise _evaluation_error(error, expression) from error

    def verdict(
        focus: Any,
        focus_extension: Mapping[str, Any] | None,
        resource: Any,
        root_resource: Any,
        session: Session | None,
    ) -> bool:
        # evaluate()'s work, without the result collection the validator does not need.
        if focus_extension is not None or focus is None:
            this = [Node(focus, focus_type, focus_extension)]
        else:
            this = [focus]
        env = shared or Env(this, resource, root_resource, None, session)
        try:
            result = fn(this, env)
            if len(result) == 1:
                only = result[0]
                if only is True or only is False:
                    return only
            return passes(plain(result))
        except FhirPathEvaluationError:
            raise
        except (FhirPathError, RecursionError) as error:
            raise _evaluation_error(error, expression) from None
        except Exception as error:  # noqa: BLE001 - any failure is this expression's error
            raise _evaluation_error(error, expression) from error

    attributes: Any = evaluate
    attributes.expression = expression
    attributes.focus_type = focus_type
    attributes.compiled = compiled
    attributes.verdict = verdict
    return cast(CompiledExpression, evaluate)


def _evaluation_error(error: Exception, expression: str) -> FhirPathEvaluationError:
    """What evaluating ``expression`` raises when ``error`` happened inside it."""
    if isinstance(error, FhirPathError):
        return FhirPathEvaluationError(str(error), expression)
    if isinstance(error, RecursionError):
        return FhirPathEvaluationError("expression too deeply nested", expression)
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return FhirPathEvaluationError(message or type(error).__name__, expression)


#: Functions that read or change the environment (``$index``, ``$total``, variables,
#: the clock, the session's time budget).
_ENVIRONMENT_FUNCTIONS = frozenset(
    {"all", "where", "select", "repeat", "aggregate", "descendants", "defineVariable"}
    | {"now", "today", "timeOfDay", "sort", "iif", "coalesce", "trace"}
)


def _needs_environment(tree: lark.Tree, compiler: Compiler) -> bool:
    if compiler.memoized:
        return True
    for node in tree.iter_subtrees():
        if node.data in ("external_constant", "index", "total"):
            return True
        if node.data == "function":
            name = _function_name(node)
            if name in _ENVIRONMENT_FUNCTIONS or (name == "exists" and len(node.children) > 1):
                return True
    return False


def _function_name(node: lark.Tree) -> str:
    identifier = node.children[0]
    token = identifier.children[0] if isinstance(identifier, lark.Tree) else identifier
    return str(token).strip("`")


class _Raising:
    """An expression that cannot be compiled at all (too deeply nested): every
    evaluation reports it."""

    __slots__ = ("expression", "message")

    def __init__(self, expression: str, message: str) -> None:
        self.expression = expression
        self.message = message

    def __call__(self, focus: Any, **kwargs: Any) -> list[Any]:
        raise FhirPathEvaluationError(self.message, self.expression)


class CompiledEvaluator:
    """Evaluates FHIRPath with closures compiled from the strict parse tree.

    ``definitions`` types the expressions (member names, choice elements, the type
    hierarchy); a fhirpathpy-format ``model`` (``fhirpathpy.models.models["r5"]``) may
    be given instead, as the official test suites use. ``strict`` checks expressions
    against the model as the suite's strict mode expects (an element the focus type does
    not have, a choice element read by a typed name, ``first()`` after ``children()``, a
    non-boolean ``iif()`` criterion): such an expression then fails every evaluation.
    The validator does not use it (the reference evaluator does not check; the loader
    reports unknown elements). Safe to share between threads.
    """

    name = "compiled"

    def __init__(
        self,
        definitions: Definitions | None = None,
        *,
        model: Mapping[str, Any] | None = None,
        strict: bool = False,
    ) -> None:
        if model is None:
            if definitions is None:
                raise ValueError("CompiledEvaluator needs definitions or a model")
            model = fhirpathpy_model(definitions)
        self._definitions = definitions
        self._tables = model
        self.strict = strict
        self.model = TypeModel(model, definitions)
        self._lock = threading.Lock()
        self._compiled: dict[tuple[str, str | None], Any] = {}
        self._reference: Any = None
        #: Expressions evaluated by the reference evaluator, and why (aim: none).
        self.fallbacks: list[Fallback] = []

    def compile(self, expression: str, focus_type: str) -> CompiledExpression:
        focus = _focus_type(focus_type)
        key = (expression, focus)
        found = self._compiled.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        tree = parse(expression)
        with self._lock:
            found = self._compiled.get(key)
            if found is None:
                found = self._compiled[key] = self._compile(expression, tree, focus, focus_type)
        return found  # type: ignore[no-any-return]

    def _compile(
        self, expression: str, tree: lark.Tree, focus: str | None, focus_type: str
    ) -> CompiledExpression:
        compiler = Compiler(self.model, strict=self.strict)
        try:
            compiled = compiler.compile(tree, focus)
        except SemanticError as error:
            return _Raising(expression, str(error))
        except Unsupported as reason:
            self.fallbacks.append(Fallback(expression, focus_type, str(reason)))
            return self._reference_evaluator().compile(expression, focus_type)  # type: ignore[no-any-return]
        except RecursionError:
            return _Raising(expression, "expression too deeply nested")
        return _expression(expression, focus, compiled, _needs_environment(tree, compiler))

    def compile_tree(self, tree: lark.Tree, this_type: str | None) -> Compiled:
        """Compile one sub-expression of a parse tree, evaluated with ``$this`` of
        ``this_type`` (for explanations). Raises
        :class:`~engine.fhirpath.compiled.compiler.Unsupported`."""
        return Compiler(self.model, memoize=False).compile(tree, this_type)

    def supported_functions(self) -> frozenset[str]:
        return supported()

    def _reference_evaluator(self) -> Any:
        if self._reference is None:
            from engine.fhirpath.reference.evaluator import (
                CompiledExpression as ReferenceExpression,
            )
            from engine.fhirpath.reference.evaluator import ReferenceEvaluator

            if self._definitions is not None:
                self._reference = ReferenceEvaluator(self._definitions)
            else:
                self._reference = _ModelReference(self._tables, ReferenceExpression)
        return self._reference


class _ModelReference:
    """The reference evaluator over a fhirpathpy-format model (no definitions)."""

    def __init__(self, model: Mapping[str, Any], expression_class: Any) -> None:
        self._model = model
        self._expression_class = expression_class

    def compile(self, expression: str, focus_type: str) -> Any:
        from engine.fhirpath.reference.evaluator import _BoundExpression

        return _BoundExpression(self._expression_class(expression, self._model), focus_type)


def _focus_type(focus_type: str) -> str | None:
    if focus_type.startswith(_SYSTEM_URL):
        return "System." + focus_type[len(_SYSTEM_URL) :]
    return focus_type or None
