"""Checks of a FHIRPath expression that go beyond its syntax, run when definitions and
local rules load, so that a mistake fails loudly there instead of quietly at validation.

- every function it calls is one FHIRPath or FHIR defines (``exist()`` is a typo, not a
  function this engine happens to lack): :data:`KNOWN_FUNCTIONS`;
- every regular expression written as a literal (``matches('…')``,
  ``replaceMatches('…', …)``) compiles on the linear-time engine
  (:func:`engine.fhirpath.regex.compile_pattern`).

A known function that cannot be evaluated here (``resolve()``, ``memberOf()``…) is no
problem at load: validation reports the constraint as not evaluated.

    >>> expression_problems("name.exist()")
    ["unknown function 'exist()' (did you mean 'exists()'?)"]
    >>> expression_problems("id.matches('(a)\\\\\\\\1')")
    ["regular expression '(a)\\\\1': invalid escape sequence: \\\\1"]
    >>> expression_problems("reference.resolve().exists()")
    []
"""

from __future__ import annotations

import difflib
import re

import lark

from engine.fhirpath.catalog import FUNCTION_ARITIES
from engine.fhirpath.reference.evaluator import supported_functions
from engine.fhirpath.regex import PatternError, compile_pattern
from engine.fhirpath.syntax import parse
from engine.fhirpath.tree import arguments as _arguments
from engine.fhirpath.tree import name as _name

__all__ = ["KNOWN_FUNCTIONS", "expression_problems", "string_value"]

#: Every function FHIRPath, FHIR or this engine defines, whether or not this engine can
#: evaluate it.
KNOWN_FUNCTIONS: frozenset[str] = frozenset(FUNCTION_ARITIES) | supported_functions()

_REGEX_FUNCTIONS = frozenset({"matches", "matchesFull", "replaceMatches"})
_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n"}
_ESCAPES |= {"r": "\r", "t": "\t"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)


def expression_problems(expression: str) -> list[str]:
    """What is wrong with ``expression`` beyond its syntax, one message per problem.

    Raises :class:`engine.fhirpath.syntax.FhirPathSyntaxError` when it does not parse.
    """
    problems: list[str] = []
    for node in parse(expression).find_data("function"):
        name = _name(node)
        if name not in KNOWN_FUNCTIONS:
            close = difflib.get_close_matches(name, sorted(KNOWN_FUNCTIONS), n=1)
            hint = f" (did you mean '{close[0]}()'?)" if close else ""
            problems.append(f"unknown function '{name}()'{hint}")
        elif name in _REGEX_FUNCTIONS:
            arguments = _arguments(node)
            literal = arguments[0] if arguments else None
            if isinstance(literal, lark.Tree) and literal.data == "string":
                try:
                    compile_pattern(string_value(str(literal.children[0])))
                except PatternError as error:
                    problems.append(str(error))
    return sorted(set(problems), key=problems.index)


def string_value(literal: str) -> str:
    """The value of a FHIRPath string literal as written (quotes and escapes included).

    >>> string_value(r"'it\\'s \\u00e9'")
    "it's é"
    """
    return _ESCAPE.sub(_unescape, literal[1:-1])


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) == 5:
        return chr(int(code[1:], 16))
    return _ESCAPES.get(code, code)
