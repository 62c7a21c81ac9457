"""Existence functions: ``empty``, ``exists``, ``all``, ``allTrue``…, ``subsetOf``,
``supersetOf``, ``count``, ``distinct``, ``isDistinct``."""

from __future__ import annotations

from engine.fhirpath.compiled.binary import FALSE, TRUE, truth
from engine.fhirpath.compiled.collections import (
    contains_item,
    distinct_items,
)
from engine.fhirpath.compiled.core import Env, Invocation
from engine.fhirpath.compiled.functions.base import (
    Call,
    Items,
    arity,
    flags,
    function,
    invocation,
    simple,
    value_argument,
)
from engine.fhirpath.compiled.operators import (
    FhirPathError,
    converter,
)
from engine.fhirpath.compiled.values import Node

# -- existence ---------------------------------------------------------------------------------


@function("empty")
def _empty(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return arity(name, args, 0) or simple(lambda items: FALSE if items else TRUE, "System.Boolean")


@function("exists")
def _exists(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 0, 1)
    if wrong:
        return wrong
    if not args:
        return simple(lambda items: TRUE if items else FALSE, "System.Boolean")
    criteria = compiler.argument(args[0], in_type)
    test = criteria.fn

    def exists(items: Items, this: Items, env: Env) -> Items:
        saved = env.index
        try:
            for index, item in enumerate(items):
                env.index = index
                if index & 255 == 255:
                    env.tick(256)
                if truth(test([item], env)) is True:
                    return TRUE
            return FALSE
        finally:
            env.index = saved

    return invocation(exists, "System.Boolean", **flags(criteria, per_item=True, costly=True))


@function("all")
def _all(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    criteria = compiler.argument(args[0], in_type)
    test = criteria.fn

    def all_(items: Items, this: Items, env: Env) -> Items:
        saved = env.index
        try:
            for index, item in enumerate(items):
                env.index = index
                if index & 255 == 255:
                    env.tick(256)
                if truth(test([item], env)) is not True:
                    return FALSE
            return TRUE
        finally:
            env.index = saved

    return invocation(all_, "System.Boolean", **flags(criteria, per_item=True, costly=True))


def _booleans(items: Items, name: str) -> list[bool]:
    values = []
    for item in items:
        value = item.value if type(item) is Node else item
        if type(value) is not bool:
            raise FhirPathError(f"{name}() needs booleans")
        values.append(value)
    return values


@function("allTrue", "anyTrue", "allFalse", "anyFalse")
def _boolean_aggregates(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    test = {
        "allTrue": lambda values: all(values),
        "anyTrue": lambda values: any(values),
        "allFalse": lambda values: not any(values),
        "anyFalse": lambda values: not all(values),
    }[name]
    return arity(name, args, 0) or simple(
        lambda items: TRUE if test(_booleans(items, name)) else FALSE, "System.Boolean"
    )


@function("subsetOf", "supersetOf")
def _subset(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    other_fn, other = value_argument(compiler, args[0], this_type)
    mine_value = converter(in_type, compiler.model)
    other_value = converter(other.type, compiler.model)

    def subset(items: Items, this: Items, env: Env) -> Items:
        others = other_fn(this, env)
        if name == "subsetOf":
            inner, inner_value, outer, outer_value = items, mine_value, others, other_value
        else:
            inner, inner_value, outer, outer_value = others, other_value, items, mine_value
        for item in inner:
            if not contains_item(outer, inner_value(item), outer_value):
                return FALSE
        return TRUE

    return invocation(subset, "System.Boolean", **flags(other))


@function("count")
def _count(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return arity(name, args, 0) or simple(lambda items: [len(items)], "System.Integer")


@function("distinct", "isDistinct")
def _distinct(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 0)
    if wrong:
        return wrong
    value = converter(in_type, compiler.model)
    if name == "distinct":
        return simple(lambda items: distinct_items(items, value), in_type, costly=True)
    return simple(
        lambda items: TRUE if len(distinct_items(items, value)) == len(items) else FALSE,
        "System.Boolean",
        costly=True,
    )
