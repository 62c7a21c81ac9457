"""Regular expressions of FHIRPath (``matches``, ``replaceMatches``) and of the definitions
(``**Regex:**`` fields): compiled in one place, once per pattern, on RE2.

RE2 (the ``google-re2`` package) matches in time linear in the length of the text,
whatever the pattern: a rule written carelessly or with intent (``(a+)+$``) cannot make
validation hang, as it can with a backtracking engine such as Python's ``re``. RE2 refuses
what needs backtracking (backreferences ``\\1``, look-around ``(?=…)``) and patterns whose
compiled form is too large: :func:`compile_pattern` raises :class:`PatternError` for
those, as for malformed ones, and nothing falls back to a backtracking engine.

    >>> compile_pattern("[A-Za-z0-9\\\\-\\\\.]{1,64}").fullmatch("example-1")
    True
    >>> try:
    ...     compile_pattern("(a)\\\\1")
    ... except PatternError as error:
    ...     print(error)
    regular expression '(a)\\1': invalid escape sequence: \\1

Matching follows FHIR's XML-Schema-like reading: ``\\d``, ``\\s`` and ``\\w`` are ASCII
classes. ``dot_all`` (FHIRPath's "single line" mode) lets ``.`` match a line break.
"""

from __future__ import annotations

from functools import lru_cache

import re2

__all__ = ["Pattern", "PatternError", "compile_pattern"]

#: Verdicts kept per pattern: primitive values repeat (codes, ids, system URLs), and a
#: dictionary look-up costs far less than a call into RE2.
_MEMO_SIZE = 4096


class PatternError(ValueError):
    """A regular expression is malformed, or needs what a linear-time engine cannot do."""

    def __init__(self, pattern: str, reason: str) -> None:
        self.pattern = pattern
        self.reason = reason
        super().__init__(f"regular expression '{_shown(pattern)}': {reason}")


class Pattern:
    """A compiled regular expression; every method runs in time linear in the text."""

    __slots__ = ("pattern", "_regexp", "_full", "_found")

    def __init__(self, pattern: str, regexp: re2._Regexp) -> None:
        self.pattern = pattern
        self._regexp = regexp
        # Answers per text: the same codes, URLs and ids are matched again and again.
        self._full: dict[str, bool] = {}
        self._found: dict[str, bool] = {}

    def fullmatch(self, text: str) -> bool:
        """True when the whole of ``text`` matches."""
        verdict = self._full.get(text)
        if verdict is None:
            verdict = self._regexp.fullmatch(_encoded(text)) is not None
            if len(self._full) >= _MEMO_SIZE:
                self._full.clear()
            self._full[text] = verdict
        return verdict

    def search(self, text: str) -> bool:
        """True when some part of ``text`` matches (FHIRPath ``matches()``)."""
        verdict = self._found.get(text)
        if verdict is None:
            verdict = self._regexp.search(_encoded(text)) is not None
            if len(self._found) >= _MEMO_SIZE:
                self._found.clear()
            self._found[text] = verdict
        return verdict

    def sub(self, replacement: str, text: str) -> str:
        """``text`` with every match replaced; ``\\1`` in ``replacement`` is group 1."""
        result = self._regexp.sub(_encoded(replacement), _encoded(text))
        return bytes(result).decode("utf-8", "surrogatepass")

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"


def compile_pattern(pattern: str, *, dot_all: bool = False) -> Pattern:
    """The compiled pattern; raises :class:`PatternError` when RE2 cannot take it."""
    return _compile(pattern, dot_all)


@lru_cache(maxsize=4096)
def _compile(pattern: str, dot_all: bool) -> Pattern:
    options = re2.Options()
    # Errors are reported to the caller, not logged by RE2 to standard error.
    options.log_errors = False
    options.dot_nl = dot_all
    try:
        return Pattern(pattern, re2.compile(_encoded(pattern), options))
    except re2.error as error:
        raise PatternError(pattern, _reason(error)) from None


def _encoded(text: str) -> bytes:
    """UTF-8 bytes for RE2. A lone surrogate (JSON allows ``"\\ud800"``, Unicode does
    not) is passed through as the bytes it would take, which no character class matches
    as a character."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _reason(error: re2.error) -> str:
    reason = error.args[0] if error.args else str(error)
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return str(reason)


def _shown(pattern: str) -> str:
    return pattern if len(pattern) <= 80 else pattern[:77] + "…"
