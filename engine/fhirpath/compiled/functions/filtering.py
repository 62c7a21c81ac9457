"""Filtering, projection, subsetting and combining: ``where``, ``select``, ``repeat``,
``ofType``, ``is``, ``as``, ``extension``, ``first``, ``skip``…, ``union``, ``intersect``…,
``iif``, ``coalesce``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.fhirpath.compiled import navigation
from engine.fhirpath.compiled.binary import EMPTY, FALSE, TRUE, merged_types, truth
from engine.fhirpath.compiled.collections import (
    contains_item,
    distinct_items,
    identity_key,
    tag,
)
from engine.fhirpath.compiled.core import Env, Invocation, SemanticError
from engine.fhirpath.compiled.operators import (
    FhirPathError,
    converter,
)
from engine.fhirpath.tree import type_specifier

if TYPE_CHECKING:
    from engine.fhirpath.compiled.compiler import Compiler

from engine.fhirpath.compiled.functions.base import (
    Call,
    Items,
    arity,
    fail,
    flags,
    function,
    integer_argument,
    invocation,
    simple,
    single_value,
    value_argument,
)

# -- filtering and projection ----------------------------------------------------------------------


@function("where")
def _where(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    criteria = compiler.argument(args[0], in_type)
    test = criteria.fn

    def where(items: Items, this: Items, env: Env) -> Items:
        saved = env.index
        result = []
        try:
            for index, item in enumerate(items):
                env.index = index
                if index & 255 == 255:
                    env.tick(256)
                if truth(test([item], env)) is True:
                    result.append(item)
        finally:
            env.index = saved
        return result

    return invocation(where, in_type, **flags(criteria, per_item=True, costly=True))


@function("select")
def _select(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    projection = compiler.argument(args[0], in_type)
    project = projection.fn

    def select(items: Items, this: Items, env: Env) -> Items:
        if len(items) == 1:
            saved = env.index
            env.index = 0
            try:
                return project(items, env)
            finally:
                env.index = saved
        saved = env.index
        result: Items = []
        try:
            for index, item in enumerate(items):
                env.index = index
                if index & 255 == 255:
                    env.tick(256)
                result.extend(project([item], env))
        finally:
            env.index = saved
        return result

    return invocation(select, projection.type, **flags(projection, per_item=True, costly=True))


@function("repeat")
def _repeat(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    first = compiler.argument(args[0], in_type)
    tag_input = _same
    if first.type == in_type:
        first_fn = later_fn = first.fn
        out_type = in_type
    else:
        later = compiler.argument(args[0], first.type)
        if later.type == first.type:
            first_fn, later_fn, out_type = first.fn, later.fn, first.type
        else:
            dynamic = compiler.argument(args[0], None)
            first_fn = later_fn = dynamic.fn
            out_type = None

            def tag_input(items: Items) -> Items:
                return tag(items, in_type)

    def repeat(items: Items, this: Items, env: Env) -> Items:
        result: Items = []
        seen: set[Any] = set()
        level = [(item, first_fn) for item in tag_input(items)]
        while level:
            env.tick(len(level))
            following = []
            for item, project in level:
                for found in project([item], env):
                    key = identity_key(found)
                    if key in seen:
                        continue
                    seen.add(key)
                    result.append(found)
                    following.append((found, later_fn))
            level = following
        return result

    return invocation(repeat, out_type, **flags(first, per_item=True, costly=True))


def _same(items: Items) -> Items:
    return items


@function("ofType")
def _of_type(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong

    return type_test(compiler, "ofType", type_specifier(args[0]), in_type)


@function("is", "as")
def _is_as(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong

    return type_test(compiler, name, type_specifier(args[0]), in_type)


def type_test(
    compiler: Compiler,
    operation: str,
    specifier: tuple[str | None, str] | None,
    in_type: str | None,
) -> Invocation:
    """``is``, ``as`` (operators and functions) and ``ofType`` for one type specifier."""
    model = compiler.model
    if specifier is None:
        return fail(f"{operation} needs a type name")
    namespace, type_name = specifier
    exact = operation != "is"
    if not model.is_known(namespace, type_name):
        if namespace == "System":
            # Not a system type: nothing is of it (the suite's ``is(System.Patient)``).
            return invocation(
                lambda items, this, env: (
                    ([] if operation == "as" else FALSE) if operation == "is" and items else []
                ),
                "System.Boolean" if operation == "is" else None,
            )
        shown = f"{namespace}.{type_name}" if namespace else type_name
        return fail(f"unknown type '{shown}'")
    if namespace == "FHIR" or (namespace is None and model.is_known("FHIR", type_name)):
        known = type_name
    else:
        known = f"System.{type_name}"

    # The answer per item type, kept here: ofType() on descendants() tests every node.
    answers: dict[str | None, bool] = {}

    def matches(item: Any) -> bool:
        actual = navigation.item_type(item, in_type)
        found = answers.get(actual)
        if found is None:
            found = answers[actual] = model.is_a(actual, namespace, type_name, exact=exact)
        return found

    if in_type is not None and model.is_a(in_type, namespace, type_name, exact=exact):
        out_type: str | None = in_type
    elif in_type is None and not model.is_abstract_resource(known):
        # Items of unknown type carry their own; those that pass are of this type.
        out_type = known
    else:
        out_type = None
    if operation == "ofType":
        return invocation(
            lambda items, this, env: [item for item in items if matches(item)], out_type
        )

    def single(items: Items) -> Any:
        if len(items) > 1:
            raise FhirPathError(f"'{operation}' needs a single item, got {len(items)}")
        return items[0]

    if operation == "is":
        return invocation(
            lambda items, this, env: (
                (TRUE if matches(single(items)) else FALSE) if items else EMPTY
            ),
            "System.Boolean",
        )

    def as_(items: Items, this: Items, env: Env) -> Items:
        if not items:
            return EMPTY
        item = single(items)
        return [item] if matches(item) else EMPTY

    return invocation(as_, out_type)


@function("extension")
def _extension(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    url_fn, url = value_argument(compiler, args[0], this_type)

    def extension(items: Items, this: Items, env: Env) -> Items:
        wanted = single_value(url_fn(this, env), "extension")
        if wanted is None:
            return EMPTY
        result = []
        for item in items:
            data = navigation.navigable(item)
            if data is None:
                continue
            for entry in data.get("extension") or ():
                if type(entry) is dict and entry.get("url") == wanted:
                    result.append(entry)
        return result

    return invocation(extension, "Extension", **flags(url))


# -- subsetting --------------------------------------------------------------------------------


@function("single")
def _single_fn(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call

    def single(items: Items) -> Items:
        if len(items) > 1:
            raise FhirPathError(f"single() expects at most one item, got {len(items)}")
        return items

    return arity(name, args, 0) or simple(single, in_type)


@function("first")
def _first(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return arity(name, args, 0) or simple(lambda items: items[:1], in_type)


@function("last")
def _last(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return arity(name, args, 0) or simple(lambda items: items[-1:], in_type)


@function("tail")
def _tail(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    return arity(name, args, 0) or simple(lambda items: items[1:], in_type)


@function("skip", "take")
def _skip_take(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    count_fn, count = value_argument(compiler, args[0], this_type)

    def skip_take(items: Items, this: Items, env: Env) -> Items:
        number = integer_argument(count_fn(this, env), name)
        if number is None:
            return EMPTY
        if name == "skip":
            return items[max(number, 0) :]
        return items[: max(number, 0)]

    return invocation(skip_take, in_type, **flags(count))


@function("intersect", "exclude", "union", "combine")
def _set_operations(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 1)
    if wrong:
        return wrong
    other_fn, other = value_argument(compiler, args[0], this_type)
    if name in ("union", "combine"):
        out_type, tag_mine, tag_other = merged_types(in_type, other.type)
    else:
        out_type, tag_mine, tag_other = in_type, _same, _same
    value = converter(out_type, compiler.model)
    mine_value = converter(in_type, compiler.model)
    other_value = converter(other.type, compiler.model)

    def operation(items: Items, this: Items, env: Env) -> Items:
        others = other_fn(this, env)
        if name == "combine":
            return tag_mine(items) + tag_other(others)
        if name == "union":
            return distinct_items(tag_mine(items) + tag_other(others), value)
        if name == "intersect":
            kept = [item for item in items if contains_item(others, mine_value(item), other_value)]
            return distinct_items(kept, mine_value)
        return [item for item in items if not contains_item(others, mine_value(item), other_value)]

    return invocation(operation, out_type, **flags(other, costly=name != "combine"))


# -- conversion ------------------------------------------------------------------------------


@function("iif")
def _iif(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 2, 3)
    if wrong:
        return wrong
    criterion = compiler.argument(args[0], in_type)
    if compiler.strict and criterion.type not in (None, "System.Boolean", "boolean"):
        raise SemanticError(f"iif() needs a boolean criterion, not {criterion.type}")
    accepted = compiler.argument(args[1], in_type)
    otherwise = compiler.argument(args[2], in_type) if len(args) == 3 else None
    out_type, tag_accepted, tag_otherwise = merged_types(
        accepted.type, otherwise.type if otherwise is not None else accepted.type
    )
    test, accepted_fn = criterion.fn, accepted.fn
    otherwise_fn = otherwise.fn if otherwise is not None else None

    def iif(items: Items, this: Items, env: Env) -> Items:
        if len(items) > 1:
            raise FhirPathError("iif() applies to a single item")
        if truth(test(items, env)) is True:
            return tag_accepted(accepted_fn(items, env))
        if otherwise_fn is None:
            return EMPTY
        return tag_otherwise(otherwise_fn(items, env))

    parts = [criterion, accepted] + ([otherwise] if otherwise is not None else [])
    call_flags = flags(*parts, per_item=True)
    # The arguments read the input as $this; at the start of an expression that is $this.
    return invocation(iif, out_type, **call_flags)


@function("coalesce")
def _coalesce(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    compiled = [compiler.argument(argument, in_type) for argument in args]

    def coalesce(items: Items, this: Items, env: Env) -> Items:
        for argument in compiled:
            result = argument.fn(items, env)
            if result:
                return tag(result, argument.type)
        return EMPTY

    return invocation(coalesce, None, **flags(*compiled, per_item=True))
