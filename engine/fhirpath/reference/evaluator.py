"""Compile a FHIRPath expression once, evaluate it on each occurrence of an element.

:func:`compile_expression` checks the syntax with the strict grammar
(:mod:`engine.fhirpath.syntax`), has fhirpathpy parse the expression once, and returns
a :class:`CompiledExpression`. Calling that evaluates on one occurrence, with the
environment the HL7 validator gives a constraint: ``%context`` is the occurrence,
``%resource`` the resource that contains it, ``%rootResource`` the root (the container
of a contained resource), and FHIR's constants ``%ucum``, ``%sct``, ``%loinc``,
``%`vs-name``` and ``%`ext-name```.

    >>> is_rule = compile_expression("seriesUid.exists() or imageRegion3D.exists()")
    >>> resource = {"resourceType": "ImagingSelection", "seriesUid": "1.2.3"}
    >>> is_rule(resource, focus_path="ImagingSelection", resource=resource,
    ...         root_resource=resource)
    [True]

Per call, only the evaluation itself runs: the invocation table (fhirpathpy's functions
plus :data:`engine.fhirpath.reference.functions.FUNCTIONS`) is built once, where
``fhirpathpy.compile`` would rebuild it, wrapping every user function, on every call.
Any error inside fhirpathpy surfaces as :class:`FhirPathEvaluationError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import lark
from fhirpathpy.engine import do_eval, util
from fhirpathpy.engine.evaluators import evaluators
from fhirpathpy.engine.invocations import invocation_registry
from fhirpathpy.engine.invocations.constants import constants
from fhirpathpy.engine.nodes import ResourceNode, TypeInfo
from fhirpathpy.parser import parse as fhirpathpy_parse

from engine.fhirpath.evaluation import EvaluationTimeout, FhirPathEvaluationError, Session
from engine.fhirpath.reference import logic, navigation
from engine.fhirpath.reference.ast_cache import default_cache
from engine.fhirpath.reference.functions import FUNCTIONS
from engine.fhirpath.syntax import parse
from engine.fhirpath.typeinfo import fhirpathpy_model
from engine.model import Definitions

__all__ = [
    "CompiledExpression",
    "ReferenceEvaluator",
    "compile_expression",
    "evaluate",
    "supported_functions",
]

UCUM = "http://unitsofmeasure.org"
_LOG = logging.getLogger("engine.fhirpath")
_URL_CONSTANTS = {
    "vs-": "http://hl7.org/fhir/ValueSet/",
    "ext-": "http://hl7.org/fhir/StructureDefinition/",
}

_FHIRPATHPY_KEYWORDS = frozenset(
    {"div", "mod", "and", "or", "xor", "implies", "true", "false"}
    | {
        unit + plural
        for unit in ("year", "month", "week", "day", "hour", "minute", "second", "millisecond")
        for plural in ("", "s")
    }
)

#: fhirpathpy keeps its evaluators in a module-level table and its type model in a class
#: attribute. The engine's replacements are put in place only while one of its own
#: evaluations runs, under this lock, and the previous entries restored after it: other
#: users of fhirpathpy in the process never see them.
_FHIRPATHPY_LOCK = threading.RLock()
_PATCHED_EVALUATORS = ("MemberInvocation", "AndExpression", "OrExpression", "ImpliesExpression")
#: Evaluators that check the session's deadline before each step: every function call
#: and every ``a.b`` step, so that one expression cannot outrun its resource's budget.
_TIMED_EVALUATORS = ("FunctionInvocation", "InvocationExpression")
_SESSION = "engine.session"

_SUPPORTED = frozenset(
    name for name in {**invocation_registry, **FUNCTIONS} if name.isidentifier()
) - {"containsOp", "inOp", "isOp", "asOp", "and", "or", "xor", "implies", "div", "mod"}


class CompiledExpression:
    """A syntax-checked FHIRPath expression, ready to evaluate on many occurrences.

    ``model`` is a fhirpathpy model (see :func:`engine.fhirpath.typeinfo.fhirpathpy_model`);
    it gives choice elements (``value[x]``) and type tests (``is``, ``ofType``) their
    meaning.
    """

    __slots__ = ("expression", "tree", "_ast", "_model", "_constants")

    def __init__(self, expression: str, model: Mapping[str, Any] | None = None) -> None:
        self.expression = expression
        #: The strict grammar's parse tree (for analysis).
        self.tree: lark.Tree = parse(expression)
        self._ast = _fhirpathpy_ast(expression, self.tree)
        self._model = model
        self._constants = _fhir_constants(self.tree)

    def __call__(
        self,
        focus: Any,
        *,
        focus_path: str,
        resource: Any,
        root_resource: Any,
        focus_extension: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        session: Session | None = None,
    ) -> list[Any]:
        """Evaluate on one occurrence; return the result collection as plain values.

        ``focus`` is the occurrence's JSON (a dict for a complex type or resource, the
        value for a primitive, ``None`` for a primitive that only has extensions);
        ``focus_path`` its type path as the model knows it (``ImagingSelection``,
        ``ImagingSelection.instance``, ``Identifier``, ``string``); ``focus_extension``
        the primitive's ``_name`` object; ``variables`` extra ``%name`` constants.
        Raises :class:`FhirPathEvaluationError` when evaluation fails, and
        :class:`EvaluationTimeout` once ``session``'s deadline has passed.
        """
        if isinstance(focus, Mapping) and "resourceType" in focus:
            # A resource at the root keeps fhirpathpy's handling of a leading type name.
            root: Any = focus
        else:
            root = ResourceNode.create_node(focus, focus_path, focus_extension)
        environment = {
            **self._constants,
            "context": root,
            "resource": resource,
            "rootResource": root_resource,
            **(variables or {}),
        }
        ctx = {
            "dataRoot": [root],
            # fhirpathpy only sets $this inside function arguments; at the top it is the focus.
            "$this": [root],
            "vars": environment,
            "model": self._model,
            "userInvocationTable": FUNCTIONS,
            navigation.MERGED_PRIMITIVES: True,
            "traceFn": _trace,
            _SESSION: session,
        }
        with _patched_fhirpathpy(self._model):
            constants.reset()
            try:
                return _plain(do_eval(ctx, [root], self._ast))
            except EvaluationTimeout:
                raise
            except RecursionError:
                raise FhirPathEvaluationError(
                    "expression too deeply nested", self.expression
                ) from None
            except Exception as error:  # fhirpathpy raises bare Exceptions of many kinds
                raise FhirPathEvaluationError(_message(error), self.expression) from error

    def __repr__(self) -> str:
        return f"CompiledExpression({self.expression!r})"


@contextmanager
def _patched_fhirpathpy(model: Mapping[str, Any] | None) -> Iterator[None]:
    with _FHIRPATHPY_LOCK:
        saved = {name: evaluators[name] for name in _PATCHED_EVALUATORS + _TIMED_EVALUATORS}
        saved_model = TypeInfo.model
        navigation.install()
        logic.install()
        for name in _TIMED_EVALUATORS:
            evaluators[name] = _TIMED[name]
        # fhirpathpy reads the model for type tests from a class attribute.
        TypeInfo.model = model  # type: ignore[assignment]
        try:
            yield
        finally:
            evaluators.update(saved)
            TypeInfo.model = saved_model


def _timed(original: Any) -> Any:
    def evaluate(ctx: dict[str, Any], parent_data: Any, node: Any) -> Any:
        session = ctx.get(_SESSION)
        if session is not None:
            session.check_time()
        return original(ctx, parent_data, node)

    return evaluate


_TIMED = {name: _timed(evaluators[name]) for name in _TIMED_EVALUATORS}


class _BoundExpression:
    """A reference-compiled expression bound to its focus type (the
    :class:`~engine.fhirpath.evaluation.CompiledExpression` protocol)."""

    __slots__ = ("expression", "_compiled", "_focus_type")

    def __init__(self, compiled: CompiledExpression, focus_type: str) -> None:
        self.expression = compiled.expression
        self._compiled = compiled
        self._focus_type = focus_type

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
        return self._compiled(
            focus,
            focus_path=self._focus_type,
            resource=resource,
            root_resource=root_resource,
            focus_extension=focus_extension,
            variables=variables,
            session=session,
        )


class ReferenceEvaluator:
    """The reference evaluator: fhirpathpy, typed by a model built from ``definitions``.

    >>> evaluator = ReferenceEvaluator(engine.bundled_definitions())
    >>> rule = evaluator.compile("value.ofType(Quantity).exists()", "Observation")
    >>> observation = {"resourceType": "Observation", "valueQuantity": {"value": 1}}
    >>> rule(observation, resource=observation, root_resource=observation)
    [True]
    """

    name = "fhirpathpy"

    def __init__(self, definitions: Definitions) -> None:
        self._model = fhirpathpy_model(definitions)
        self._compiled: dict[str, CompiledExpression] = {}

    def compile(self, expression: str, focus_type: str) -> _BoundExpression:
        compiled = self._compiled.get(expression)
        if compiled is None:
            compiled = self._compiled[expression] = CompiledExpression(expression, self._model)
        return _BoundExpression(compiled, focus_type)

    def supported_functions(self) -> frozenset[str]:
        return _SUPPORTED


def compile_expression(
    expression: str, model: Mapping[str, Any] | None = None
) -> CompiledExpression:
    """Syntax-check and compile ``expression`` once.

    Raises :class:`engine.fhirpath.syntax.FhirPathSyntaxError` when it is malformed.
    """
    return CompiledExpression(expression, model)


def supported_functions() -> frozenset[str]:
    """The names of the functions an expression may call (fhirpathpy's and ours).

    Compare with :func:`engine.fhirpath.analysis.functions_used` to tell, before
    evaluating, that a constraint needs a function this engine lacks (``resolve``…).

        >>> {"exists", "hasValue", "lowBoundary"} <= supported_functions()
        True
        >>> "resolve" in supported_functions()
        False
    """
    return _SUPPORTED


def evaluate(
    expression: str,
    resource: Mapping[str, Any],
    *,
    model: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Evaluate ``expression`` once on a whole resource (for tests and tools).

    >>> evaluate("name.given", {"resourceType": "Patient", "name": [{"given": ["Jim"]}]})
    ['Jim']
    """
    compiled = compile_expression(expression, model)
    return compiled(
        resource,
        focus_path=str(resource.get("resourceType", "")),
        resource=resource,
        root_resource=resource,
        variables=variables,
    )


def _fhir_constants(tree: lark.Tree) -> dict[str, str]:
    """The environment constants FHIR defines that the expression uses: ``%ucum``,
    ``%sct``, ``%loinc`` and the ``%`vs-name``` / ``%`ext-name``` URL shorthands."""
    constants = {"ucum": UCUM, "sct": "http://snomed.info/sct", "loinc": "http://loinc.org"}
    for token in tree.scan_values(
        lambda v: isinstance(v, lark.Token) and v.type == "EXTERNAL_CONSTANT"
    ):
        name = str(token)[1:].strip("`'")
        for prefix, base in _URL_CONSTANTS.items():
            if name.startswith(prefix):
                constants[name] = base + name[len(prefix) :]
    return constants


def _trace(label: str, collection: list[Any]) -> None:
    """``trace()`` output goes to the log, never to standard output."""
    _LOG.debug("trace %s: %r", label, _plain(collection))


def _fhirpathpy_ast(expression: str, tree: lark.Tree) -> dict[str, Any]:
    """fhirpathpy's parse of the expression (its ``entireExpression`` child)."""
    return _fhirpathpy_parse(_for_fhirpathpy(expression, tree))


@lru_cache(maxsize=4096)
def _fhirpathpy_parse(expression: str) -> dict[str, Any]:
    # fhirpathpy's ANTLR parser costs milliseconds per expression, and the same expression
    # is compiled by every validator and for every model; evaluation never changes the AST.
    cache = default_cache()
    cached = cache.get(expression)
    if isinstance(cached, dict):
        return cached
    ast: dict[str, Any] = fhirpathpy_parse(expression)["children"][0]
    cache.put(expression, ast)
    return ast


def _for_fhirpathpy(expression: str, tree: lark.Tree) -> str:
    """The expression as fhirpathpy's stricter ANTLR grammar reads it.

    Double-quoted strings (accepted, as by the HL7 Java engine) become single-quoted, and
    member names that its grammar reserves (``text.div``) are put in backticks.
    """
    edits: list[tuple[int, int, str]] = []
    for token in tree.scan_values(lambda v: isinstance(v, lark.Token) and v.type == "STRING"):
        if token.startswith('"'):
            body = token[1:-1].replace('\\"', '"').replace("'", "\\'")
            edits.append((token.start_pos or 0, len(token), f"'{body}'"))
    for member in tree.find_data("member"):
        name = member.children[0].children[0]
        if (
            isinstance(name, lark.Token)
            and name.type == "IDENTIFIER"
            and name in _FHIRPATHPY_KEYWORDS
        ):
            edits.append((name.start_pos or 0, len(name), f"`{name}`"))
    for start, length, text in sorted(edits, reverse=True):
        expression = expression[:start] + text + expression[start + length :]
    return expression


def _plain(collection: list[Any]) -> list[Any]:
    """Node data as plain values; value-less primitives (only extensions) are dropped."""
    return [data for data in map(util.get_data, collection) if data is not None]


def _message(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
