"""Compile the strict parse tree (:mod:`engine.fhirpath.syntax`) into Python closures.

Every sub-expression becomes a :class:`Compiled`: a closure ``fn(this, env)`` from the
``$this`` collection and the evaluation's :class:`Env` to the result collection, with
what the compiler knows about it: the static type of its items (``None``: they carry
their own), and what it depends on. An invocation applied to a collection
(``.member``, ``.where(…)``) becomes an :class:`Invocation`, ``fn(items, this, env)``.

The compiler types as it goes, from the focus type: member names, choice elements and
content references are resolved once, here, and the closures only read JSON. A
sub-expression that depends on nothing but ``%resource``, ``%rootResource`` and constants
and that loops over collections (dom-3's ``%resource.descendants().reference``) is
computed once per resource: its result is kept in the session's ``memo``.

    >>> from engine.fhirpath.compiled.types import TypeModel
    >>> from engine.fhirpath.typeinfo import fhirpathpy_model
    >>> from engine.fhirpath.syntax import parse
    >>> compiler = Compiler(TypeModel(fhirpathpy_model(defs), defs))
    >>> rule = compiler.compile(parse("instance.uid.count() > 1"), "ImagingSelection")
    >>> rule.type
    'System.Boolean'
    >>> selection = {"resourceType": "ImagingSelection", "instance": [{"uid": "1"}, {"uid": "2"}]}
    >>> rule.fn([selection], Env([selection], selection, selection))
    [True]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import lark

from engine.fhirpath import tree as syntax_tree
from engine.fhirpath.compiled import operators
from engine.fhirpath.compiled.binary import BINARY, EMPTY, FALSE, TRUE, truth
from engine.fhirpath.compiled.core import (
    NO_ENVIRONMENT,
    Compiled,
    Env,
    Fn,
    Invocation,
    Items,
    SemanticError,
    Step,
    Unsupported,
)
from engine.fhirpath.compiled.functions import FUNCTIONS, Call, type_test
from engine.fhirpath.compiled.navigation import (
    count_children,
    dynamic_member,
    static_member,
    system_member,
    type_of,
)
from engine.fhirpath.compiled.operators import FhirPathError
from engine.fhirpath.compiled.temporal import parse_temporal
from engine.fhirpath.compiled.types import TypeModel, is_primitive
from engine.fhirpath.compiled.values import CALENDAR_WORDS, Long, Node, Quantity
from engine.fhirpath.tree import type_specifier, unescape

__all__ = [
    "Compiled",
    "Compiler",
    "Env",
    "Invocation",
    "Unsupported",
]

UCUM = "http://unitsofmeasure.org"
_CONSTANTS = {"ucum": UCUM, "sct": "http://snomed.info/sct", "loinc": "http://loinc.org"}
_URL_CONSTANTS = {
    "vs-": "http://hl7.org/fhir/ValueSet/",
    "ext-": "http://hl7.org/fhir/StructureDefinition/",
}
#: Environment variables that stay the same for every occurrence of one resource.
_RESOURCE_VARIABLES = frozenset({"resource", "rootResource"})


class Compiler:
    """Compiles parse trees for one type model. Holds no per-evaluation state; one
    compiler serves every expression of an evaluator (compile calls are serialised by
    the caller or independent: the scope of ``defineVariable`` lives on the instance
    only during one :meth:`compile`)."""

    def __init__(self, model: TypeModel, *, memoize: bool = True, strict: bool = False) -> None:
        self.model = model
        self.memoize = memoize
        #: Check the expression against the model, as the official suite's strict mode
        #: expects of an engine: raise :class:`SemanticError` for what cannot be right.
        self.strict = strict
        #: How many sub-expressions keep their results in the memo (``env.memo``).
        self.memoized = 0
        self._focus_type: str | None = None
        #: One memo token per distinct memoized sub-expression (parse trees compare by
        #: structure).
        self._memo_tokens: dict[lark.Tree, object] = {}
        self._functions = FUNCTIONS
        self._scope: dict[str, int] = {}
        self._next_slot = 0
        self._handlers: dict[str, Callable[[lark.Tree, str | None], Compiled]] = {
            "binary": self._binary,
            "type_expression": self._type_expression,
            "polarity": self._polarity,
            "invoke": self._invoke,
            "indexer": self._indexer,
            "member": self._term_invocation,
            "function": self._term_invocation,
            "this": self._term_invocation,
            "index": self._term_invocation,
            "total": self._term_invocation,
            "external_constant": self._external_constant,
            "null": self._null,
            "boolean": self._boolean_literal,
            "string": self._string_literal,
            "number": self._number_literal,
            "long_number": self._long_literal,
            "datetime": self._datetime_literal,
            "time": self._time_literal,
            "quantity": self._quantity_literal,
        }

    # -- entry points

    def compile(self, tree: lark.Tree, focus_type: str | None) -> Compiled:
        """Compile a whole expression for occurrences of ``focus_type``."""
        self._scope = {}
        self._focus_type = focus_type
        return self.expression(tree, focus_type)

    def expression(self, node: lark.Tree, this_type: str | None) -> Compiled:
        """Compile a sub-expression evaluated with ``$this`` of type ``this_type``."""
        handler = self._handlers.get(str(node.data))
        if handler is None:
            raise Unsupported(f"'{node.data}' expressions")
        compiled = handler(node, this_type)
        if self.memoize and compiled.costly and not (compiled.uses_this or compiled.uses_context):
            # Equal sub-expressions share one memo entry, within an expression and across
            # expressions (dom-3 reads %resource.descendants() four times).
            token = self._memo_tokens.setdefault(node, object())
            compiled.fn = _memoized(compiled.fn, token)
            compiled.steps = None
            self.memoized += 1
        return compiled

    def invocation(self, node: lark.Tree, in_type: str | None, this_type: str | None) -> Invocation:
        """Compile an invocation applied to items of type ``in_type``."""
        kind = node.data
        if kind == "member":
            return self.member(syntax_tree.name(node), in_type)
        if kind == "function":
            name = syntax_tree.name(node)
            builder = self._functions.get(name)
            arguments = syntax_tree.arguments(node)
            if builder is None:
                return _raising(f"unknown function '{name}'")
            return builder(Call(self, name, arguments, in_type, this_type))
        if kind == "this":
            return Invocation(lambda items, this, env: this, this_type, uses_this=True)
        if kind == "index":
            return Invocation(
                lambda items, this, env: _index(env), "System.Integer", uses_this=True
            )
        if kind == "total":
            return Invocation(lambda items, this, env: _total(env), None, uses_this=True)
        raise Unsupported(f"'{kind}' invocations")

    # -- members

    def member(self, name: str, in_type: str | None) -> Invocation:
        navigate, out_type = self.navigation(name, in_type)
        return Invocation(lambda items, this, env: navigate(items), out_type, step=navigate)

    def navigation(
        self, name: str, in_type: str | None
    ) -> tuple[Callable[[Items], Items], str | None]:
        """Member access on items of ``in_type``: the closure and the type it yields."""
        model = self.model
        if name[:1].isupper():
            if in_type == name:
                return _identity, in_type
            if in_type is None or model.is_abstract_resource(in_type):
                return _type_name_or_member(model, name), None
        if in_type is None:
            return dynamic_member(model, name), None
        if in_type.startswith("System."):
            if in_type == "System.Quantity" and name in ("value", "unit"):
                out = "System.Decimal" if name == "value" else "System.String"
                return system_member(name, out), out
            return _empty_items, None
        if model.is_abstract_resource(in_type) and not model.is_declared(in_type, name):
            return dynamic_member(model, name), None
        if self.strict:
            self._check_member(name, in_type)
        member = model.member(in_type, name)
        navigate = static_member(member)
        if member.type is not None and _resource_valued(model, member.type):
            # Resources (contained, Bundle.entry.resource) are typed by resourceType.
            return navigate, None
        return navigate, member.type

    def _check_member(self, name: str, in_type: str) -> None:
        if is_primitive(in_type) or self.model.has_element(in_type, name):
            return
        base = self._choice_base(name, in_type)
        if base is not None:
            raise SemanticError(
                f"'{name}': the choice element {in_type}.{base} is read as '{base}' "
                f"(with ofType() for one of its types)"
            )
        raise SemanticError(f"'{name}' is not an element of {in_type}")

    def _choice_base(self, name: str, in_type: str) -> str | None:
        for index in range(len(name) - 1, 0, -1):
            if name[index].isupper() and self.model.child_name(in_type, name) == name[:index]:
                return name[:index]
        return None

    # -- expressions

    def _term_invocation(self, node: lark.Tree, this_type: str | None) -> Compiled:
        invocation = self.invocation(node, this_type, this_type)
        if invocation.step is not None:
            return _chain(invocation.type, (invocation.step,), invocation)
        fn = invocation.fn
        return Compiled(
            lambda this, env: fn(this, this, env),
            invocation.type,
            uses_this=True,
            uses_context=invocation.uses_context,
            costly=invocation.costly,
        )

    def _invoke(self, node: lark.Tree, this_type: str | None) -> Compiled:
        target_node, invocation_node = node.children
        if _is_call(invocation_node, "count") and _is_call(
            _last_invocation(target_node), "children"
        ):
            return self._count_children(target_node, this_type)
        if self.strict and _is_order_dependent(invocation_node, target_node):
            raise SemanticError(
                f"{syntax_tree.name(invocation_node)}() depends on an order that "
                f"{syntax_tree.name(_last_invocation(target_node))}() does not define"
            )
        target = self.expression(target_node, this_type)
        if target.steps and (
            _is_call(invocation_node, "exists") or _is_call(invocation_node, "empty")
        ):
            *steps, last = target.steps
            present = getattr(last, "present", None)
            if present is not None:
                exists = _is_call(invocation_node, "exists")
                return _presence(target, tuple(steps), present, exists)
        invocation = self.invocation(invocation_node, target.type, this_type)
        step = invocation.step
        if step is not None and target.steps is not None:
            return _chain(invocation.type, (*target.steps, step), target, invocation)
        target_fn = target.fn
        if step is not None:

            def apply(this: Items, env: Env) -> Items:
                return step(target_fn(this, env))

            fn: Fn = apply
        else:
            invoke = invocation.fn

            def call(this: Items, env: Env) -> Items:
                return invoke(target_fn(this, env), this, env)

            fn = call
        return Compiled(
            fn,
            invocation.type,
            uses_this=target.uses_this or invocation.uses_this,
            uses_context=target.uses_context or invocation.uses_context,
            costly=target.costly or invocation.costly,
        )

    def _count_children(self, children_node: lark.Tree, this_type: str | None) -> Compiled:
        """``X.children().count()`` (ele-1, on every element): counted, not built."""
        model = self.model
        if children_node.data == "invoke":
            source = self.expression(children_node.children[0], this_type)
        else:
            source = Compiled(lambda this, env: this, this_type, uses_this=True, steps=())
        source_type = source.type
        source_fn = source.fn

        def count(items: Items) -> Items:
            return [count_children(model, items, source_type)]

        def count_up_to(this: Items, env: Env, limit: int) -> int:
            return count_children(model, source_fn(this, env), source_type, limit)

        if source.steps is not None:
            compiled = _chain("System.Integer", (*source.steps, count), source)
        else:
            compiled = _combined(
                lambda this, env: count(source_fn(this, env)), "System.Integer", source
            )
        compiled.count_up_to = count_up_to
        return compiled

    def _indexer(self, node: lark.Tree, this_type: str | None) -> Compiled:
        collection_node, index_node = node.children
        collection = self.expression(collection_node, this_type)
        index = self.expression(index_node, this_type)
        collection_fn, index_fn = collection.fn, index.fn

        def indexer(this: Items, env: Env) -> Items:
            position = index_fn(this, env)
            if not position:
                return []
            number = _integer(position, "an index")
            items = collection_fn(this, env)
            return [items[number]] if 0 <= number < len(items) else []

        return _combined(indexer, collection.type, collection, index)

    def _polarity(self, node: lark.Tree, this_type: str | None) -> Compiled:
        sign, operand_node = node.children
        operand = self.expression(operand_node, this_type)
        operand_fn = operand.fn
        negative = str(sign) == "-"
        operand_value = operators.converter(operand.type, self.model)

        def polarity(this: Items, env: Env) -> Items:
            items = operand_fn(this, env)
            if not items:
                return items
            if len(items) > 1:
                raise FhirPathError("unary minus applies to a single number")
            value = operand_value(items[0])
            if isinstance(value, bool) or not isinstance(value, int | Decimal | Quantity):
                raise FhirPathError("unary minus applies to a number or a quantity")
            if not negative:
                return [value]
            if isinstance(value, Quantity):
                return [Quantity(-value.value, value.unit, value.calendar)]
            return [Long(-value) if type(value) is Long else -value]

        return _combined(polarity, _numeric_type(operand.type), operand)

    def _external_constant(self, node: lark.Tree, this_type: str | None) -> Compiled:
        name = syntax_tree.constant_name(str(node.children[0]))
        if name == "context":
            # The occurrence the whole expression is evaluated on, whatever ``$this`` is
            # where ``%context`` is written (inside ``select()``, ``all()``…).
            return Compiled(lambda this, env: env.context, self._focus_type, uses_context=True)
        # Marked costly: what is read from the resource is the same for every item of an
        # iteration and every occurrence of a session, so it is computed once.
        if name == "resource":
            return Compiled(lambda this, env: _present(env.resource), None, costly=True)
        if name == "rootResource":
            return Compiled(lambda this, env: _present(env.root), None, costly=True)
        if name in self._scope:
            slot = self._scope[name]
            return Compiled(lambda this, env: _slot(env, slot, name), None, uses_context=True)
        value = _CONSTANTS.get(name)
        for prefix, base in _URL_CONSTANTS.items():
            if name.startswith(prefix):
                value = base + name[len(prefix) :]
        if value is not None:
            constant = [value]

            def fixed(this: Items, env: Env) -> Items:
                variables = env.variables
                if variables is not None and name in variables:
                    return _variable(variables, name)
                return constant

            return Compiled(fixed, "System.String")
        return Compiled(lambda this, env: _user_variable(env, name), None, uses_context=True)

    # -- literals

    def _null(self, node: lark.Tree, this_type: str | None) -> Compiled:
        return Compiled(lambda this, env: [], None)

    def _constant(self, value: Any, type_: str) -> Compiled:
        return _constant([value], type_)

    def _boolean_literal(self, node: lark.Tree, this_type: str | None) -> Compiled:
        return self._constant(str(node.children[0]) == "true", "System.Boolean")

    def _string_literal(self, node: lark.Tree, this_type: str | None) -> Compiled:
        return self._constant(unescape(str(node.children[0])), "System.String")

    def _number_literal(self, node: lark.Tree, this_type: str | None) -> Compiled:
        text = str(node.children[0])
        if "." in text:
            return self._constant(Decimal(text), "System.Decimal")
        return self._constant(int(text), "System.Integer")

    def _long_literal(self, node: lark.Tree, this_type: str | None) -> Compiled:
        return self._constant(Long(int(str(node.children[0])[:-1])), "System.Long")

    def _datetime_literal(self, node: lark.Tree, this_type: str | None) -> Compiled:
        text = str(node.children[0])[1:]
        value = parse_temporal(text, "Date")
        if value is None:
            return _raising_compiled(f"invalid date/time literal '@{text}'")
        return self._constant(value, "System." + value.kind)

    def _time_literal(self, node: lark.Tree, this_type: str | None) -> Compiled:
        text = str(node.children[0])[2:]
        value = parse_temporal(text, "Time")
        if value is None:
            return _raising_compiled(f"invalid time literal '@T{text}'")
        return self._constant(value, "System.Time")

    def _quantity_literal(self, node: lark.Tree, this_type: str | None) -> Compiled:
        number, unit = node.children
        unit_text = str(unit)
        if isinstance(unit, lark.Token) and unit.type == "CALENDAR_UNIT":
            quantity = Quantity(Decimal(str(number)), CALENDAR_WORDS[unit_text], calendar=True)
        else:
            quantity = Quantity(Decimal(str(number)), unescape(unit_text))
        return self._constant(quantity, "System.Quantity")

    # -- operators

    def _binary(self, node: lark.Tree, this_type: str | None) -> Compiled:
        left_node, operator, right_node = node.children
        op = str(operator)
        if op == "or" and _has_value_term(left_node) and not is_primitive(this_type):
            # hasValue() on items of a complex type is false: ``hasValue() or X`` is X as a
            # boolean (ele-1, on every element, is ``hasValue() or (children()…)``).
            return self._as_boolean(self.expression(right_node, this_type))
        saved = dict(self._scope)
        left = self.expression(left_node, this_type)
        self._scope = dict(saved)
        right = self.expression(right_node, this_type)
        self._scope = saved
        builder = BINARY.get(op)
        if builder is None:
            raise Unsupported(f"the operator '{op}'")
        fn, type_ = builder(self, left, right)
        if left.constant is not None and right.constant is not None:
            # Operators are pure: on two constants (``('a' | 'b')``), one is computed now.
            try:
                return _constant(fn([], NO_ENVIRONMENT), type_)
            except Exception:  # noqa: BLE001 - reported when evaluated, as always
                pass
        return _combined(fn, type_, left, right)

    def _as_boolean(self, operand: Compiled) -> Compiled:
        operand_fn = operand.fn

        def as_boolean(this: Items, env: Env) -> Items:
            value = truth(operand_fn(this, env))
            return TRUE if value is True else FALSE if value is False else EMPTY

        return _combined(as_boolean, "System.Boolean", operand)

    def _type_expression(self, node: lark.Tree, this_type: str | None) -> Compiled:
        operand_node, operator, specifier = node.children
        operand = self.expression(operand_node, this_type)
        invocation = type_test(self, str(operator), type_specifier(specifier), operand.type)
        operand_fn, test = operand.fn, invocation.fn

        def typed(this: Items, env: Env) -> Items:
            return test(operand_fn(this, env), this, env)

        return _combined(typed, invocation.type, operand)

    # -- defineVariable scopes

    def define(self, name: str) -> int:
        """Bind ``%name`` for the rest of the current chain; its slot in ``env.slots``."""
        reserved = name in _CONSTANTS or name in _RESOURCE_VARIABLES or name == "context"
        if name in self._scope or reserved:
            raise Unsupported(f"redefining the variable '{name}'")
        self._next_slot += 1
        self._scope[name] = self._next_slot
        return self._next_slot

    def argument(self, node: lark.Tree, this_type: str | None) -> Compiled:
        """Compile a function argument: its variables do not leak out of it."""
        saved = dict(self._scope)
        try:
            return self.expression(node, this_type)
        finally:
            self._scope = saved


def _has_value_term(node: lark.Tree) -> bool:
    """``hasValue()`` applied to ``$this`` (a term, not after a dot)."""
    return (
        node.data == "function"
        and syntax_tree.name(node) == "hasValue"
        and not syntax_tree.arguments(node)
    )


def _chain(type_: str | None, steps: tuple[Step, ...], *parts: Compiled | Invocation) -> Compiled:
    """Steps applied one after the other to ``$this``, as one closure."""
    if not steps:

        def none(this: Items, env: Env) -> Items:
            return this

        fn: Fn = none
    elif len(steps) == 1:
        (first,) = steps

        def one(this: Items, env: Env) -> Items:
            return first(this)

        fn = one
    elif len(steps) == 2:
        first, second = steps

        def two(this: Items, env: Env) -> Items:
            return second(first(this))

        fn = two
    elif len(steps) == 3:
        first, second, third = steps

        def three(this: Items, env: Env) -> Items:
            return third(second(first(this)))

        fn = three
    else:

        def chain(this: Items, env: Env) -> Items:
            items = this
            for step in steps:
                items = step(items)
            return items

        fn = chain
    return Compiled(
        fn,
        type_,
        uses_this=True,
        uses_context=any(p.uses_context for p in parts),
        costly=any(p.costly for p in parts),
        steps=steps,
    )


_ORDERED = frozenset({"first", "last", "tail", "skip", "take"})
_UNORDERED = frozenset({"children", "descendants"})


def _is_order_dependent(invocation: lark.Tree, target: lark.Tree) -> bool:
    last = _last_invocation(target)
    return (
        invocation.data == "function"
        and syntax_tree.name(invocation) in _ORDERED
        and last.data == "function"
        and syntax_tree.name(last) in _UNORDERED
    )


def _presence(
    target: Compiled, steps: tuple[Step, ...], present: Callable[[Items], bool], exists: bool
) -> Compiled:
    """``a.b.exists()`` (or ``empty()``), where ``steps`` lead to the items whose element
    ``present`` reads: whether it finds anything, asked without collecting it."""
    yes, no = (TRUE, FALSE) if exists else (FALSE, TRUE)

    def presence(items: Items) -> Items:
        return yes if present(items) else no

    return _chain("System.Boolean", (*steps, presence), target)


def _is_call(node: lark.Tree, name: str) -> bool:
    return node.data == "function" and len(node.children) == 1 and syntax_tree.name(node) == name


def _last_invocation(node: lark.Tree) -> lark.Tree:
    return node.children[1] if node.data == "invoke" else node


def _constant(items: Items, type_: str | None) -> Compiled:
    return Compiled(lambda this, env: items, type_, constant=items)


def _combined(fn: Fn, type_: str | None, *parts: Compiled) -> Compiled:
    return Compiled(
        fn,
        type_,
        uses_this=any(p.uses_this for p in parts),
        uses_context=any(p.uses_context for p in parts),
        costly=any(p.costly for p in parts),
    )


def _memoized(fn: Fn, token: object) -> Fn:
    """``fn``, computed once per (resource, root resource) of a session or evaluation;
    ``token`` names what it computes in the memo."""

    def memoized(this: Items, env: Env) -> Items:
        memo = env.memo
        if memo is None:
            memo = env.memo = {}
        key = (token, id(env.resource), id(env.root))
        found = memo.get(key)
        if found is None:
            found = memo[key] = fn(this, env)
        return found

    return memoized


def _resource_valued(model: TypeModel, type_: str) -> bool:
    return not is_primitive(type_) and "." not in type_ and model.is_abstract_resource(type_)


def _identity(items: Items) -> Items:
    return items


def _empty_items(items: Items) -> Items:
    return []


def _type_name_or_member(model: TypeModel, name: str) -> Callable[[Items], Items]:
    """A capitalised name on items of unknown type: the items of that type when there
    are some (``Patient.name`` on a resource), else the member of that name."""
    member = dynamic_member(model, name)

    def navigate(items: Items) -> Items:
        typed = [item for item in items if type_of(item) == name]
        return typed if typed else member(items)

    return navigate


def _present(value: Any) -> Items:
    return [] if value is None else [value]


def _variable(variables: Mapping[str, Any], name: str) -> Items:
    value = variables[name]
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _user_variable(env: Env, name: str) -> Items:
    slots = env.slots
    if slots is not None and name in slots:
        # Defined by defineVariable() with a name computed at run time.
        return slots[name]
    variables = env.variables
    if variables is None or name not in variables:
        raise FhirPathError(f"undefined environment variable: {name}")
    return _variable(variables, name)


def _slot(env: Env, slot: int, name: str) -> Items:
    slots = env.slots
    if slots is None or slot not in slots:
        raise FhirPathError(f"the variable '{name}' is not defined here")
    return slots[slot]


def _index(env: Env) -> Items:
    if env.index is None:
        raise FhirPathError("$index is only defined inside an iterating function")
    return [env.index]


def _total(env: Env) -> Items:
    if env.total is None:
        raise FhirPathError("$total is only defined inside aggregate()")
    return env.total


def _integer(items: Items, what: str) -> int:
    if len(items) != 1:
        raise FhirPathError(f"{what} must be a single integer")
    value = items[0]
    if type(value) is Node:
        value = value.value
    if isinstance(value, bool) or not isinstance(value, int):
        raise FhirPathError(f"{what} must be an integer")
    return int(value)


def _numeric_type(type_: str | None) -> str | None:
    if type_ in ("integer", "positiveInt", "unsignedInt", "integer64"):
        return "System.Integer"
    if type_ == "decimal":
        return "System.Decimal"
    return type_ if type_ is None or type_.startswith("System.") else None


def _raising(message: str) -> Invocation:
    def fail(items: Items, this: Items, env: Env) -> Items:
        raise FhirPathError(message)

    return Invocation(fail, None)


def _raising_compiled(message: str) -> Compiled:
    def fail(this: Items, env: Env) -> Items:
        raise FhirPathError(message)

    return Compiled(fail, None)
