"""Tree navigation and utilities: ``children``, ``descendants``, ``not``, ``trace``, ``now``,
``defineVariable``, ``sort``, ``type``."""

from __future__ import annotations

import logging
from typing import Any

from engine.fhirpath.compiled import navigation
from engine.fhirpath.compiled.binary import EMPTY, FALSE, TRUE, truth
from engine.fhirpath.compiled.collections import (
    tag,
)
from engine.fhirpath.compiled.core import Compiled, Env, Invocation, Unsupported
from engine.fhirpath.compiled.functions.base import (
    Call,
    Items,
    arity,
    fail,
    flags,
    function,
    invocation,
    simple,
    single_value,
)
from engine.fhirpath.compiled.operators import (
    FhirPathError,
    converter,
    order,
)
from engine.fhirpath.tree import unescape

# -- tree navigation ---------------------------------------------------------------------------


_LOG = logging.getLogger("engine.fhirpath")


@function("children")
def _children(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    model = compiler.model
    return arity(name, args, 0) or simple(
        lambda items: navigation.children(model, items, in_type), None, costly=True
    )


@function("descendants")
def _descendants(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 0)
    if wrong:
        return wrong
    model = compiler.model

    def descendants(items: Items, this: Items, env: Env) -> Items:
        return navigation.descendants(model, items, in_type, env.tick)

    return invocation(descendants, None, costly=True)


# -- utilities ----------------------------------------------------------------------------------


@function("not")
def _not(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def not_(items: Items) -> Items:
        value = truth(items)
        if value is None:
            return EMPTY
        return FALSE if value else TRUE

    return arity(name, args, 0) or simple(not_, "System.Boolean")


@function("trace")
def _trace(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1, 2)
    if wrong:
        return wrong
    label = compiler.argument(args[0], this_type)
    projection = compiler.argument(args[1], in_type) if len(args) == 2 else None

    def trace(items: Items, this: Items, env: Env) -> Items:
        if _LOG.isEnabledFor(logging.DEBUG):
            shown = projection.fn(items, env) if projection is not None else items
            from engine.fhirpath.compiled.values import plain

            _LOG.debug("trace %s: %r", single_value(label.fn(this, env), name), plain(shown))
        return items

    return invocation(trace, in_type, **flags(label))


@function("now", "today", "timeOfDay")
def _clock(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    position = {"now": 0, "today": 1, "timeOfDay": 2}[name]
    type_ = ("System.DateTime", "System.Date", "System.Time")[position]
    return arity(name, args, 0) or invocation(lambda items, this, env: [env.now()[position]], type_)


@function("defineVariable")
def _define_variable(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1, 2)
    if wrong:
        return wrong
    value = compiler.argument(args[1], in_type) if len(args) == 2 else None
    value_type = value.type if value is not None else in_type
    variable = args[0]
    if variable.data == "string":
        variable_name = unescape(str(variable.children[0]))
        try:
            key: Any = compiler.define(variable_name)
        except Unsupported:
            return fail(f"the variable '{variable_name}' is already defined")
        named = None
    else:
        # A computed name: known only at run time, looked up by name (see ``%name``).
        named = compiler.argument(variable, this_type)
        key = None

    def define(items: Items, this: Items, env: Env) -> Items:
        if env.slots is None:
            env.slots = {}
        slot = key
        if named is not None:
            slot = single_value(named.fn(this, env), name)
            if type(slot) is not str:
                raise FhirPathError("defineVariable() needs a string name")
        defined = value.fn(items, env) if value is not None else items
        env.slots[slot] = tag(defined, value_type)
        return items

    parts = [part for part in (value, named) if part is not None]
    call_flags = flags(*parts, per_item=True)
    call_flags["uses_context"] = True
    if named is not None:
        call_flags["uses_this"] = named.uses_this
    return invocation(define, in_type, **call_flags)


@function("sort")
def _sort(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    keys: list[tuple[Compiled, bool]] = []
    for argument in args:
        descending = argument.data == "polarity" and str(argument.children[0]) == "-"
        expression = argument.children[1] if descending else argument
        keys.append((compiler.argument(expression, in_type), descending))
    value = converter(in_type, compiler.model)

    def sort(items: Items, this: Items, env: Env) -> Items:
        from functools import cmp_to_key

        if not keys:
            decorated = [(value(item), item) for item in items]

            def compare_values(a: Any, b: Any) -> int:
                return order(a[0], b[0]) or 0

            return [item for _, item in sorted(decorated, key=cmp_to_key(compare_values))]
        decorated_keys = []
        for item in items:
            values = []
            for key, _ in keys:
                found = key.fn([item], env)
                values.append(converter(key.type, compiler.model)(found[0]) if found else None)
            decorated_keys.append((values, item))

        def compare(a: Any, b: Any) -> int:
            for position, (_, descending) in enumerate(keys):
                x, y = a[0][position], b[0][position]
                missing = x is None or y is None
                result = (x is None) - (y is None) if missing else order(x, y) or 0
                if result:
                    return -result if descending else result
            return 0

        return [item for _, item in sorted(decorated_keys, key=cmp_to_key(compare))]

    call_flags = flags(*(key for key, _ in keys), per_item=True, costly=True)
    return invocation(sort, in_type, **call_flags)


@function("type")
def _type(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def types(items: Items) -> Items:
        result = []
        for item in items:
            actual = navigation.item_type(item, in_type)
            if actual is None:
                continue
            if actual.startswith("System."):
                result.append({"namespace": "System", "name": actual[7:]})
            elif "." in actual:
                result.append({"namespace": "FHIR", "name": "BackboneElement"})
            else:
                result.append({"namespace": "FHIR", "name": actual})
        return result

    return arity(name, args, 0) or simple(types, None)
