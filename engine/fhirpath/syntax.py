"""Strict FHIRPath syntax: parse an expression into a lark tree, or say exactly what is wrong.

fhirpathpy accepts malformed expressions silently (``Patient..name`` evaluates to empty),
so every expression is checked here first, against a grammar that follows the official
ANTLR grammar (``grammar.lark``). The parser is LALR with a contextual lexer, built once
at import.

    >>> parse("name.given.exists()").data
    'invoke'
    >>> is_valid("Patient..name")
    False
    >>> try:
    ...     parse("Patient..name")
    ... except FhirPathSyntaxError as error:
    ...     print(error)
    expected a name after '.', found '.' (line 1, column 9)
      Patient..name
              ^
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from engine.fhirpath.private_cache import lark_cache

__all__ = ["MAX_NESTING", "FhirPathSyntaxError", "is_valid", "parse"]

#: The deepest nesting accepted, counting both the parse tree (a chain of 100 ``or``
#: nests 100 deep) and brackets. The published R5 constraints nest at most 19 deep;
#: evaluators recurse on the nesting, and past a few hundred levels Python's recursion
#: limit would end validation with a crash instead of a message.
MAX_NESTING = 100

# Tokens keep their positions; tree positions and placeholders would only slow parsing.
_PARSER = lark.Lark(
    (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8"),
    parser="lalr",
    lexer="contextual",
    propagate_positions=False,
    maybe_placeholders=False,
    # Building the LALR tables takes about a second; lark keeps them in a cache file
    # (checked against the grammar's hash, rebuilt when it does not load), so later
    # start-ups load them instead. The file is a pickle: it is kept only in the user's
    # private folder, never in the shared temporary one (lark's default).
    cache=lark_cache("grammar.lark"),
)

_OPERATORS = frozenset(
    {"IMPLIES", "OR", "XOR", "AND", "IN", "CONTAINS", "EQUALITY_OP", "COMPARISON_OP", "UNION"}
    | {"IS", "AS", "ADDITIVE_OP", "MULTIPLICATIVE_OP", "DIV", "MOD"}
)
_CLOSERS = {"RPAR": "')'", "RSQB": "']'", "RBRACE": "'}'", "COMMA": "','", "DOT": "'.'"}
_PREVIOUS_TOKEN = re.compile(r"([A-Za-z0-9_$%`]+|[<>!=~]+|\S)\s*$")


class FhirPathSyntaxError(ValueError):
    """A FHIRPath expression does not follow the grammar.

    ``line`` and ``column`` are 1-based and point at the offending text; ``str()`` gives a
    one-line message followed by the expression's line and a caret under the position.
    """

    def __init__(self, message: str, expression: str, line: int, column: int) -> None:
        self.message = message
        self.expression = expression
        self.line = line
        self.column = column
        super().__init__(message)

    def __str__(self) -> str:
        lines = self.expression.splitlines() or [""]
        text = lines[min(self.line, len(lines)) - 1].replace("\t", " ")
        caret = " " * (self.column - 1) + "^"
        return f"{self.message} (line {self.line}, column {self.column})\n  {text}\n  {caret}"


@lru_cache(maxsize=8192)
def parse(expression: str) -> lark.Tree:
    """Parse a FHIRPath expression; raise :class:`FhirPathSyntaxError` when it is malformed.

    The tree's rule names are those of ``grammar.lark`` (``invoke``, ``member``,
    ``function``, ``binary``, ``type_expression``…). Trees are cached and shared (the
    loader's analysis and the rule compiler parse the same expressions): do not modify
    them::

        >>> parse("a.where(b = 1)").children[1].data
        'function'
    """
    if not expression.strip():
        raise FhirPathSyntaxError("empty expression", expression, 1, 1)
    try:
        tree = _PARSER.parse(expression)
    except UnexpectedInput as error:
        raise _syntax_error(expression, error) from None
    depth = max(_tree_depth(tree), _bracket_depth(expression))
    if depth > MAX_NESTING:
        raise FhirPathSyntaxError(
            f"expression nested too deeply ({depth} levels, at most {MAX_NESTING})",
            expression,
            1,
            1,
        )
    return tree


def is_valid(expression: str) -> bool:
    """True when ``expression`` is syntactically valid FHIRPath.

    >>> is_valid("a | | b")
    False
    """
    try:
        parse(expression)
    except FhirPathSyntaxError:
        return False
    return True


def _tree_depth(tree: lark.Tree) -> int:
    # Iterative: measuring must not itself run into the recursion limit.
    deepest = 0
    stack: list[tuple[lark.Tree | lark.Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, lark.Tree):
            stack.extend((child, depth + 1) for child in node.children)
    return deepest


_BRACKET_OR_SKIPPED = re.compile(
    r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|`(?:\\.|[^`\\])*`|//[^\n]*|/\*.*?\*/|[()\[\]{}]",
    re.DOTALL,
)


def _bracket_depth(expression: str) -> int:
    """How deep brackets nest, outside strings and comments (the parse tree has no
    node for a parenthesised term)."""
    depth = deepest = 0
    for match in _BRACKET_OR_SKIPPED.finditer(expression):
        char = match.group()
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _syntax_error(expression: str, error: UnexpectedInput) -> FhirPathSyntaxError:
    if isinstance(error, UnexpectedCharacters):
        return _unexpected_character(expression, error)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        line, column = token.line or 1, token.column or 1
        found = _shown(str(token))
        if token == "*" and _char_before(expression, token.start_pos) == "/":
            return FhirPathSyntaxError("unterminated comment '/*'", expression, line, column - 1)
    else:
        line, column = _end_position(expression)
        found = "end of expression"
    return FhirPathSyntaxError(
        f"{_describe_expected(expression, _acceptable(error), line, column)}, found {found}",
        expression,
        line,
        column,
    )


def _acceptable(error: UnexpectedInput) -> set[str]:
    """The terminals the parser could take where it failed.

    LALR error states over-approximate (their lookaheads are merged), so the parser is
    replayed to the terminals that would actually be accepted.
    """
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        return set(interactive.accepts())
    return set(getattr(error, "expected", None) or ())


def _unexpected_character(expression: str, error: UnexpectedCharacters) -> FhirPathSyntaxError:
    position = error.pos_in_stream or 0
    char = expression[position] if position < len(expression) else ""
    message = {
        "'": "unterminated string",
        '"': "unterminated string",
        "`": "unterminated delimited name",
        "@": "malformed date/time literal",
        "%": "malformed %constant",
        "$": "unknown special name (expected $this, $index or $total)",
    }.get(char, f"unexpected character {char!r}")
    return FhirPathSyntaxError(message, expression, error.line, error.column)


def _describe_expected(expression: str, expected: set[str], line: int, column: int) -> str:
    before = _PREVIOUS_TOKEN.search(expression[: _offset(expression, line, column)])
    where = f" after '{before.group(1)}'" if before else ""
    # A number can start any operand and follows nothing, so it marks "an operand is due".
    if "NUMBER" in expected:
        return f"expected an expression{where}"
    if "IDENTIFIER" in expected:
        return f"expected a name{where}"
    wanted = [shown for name, shown in _CLOSERS.items() if name in expected]
    if "CALENDAR_UNIT" in expected:
        wanted.append("a unit")
    if _OPERATORS & expected:
        wanted.append("an operator")
    if "$END" in expected:
        wanted.append("the end of the expression")
    return f"expected {' or '.join(wanted) or 'something else'}{where}"


def _offset(expression: str, line: int, column: int) -> int:
    lines = expression.splitlines(keepends=True)
    return sum(len(text) for text in lines[: line - 1]) + column - 1


def _end_position(expression: str) -> tuple[int, int]:
    """Line and column just past the last non-blank character."""
    text = expression.rstrip()
    line = text.count("\n") + 1
    return line, len(text) - (text.rfind("\n") + 1) + 1


def _shown(text: str) -> str:
    """A token quoted for a one-line message: newlines escaped, long text shortened."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return f"'{text[:30]}…'" if len(text) > 30 else f"'{text}'"


def _char_before(expression: str, offset: int | None) -> str:
    return expression[offset - 1] if offset else ""
