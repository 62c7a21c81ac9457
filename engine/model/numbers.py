"""JSON numbers as FHIR needs them: the exact value, and the text as written.

FHIR's ``decimal`` keeps its precision (``1.10`` is not ``1.1``, and
``0.123456789012345678901`` is not rounded to a binary float), and a decimal's format
is checked on its lexical form as written (``1e09`` is not a valid FHIR decimal). Python's
``json`` reads such numbers as ``float`` and loses both. The readers
(:mod:`engine.io.inputs` for JSON and NDJSON, :mod:`engine.io.fhir_xml` for XML) read
every JSON number with a fraction or an exponent as a :class:`JsonNumber` instead, and
whole numbers as ``int`` (exact already): FHIRPath then sees ``Decimal`` values.

    >>> import json
    >>> value = json.loads('{"v": 1.10}', parse_float=JsonNumber)["v"]
    >>> value, value.text, value == Decimal("1.1")
    (1.10, '1.10', True)
    >>> parse_json_number("1e09").text
    '1e09'
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

__all__ = ["JsonNumber", "lexical_form", "parse_json_number"]


class JsonNumber(Decimal):
    """A JSON number with a fraction or an exponent: a ``Decimal`` that remembers its text.

    Arithmetic and comparisons are the ``Decimal`` ones (their results are plain
    ``Decimal``); ``text`` is the number exactly as the input wrote it.
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[type[JsonNumber], tuple[str]]:
        # Decimal's own reduction would rebuild from str(self): '1e09' would come back
        # as '1E+9' in a worker process.
        return (type(self), (self.text,))

    def __copy__(self) -> JsonNumber:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> JsonNumber:
        return self


def parse_json_number(text: str) -> int | JsonNumber:
    """A JSON number's value as the readers give it: ``int`` for a whole number written
    without fraction or exponent, :class:`JsonNumber` otherwise.

    Raises ``ValueError`` when ``text`` is not a JSON number.
    """
    value = json.loads(text, parse_float=JsonNumber)
    if isinstance(value, bool) or not isinstance(value, int | JsonNumber):
        raise ValueError(f"not a JSON number: {text!r}")
    return value


def lexical_form(value: Any) -> str | None:
    """The text a primitive value was written as, when it is known: a string itself, a
    whole number's digits, a :class:`JsonNumber`'s text. ``None`` for a ``float`` or a
    plain ``Decimal`` (built by a program, not read: its original text is lost)."""
    if isinstance(value, str):
        return value
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
