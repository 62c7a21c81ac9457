"""Why a constraint failed: its sub-expressions evaluated on the occurrence, down to the
part that decided the verdict.

:func:`explain` re-evaluates a failed constraint piece by piece with the compiled
evaluator (normal evaluation is untouched: only failures pay for this) and returns an
:class:`Explanation`: the steps that decided the result, each a sub-expression with the
values it found, following the logic of the expression:

- ``A implies B`` false: ``A`` (true), then why ``B`` is not true;
- ``and``: the operands that are not true; ``or``, ``xor``: both operands;
- ``X.not()``: ``X``, then the ``not()`` itself;
- comparisons and arithmetic: the operands' values (paths and function calls), then the
  comparison with those values written in (``5 mod 2 = 0``);
- ``X.all(criteria)`` false: the first item of ``X`` the criteria fail on, explained;
- any other function call: its input, then the call.

    >>> evaluator = CompiledEvaluator(engine.bundled_definitions())
    >>> selection = {"resourceType": "ImagingSelection", "status": "available",
    ...              "instance": [{"uid": "1", "imageRegion2D": [
    ...                  {"regionType": "point", "coordinate": [1, 2, 3, 4, 5]}]}]}
    >>> explanation = explain(
    ...     evaluator,
    ...     "instance.imageRegion2D.coordinate.exists() implies "
    ...     "instance.imageRegion2D.coordinate.count() mod 2 = 0",
    ...     "ImagingSelection", selection, resource=selection, root_resource=selection)
    >>> print(explanation.text())
      instance.imageRegion2D.coordinate.exists() = true
      instance.imageRegion2D.coordinate.count()  = 5
      5 mod 2 = 0                                = false
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import lark

from engine.fhirpath.compiled.binary import truth
from engine.fhirpath.compiled.core import Env, Unsupported
from engine.fhirpath.compiled.evaluator import CompiledEvaluator
from engine.fhirpath.compiled.operators import FhirPathError
from engine.fhirpath.compiled.temporal import Temporal
from engine.fhirpath.compiled.values import Node, Quantity, plain
from engine.fhirpath.evaluation import FhirPathEvaluationError
from engine.fhirpath.syntax import parse

__all__ = ["Explanation", "ExplanationStep", "explain", "render", "render_values"]

_LOGIC = frozenset({"and", "or", "xor", "implies"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "div", "mod", "&"})
_COMPARISON = frozenset({"=", "!=", "~", "!~", "<", ">", "<=", ">=", "in", "contains", "|"})
_LITERALS = frozenset(
    {"null", "boolean", "string", "number", "long_number", "datetime", "time", "quantity"}
)
#: Binding strength of each operator, loosest first (the grammar's levels).
_PRECEDENCE = {
    "implies": 1,
    "or": 2,
    "xor": 2,
    "and": 3,
    "in": 4,
    "contains": 4,
    "=": 5,
    "!=": 5,
    "~": 5,
    "!~": 5,
    "<": 6,
    ">": 6,
    "<=": 6,
    ">=": 6,
    "|": 7,
    "is": 8,
    "as": 8,
    "+": 9,
    "-": 9,
    "&": 9,
    "*": 10,
    "/": 10,
    "div": 10,
    "mod": 10,
}
_POSTFIX = 12
_MAX_ITEMS_SHOWN = 5
_MAX_JSON = 60
_ALIGN_UP_TO = 60


@dataclass(frozen=True)
class ExplanationStep:
    """One sub-expression and the values it evaluated to on the occurrence.

    ``expression`` is the sub-expression's text (for comparisons, with the operands'
    values written in); ``result`` its result collection as plain values, ``None`` when
    it could not be evaluated (``error`` says why); ``depth`` the nesting level (the
    items of ``all()`` explained one level deeper)."""

    expression: str
    result: tuple[Any, ...] | None
    depth: int = 0
    error: str | None = None

    @property
    def shown_result(self) -> str:
        """The result as FHIRPath writes values (``true``, ``5``, ``'x'``, ``{}``)."""
        if self.result is None:
            return f"(error: {self.error})"
        return render_values(list(self.result))


@dataclass(frozen=True)
class Explanation:
    """Why an expression evaluated as it did on one occurrence."""

    expression: str
    result: tuple[Any, ...] | None
    steps: tuple[ExplanationStep, ...]

    def text(self, indent: str = "  ") -> str:
        """One line per step, the results aligned (see the module docstring)."""
        labels = [indent * (step.depth + 1) + step.expression for step in self.steps]
        # Long sub-expressions are not padded to: they would push every result far right.
        width = max((len(label) for label in labels if len(label) <= _ALIGN_UP_TO), default=0)
        return "\n".join(
            f"{label.ljust(width)} = {step.shown_result}"
            for label, step in zip(labels, self.steps, strict=True)
        )

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON-ready data."""
        return {
            "expression": self.expression,
            "steps": [
                {
                    "expression": step.expression,
                    "result": step.shown_result,
                    "depth": step.depth,
                }
                for step in self.steps
            ],
        }


def explain(
    evaluator: CompiledEvaluator,
    expression: str,
    focus_type: str,
    focus: Any,
    *,
    resource: Any,
    root_resource: Any,
    focus_extension: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Explanation:
    """Explain the evaluation of ``expression`` on one occurrence of ``focus_type``
    (arguments as for a compiled expression). Raises
    :class:`~engine.fhirpath.syntax.FhirPathSyntaxError` for a malformed expression."""
    tree = parse(expression)
    item = focus if focus_extension is None and focus is not None else None
    if item is None:
        item = Node(focus, focus_type, focus_extension)
    this = [item]
    env = Env(this, resource, root_resource, variables)
    explainer = _Explainer(evaluator, env)
    focus_static = focus_type or None
    result = explainer.evaluate(tree, this, focus_static)
    try:
        explainer.explain(tree, this, focus_static, 0)
    except RecursionError:
        error = "expression too deeply nested to explain"
        explainer.steps = [ExplanationStep(expression, None, 0, error)]
    return Explanation(
        expression, None if result.error else tuple(result.values), tuple(explainer.steps)
    )


@dataclass
class _Evaluated:
    values: list[Any]
    items: list[Any]
    type: str | None
    error: str | None = None


class _Explainer:
    def __init__(self, evaluator: CompiledEvaluator, env: Env) -> None:
        self.evaluator = evaluator
        self.env = env
        self.steps: list[ExplanationStep] = []

    def evaluate(self, node: lark.Tree, this: list[Any], this_type: str | None) -> _Evaluated:
        try:
            compiled = self.evaluator.compile_tree(node, this_type)
            items = compiled.fn(this, self.env)
        except (FhirPathError, FhirPathEvaluationError, Unsupported) as error:
            return _Evaluated([], [], None, str(error))
        except RecursionError:
            return _Evaluated([], [], None, "expression too deeply nested")
        return _Evaluated(plain(items), items, compiled.type)

    def line(self, text: str, result: _Evaluated, depth: int) -> None:
        values = None if result.error else tuple(result.values)
        self.steps.append(ExplanationStep(text, values, depth, result.error))

    def explain(self, node: lark.Tree, this: list[Any], this_type: str | None, depth: int) -> None:
        """Add the steps that explain ``node``'s value."""
        kind = node.data
        if kind == "binary":
            operator = str(node.children[1])
            if operator in _LOGIC:
                self._logic(node, operator, this, this_type, depth)
                return
            if operator in _ARITHMETIC or operator in _COMPARISON:
                self._comparison(node, this, this_type, depth)
                return
        if kind == "invoke" and node.children[1].data == "function":
            self._call(node, this, this_type, depth)
            return
        self.line(render(node), self.evaluate(node, this, this_type), depth)

    def _logic(
        self,
        node: lark.Tree,
        operator: str,
        this: list[Any],
        this_type: str | None,
        depth: int,
    ) -> None:
        left, _, right = node.children
        left_value = _truth(self.evaluate(left, this, this_type))
        if operator == "implies":
            # A false premise decides alone; otherwise the conclusion decides.
            self.explain(left, this, this_type, depth)
            if left_value is not False:
                self.explain(right, this, this_type, depth)
            return
        if operator == "and":
            right_value = _truth(self.evaluate(right, this, this_type))
            deciding = [
                side
                for side, value in ((left, left_value), (right, right_value))
                if value is not True
            ]
            for side in deciding or [left, right]:
                self.explain(side, this, this_type, depth)
            return
        # or, xor: every operand counts.
        self.explain(left, this, this_type, depth)
        self.explain(right, this, this_type, depth)

    def _comparison(
        self, node: lark.Tree, this: list[Any], this_type: str | None, depth: int
    ) -> None:
        substitutions: dict[int, str] = {}
        self._operands(node, this, this_type, depth, substitutions)
        text = render(node, substitutions)
        self.line(text, self.evaluate(node, this, this_type), depth)

    def _operands(
        self,
        node: lark.Tree,
        this: list[Any],
        this_type: str | None,
        depth: int,
        substitutions: dict[int, str],
    ) -> None:
        """Steps for the operands of a comparison or arithmetic, recursively through
        arithmetic; each operand's value replaces it in the final line."""
        for child in (node.children[0], node.children[2]):
            if not isinstance(child, lark.Tree) or child.data in _LITERALS:
                continue
            if child.data == "binary" and str(child.children[1]) in _ARITHMETIC:
                self._operands(child, this, this_type, depth, substitutions)
                continue
            evaluated = self.evaluate(child, this, this_type)
            self.explain(child, this, this_type, depth)
            if evaluated.error is None:
                substitutions[id(child)] = render_values(evaluated.values)

    def _call(self, node: lark.Tree, this: list[Any], this_type: str | None, depth: int) -> None:
        target, function = node.children
        name = _function_name(function)
        evaluated = self.evaluate(node, this, this_type)
        if name == "not":
            self.explain(target, this, this_type, depth)
            self.line(render(node), evaluated, depth)
            return
        source = self.evaluate(target, this, this_type)
        if name in ("exists", "empty", "count", "hasValue") and not _arguments(function):
            # The call is what matters: its input is the same path, shown by its value.
            self.line(render(node), evaluated, depth)
            return
        self.line(render(target), source, depth)
        self.line(render(node), evaluated, depth)
        if name == "all" and _truth(evaluated) is False and source.error is None:
            self._first_failing(function, target, source, depth)

    def _first_failing(
        self, function: lark.Tree, target: lark.Tree, source: _Evaluated, depth: int
    ) -> None:
        criteria = _arguments(function)[0]
        for index, item in enumerate(source.items):
            evaluated = self.evaluate(criteria, [item], source.type)
            if _truth(evaluated) is not True:
                self.steps.append(
                    ExplanationStep(
                        f"{render(target)}[{index}]: {render(criteria)}",
                        None if evaluated.error else tuple(evaluated.values),
                        depth,
                        evaluated.error,
                    )
                )
                self.explain(criteria, [item], source.type, depth + 1)
                return


def _truth(evaluated: _Evaluated) -> bool | None:
    if evaluated.error is not None:
        return None
    try:
        return truth(evaluated.items)
    except FhirPathError:
        return None


# -- rendering ------------------------------------------------------------------------------


def render(node: lark.Tree | lark.Token, substitutions: Mapping[int, str] | None = None) -> str:
    """A sub-expression as FHIRPath text, with single spaces around operators and the
    parentheses its structure needs; ``substitutions`` replaces sub-trees (by ``id``)
    with other text (their values).

        >>> render(parse("a.where(b=1)  and   (c or d)"))
        'a.where(b = 1) and (c or d)'
    """
    subs = substitutions or {}
    if id(node) in subs:
        return subs[id(node)]
    if isinstance(node, lark.Token):
        return str(node)
    kind = node.data
    children = node.children
    if kind == "binary":
        left, operator, right = children
        level = _PRECEDENCE[str(operator)]
        return (
            f"{_wrapped(left, level, subs, right_side=False)} {operator} "
            f"{_wrapped(right, level, subs, right_side=True)}"
        )
    if kind == "type_expression":
        operand, operator, specifier = children
        level = _PRECEDENCE[str(operator)]
        return f"{_wrapped(operand, level, subs, right_side=False)} {operator} {render(specifier)}"
    if kind == "polarity":
        return f"{children[0]}{_wrapped(children[1], 11, subs, right_side=True)}"
    if kind == "invoke":
        target, invocation = children
        return f"{_wrapped(target, _POSTFIX, subs, right_side=False)}.{render(invocation, subs)}"
    if kind == "indexer":
        target, index = children
        return f"{_wrapped(target, _POSTFIX, subs, right_side=False)}[{render(index, subs)}]"
    if kind == "function":
        arguments = ", ".join(render(argument, subs) for argument in _arguments(node))
        return f"{render(children[0])}({arguments})"
    if kind in ("member", "identifier"):
        return render(children[0])
    if kind == "type_specifier":
        return ".".join(render(child) for child in children)
    if kind == "this":
        return "$this"
    if kind == "index":
        return "$index"
    if kind == "total":
        return "$total"
    if kind == "null":
        return "{}"
    if kind == "quantity":
        return f"{children[0]} {children[1]}"
    return " ".join(render(child, subs) for child in children)


def _wrapped(
    node: lark.Tree | lark.Token, level: int, subs: Mapping[int, str], *, right_side: bool
) -> str:
    text = render(node, subs)
    if id(node) in subs or not isinstance(node, lark.Tree):
        return text
    own = _level(node)
    if own < level or (right_side and own == level and level < _POSTFIX):
        return f"({text})"
    return text


def _level(node: lark.Tree) -> int:
    if node.data in ("binary", "type_expression"):
        return _PRECEDENCE[str(node.children[1])]
    if node.data == "polarity":
        return 11
    return _POSTFIX + 1 if node.data not in ("invoke", "indexer") else _POSTFIX


def render_values(values: list[Any]) -> str:
    """A result collection as FHIRPath writes values: ``{}`` when empty, one value as a
    literal (``true``, ``5``, ``'x'``, ``@2020-01-01``, ``5 'mg'``), several in
    parentheses separated by ``|`` (at most five shown).

        >>> render_values([]), render_values([True]), render_values(["a", Decimal("1.5")])
        ('{}', 'true', "('a' | 1.5)")
    """
    if not values:
        return "{}"
    shown = [_value(value) for value in values[:_MAX_ITEMS_SHOWN]]
    if len(values) > _MAX_ITEMS_SHOWN:
        shown.append(f"… {len(values) - _MAX_ITEMS_SHOWN} more")
    return shown[0] if len(values) == 1 else f"({' | '.join(shown)})"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, Temporal):
        return ("@T" if value.kind == "Time" else "@") + value.text
    if isinstance(value, Quantity):
        return str(value)
    text = json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= _MAX_JSON else text[: _MAX_JSON - 1] + "…"


def _function_name(node: lark.Tree) -> str:
    return render(node.children[0]).strip("`")


def _arguments(node: lark.Tree) -> list[lark.Tree]:
    params = node.children[1] if len(node.children) > 1 else None
    if not isinstance(params, lark.Tree):
        return []
    return [child for child in params.children if isinstance(child, lark.Tree)]
