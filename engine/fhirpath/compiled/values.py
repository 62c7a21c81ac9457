"""The values compiled expressions compute with.

Collections are Python lists. Their items are, as cheaply as possible:

- the JSON values of the resource themselves (a ``dict`` for a complex element or a
  resource, ``str``, ``bool``, ``int``, ``float``/``Decimal`` for a primitive), whenever
  the compiler knows their FHIR type statically (``name.given`` gives ``string`` items);
- a :class:`Node` where the item must carry more than its value: its FHIR type, when the
  compiler could not know it (after ``children()``, a choice element read without its
  type, the members of ``%resource``), or a primitive's ``_name`` object (id,
  extensions), or a primitive that has only extensions (value ``None``);
- the values of FHIRPath's system types that expressions compute: ``bool``, ``str``,
  ``int`` (and :class:`Long`), ``Decimal``, :class:`Quantity`, and dates and times
  (:class:`engine.fhirpath.compiled.temporal.Temporal`).

    >>> plain([Node("x", "string", None), Node(None, "string", {"id": "a"}), 1.5])
    ['x', Decimal('1.5')]
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["CALENDAR_WORDS", "Long", "Node", "Quantity", "decimal", "plain", "unwrap"]

#: Calendar duration words, singular and plural, to their singular form.
CALENDAR_WORDS = {
    word + plural: word
    for word in ("year", "month", "week", "day", "hour", "minute", "second", "millisecond")
    for plural in ("", "s")
}


class Node:
    """One FHIR element of a collection that carries its type and, for a primitive, its
    ``_name`` object (``ext``). ``value`` is ``None`` for a primitive with only extensions;
    ``type`` is the type path the model knows (``string``, ``Quantity``,
    ``Observation.component``) or ``None`` when it is unknown."""

    __slots__ = ("value", "type", "ext")

    def __init__(self, value: Any, type_: str | None, ext: Any = None) -> None:
        self.value = value
        self.type = type_
        self.ext = ext

    def __repr__(self) -> str:
        return f"Node({self.value!r}, {self.type!r}{', ext' if self.ext is not None else ''})"


class Long(int):
    """A ``System.Long`` value (``1L``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}L"


class Quantity:
    """A ``System.Quantity``: a decimal value and a unit.

    ``unit`` is a UCUM code without quotes (``mg``, ``1``) or, for a calendar duration
    written as a word (``4 days``), the singular word (``day``), with ``calendar`` true.
    """

    __slots__ = ("value", "unit", "calendar")

    def __init__(self, value: Decimal, unit: str, calendar: bool = False) -> None:
        self.value = value
        self.unit = unit
        self.calendar = calendar

    def __repr__(self) -> str:
        return f"Quantity({self})"

    def __str__(self) -> str:
        return f"{self.value} {self.unit}" if self.calendar else f"{self.value} '{self.unit}'"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Quantity)
            and self.value == other.value
            and self.unit == other.unit
            and self.calendar == other.calendar
        )

    def __hash__(self) -> int:
        return hash((self.value, self.unit))


def decimal(value: float) -> Decimal:
    """A JSON number read as a float, as the decimal it was written as."""
    return Decimal(repr(value))


def unwrap(item: Any) -> Any:
    """An item's value: a :class:`Node`'s ``value``, anything else itself."""
    return item.value if type(item) is Node else item


def plain(items: list[Any]) -> list[Any]:
    """A result collection as plain values: nodes unwrapped, primitives that only have
    extensions dropped, JSON floats as decimals."""
    result = []
    for item in items:
        if type(item) is Node:
            item = item.value
            if item is None:
                continue
        if type(item) is float:
            item = decimal(item)
        result.append(item)
    return result
