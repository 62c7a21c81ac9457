"""The function table's machinery: how one call is described (:class:`Call`), the table
(:data:`FUNCTIONS`) and the helpers every function module uses."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import lark

from engine.fhirpath.compiled.core import Compiled, Env, Invocation
from engine.fhirpath.compiled.operators import FhirPathError
from engine.fhirpath.compiled.values import Node, decimal

if TYPE_CHECKING:
    from engine.fhirpath.compiled.compiler import Compiler

Items = list[Any]


class Call(NamedTuple):
    """One call to compile: the compiler, the function's name, its argument trees, and
    the static types of its input and of ``$this``."""

    compiler: Compiler
    name: str
    args: list[lark.Tree]
    in_type: str | None
    this_type: str | None


Builder = Callable[[Call], "Invocation"]


#: Functions FHIR constraints call that need what this engine does not have.
UNSUPPORTED = {
    "resolve": "resolving references needs the referenced resources",
    "memberOf": "value-set membership needs a terminology service",
    "conformsTo": "profile conformance needs the profiles",
    "hasTemplateIdOf": "CDA templates are not supported",
    "subsumes": "subsumption needs a terminology service",
    "subsumedBy": "subsumption needs a terminology service",
    "elementDefinition": "element definitions are not available at run time",
    "slice": "slices need the profiles",
    "checkModifiers": "modifier extensions need the profiles",
}

FUNCTIONS: dict[str, Builder] = {}


def function(*names: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for name in names:
            FUNCTIONS[name] = builder
        return builder

    return register


def invocation(*args: Any, **kwargs: Any) -> Invocation:

    return Invocation(*args, **kwargs)


def fail(message: str) -> Invocation:
    def fail(items: Items, this: Items, env: Env) -> Items:
        raise FhirPathError(message)

    return invocation(fail, None)


def arity(name: str, arguments: list[lark.Tree], *counts: int) -> Invocation | None:
    """An invocation that raises, when the number of arguments is not allowed."""
    if len(arguments) in counts:
        return None
    allowed = " or ".join(str(c) for c in counts)
    return fail(f"{name}() takes {allowed} argument(s), got {len(arguments)}")


def simple(fn: Callable[[Items], Items], type_: str | None, *, costly: bool = False) -> Invocation:
    """A function of its input collection alone: also a step, which the compiler chains
    with the member accesses and functions around it into one closure."""
    return invocation(lambda items, this, env: fn(items), type_, costly=costly, step=fn)


def single_value(items: Items, name: str) -> Any:
    """The value of a collection of at most one item (``None`` if empty)."""
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathError(f"{name}() needs a single item, got {len(items)}")
    item = items[0]
    if type(item) is Node:
        item = item.value
    if type(item) is float:
        return decimal(item)
    return item


def value_argument(
    compiler: Compiler, argument: lark.Tree, this_type: str | None
) -> tuple[Callable[[Items, Env], Items], Compiled]:
    compiled = compiler.argument(argument, this_type)
    return compiled.fn, compiled


def flags(*arguments: Compiled, per_item: bool = False, costly: bool = False) -> dict[str, bool]:
    """The dependency flags of a call from those of its arguments (an argument evaluated
    per item reads that item as ``$this``, not the caller's)."""
    return {
        "uses_this": not per_item and any(a.uses_this for a in arguments),
        "uses_context": any(a.uses_context for a in arguments),
        "costly": costly or any(a.costly for a in arguments),
    }


def integer_argument(items: Items, name: str) -> int | None:
    value = single_value(items, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value):
        raise FhirPathError(f"{name}() needs an integer")
    return int(value)
