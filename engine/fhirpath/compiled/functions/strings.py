"""String functions: ``substring``, ``matches``, ``replaceMatches``, ``split``, ``join``,
``encode``, ``escape``…"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from typing import Any

from engine.fhirpath.compiled.binary import EMPTY, FALSE
from engine.fhirpath.compiled.core import Env, Invocation
from engine.fhirpath.compiled.functions.base import (
    FUNCTIONS,
    Builder,
    Call,
    Items,
    arity,
    flags,
    function,
    invocation,
    single_value,
)
from engine.fhirpath.compiled.operators import FhirPathError
from engine.fhirpath.compiled.values import Node
from engine.fhirpath.regex import compile_pattern

# -- strings -------------------------------------------------------------------------------


def _string_input(items: Items, name: str) -> str | None:
    value = single_value(items, name)
    if value is None:
        return None
    if type(value) is not str:
        raise FhirPathError(f"{name}() applies to a string")
    return value  # type: ignore[no-any-return]


def _string_function(
    count: tuple[int, ...],
    fn: Callable[..., Any],
    type_: str | None,
    *,
    several_false: bool = False,
    empty_argument: str = "empty",
) -> Builder:
    """A function of a string and value arguments. ``several_false``: several input
    strings answer false (the HL7 Java engine's ``contains``/``startsWith``/``endsWith``,
    which eld-11 relies on). ``empty_argument``: what an empty argument gives."""

    def build(call: Call) -> Invocation:
        compiler, name, args, in_type, this_type = call
        wrong = arity(name, args, *count)
        if wrong:
            return wrong
        compiled = [compiler.argument(argument, this_type) for argument in args]
        argument_fns = [argument.fn for argument in compiled]
        constants = [c.constant for c in compiled]
        if all(c is not None and len(c) <= 1 for c in constants):
            # Literal arguments (startsWith('#'), matches('^…$')): read once.
            fixed = [single_value(c or [], name) for c in constants]
            unknown = None in fixed and empty_argument == "empty"

            def constant_arguments(items: Items, this: Items, env: Env) -> Items:
                if several_false and len(items) > 1:
                    return FALSE
                text = _string_input(items, name)
                if text is None or unknown:
                    return EMPTY
                return _as_items(fn(text, *fixed))

            return invocation(constant_arguments, type_, **flags(*compiled))

        def string_function(items: Items, this: Items, env: Env) -> Items:
            if several_false and len(items) > 1:
                return FALSE
            text = _string_input(items, name)
            values = [single_value(fn(this, env), name) for fn in argument_fns]
            if text is None:
                return EMPTY
            if any(value is None for value in values) and empty_argument == "empty":
                return EMPTY
            return _as_items(fn(text, *values))

        return invocation(string_function, type_, **flags(*compiled))

    return build


def _as_items(result: Any) -> Items:
    """A string function's answer as a collection: ``None`` is empty, a list is itself."""
    if result is None:
        return EMPTY
    if isinstance(result, list):
        return result
    return [result]


def _string_argument(value: Any, name: str) -> str:
    if type(value) is not str:
        raise FhirPathError(f"{name}() needs a string argument")
    return value  # type: ignore[no-any-return]


def _substring(text: str, start: Any, length: Any = None) -> str | None:
    if isinstance(start, bool) or not isinstance(start, int):
        raise FhirPathError("substring() needs an integer start")
    if start < 0 or start >= len(text):
        return None
    if length is None:
        return text[start:]
    return text[start : start + max(int(length), 0)]


def _matches(text: str, pattern: Any, full: bool = False) -> bool:
    compiled = compile_pattern(_string_argument(pattern, "matches"), dot_all=True)
    return compiled.fullmatch(text) if full else compiled.search(text)


def _replace_matches(text: str, pattern: Any, substitution: Any) -> str:
    pattern_text = _string_argument(pattern, "replaceMatches")
    replacement = re.sub(r"\$(\d+)", r"\\\1", _string_argument(substitution, "replaceMatches"))
    if pattern_text == "":
        return text
    return compile_pattern(pattern_text).sub(replacement, text)


def _replace(text: str, pattern: Any, substitution: Any) -> str:
    pattern_text = _string_argument(pattern, "replace")
    replacement = _string_argument(substitution, "replace")
    if pattern_text == "":
        return replacement + replacement.join(text) + replacement
    return text.replace(pattern_text, replacement)


def _split(text: str, separator: Any) -> list[str]:
    return text.split(_string_argument(separator, "split"))


def _encode(text: str, form: Any) -> str | None:
    if form == "base64":
        return base64.b64encode(text.encode()).decode()
    if form == "urlbase64":
        return base64.urlsafe_b64encode(text.encode()).decode()
    if form == "hex":
        return text.encode().hex()
    return None


def _decode(text: str, form: Any) -> str | None:
    try:
        if form == "base64":
            return base64.b64decode(text).decode()
        if form == "urlbase64":
            return base64.urlsafe_b64decode(text).decode()
        if form == "hex":
            return bytes.fromhex(text).decode()
    except (ValueError, UnicodeDecodeError):
        raise FhirPathError(f"cannot decode {form}") from None
    return None


def _escape(text: str, form: Any) -> str | None:
    if form == "html":
        return html.escape(text)
    if form == "json":
        return json.dumps(text)[1:-1]
    return None


_JSON_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_JSON_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(text: str, form: Any) -> str | None:
    if form == "html":
        return html.unescape(text)
    if form == "json":
        return _JSON_ESCAPE.sub(_json_escape, text)
    return None


def _json_escape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code.startswith("u"):
        return chr(int(code[1:], 16))
    return _JSON_ESCAPES.get(code, code)


def _index_of(text: str, sub: Any) -> int:
    return text.find(_string_argument(sub, "indexOf"))


def _last_index_of(text: str, sub: Any) -> int:
    return text.rfind(_string_argument(sub, "lastIndexOf"))


FUNCTIONS |= {
    "indexOf": _string_function((1,), _index_of, "System.Integer"),
    "lastIndexOf": _string_function((1,), _last_index_of, "System.Integer"),
    "substring": _string_function((1, 2), _substring, "System.String"),
    "startsWith": _string_function(
        (1,),
        lambda t, p: t.startswith(_string_argument(p, "startsWith")),
        "System.Boolean",
        several_false=True,
    ),
    "endsWith": _string_function(
        (1,),
        lambda t, p: t.endswith(_string_argument(p, "endsWith")),
        "System.Boolean",
        several_false=True,
    ),
    "contains": _string_function(
        (1,),
        lambda t, p: _string_argument(p, "contains") in t,
        "System.Boolean",
        several_false=True,
    ),
    "upper": _string_function((0,), str.upper, "System.String"),
    "lower": _string_function((0,), str.lower, "System.String"),
    "replace": _string_function((2,), _replace, "System.String"),
    "matches": _string_function((1,), _matches, "System.Boolean"),
    "matchesFull": _string_function((1,), lambda t, p: _matches(t, p, full=True), "System.Boolean"),
    "replaceMatches": _string_function((2,), _replace_matches, "System.String"),
    "length": _string_function((0,), len, "System.Integer"),
    "toChars": _string_function((0,), list, "System.String"),
    "split": _string_function((1,), _split, "System.String"),
    "trim": _string_function((0,), str.strip, "System.String"),
    "encode": _string_function((1,), _encode, "System.String"),
    "decode": _string_function((1,), _decode, "System.String"),
    "escape": _string_function((1,), _escape, "System.String"),
    "unescape": _string_function((1,), _unescape, "System.String"),
}


@function("join")
def _join(call: Call) -> Invocation:
    compiler, name, args, in_type, this_type = call
    wrong = arity(name, args, 0, 1)
    if wrong:
        return wrong
    separator = compiler.argument(args[0], this_type) if args else None

    def join(items: Items, this: Items, env: Env) -> Items:
        glue = single_value(separator.fn(this, env), name) if separator is not None else ""
        texts = []
        for item in items:
            value = item.value if type(item) is Node else item
            if type(value) is not str:
                raise FhirPathError("join() needs strings")
            texts.append(value)
        return [(glue or "").join(texts)]

    return invocation(join, "System.String", **(flags(separator) if separator else {}))
