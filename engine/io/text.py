"""Text every output format writes: always valid UTF-8."""

from __future__ import annotations

import re

__all__ = ["escape_surrogates"]

# JSON text may hold lone surrogates ("\ud800"), which no UTF-8 stream can carry: they
# are written as the JSON escape they came from, in every format.
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its JSON escape.

    >>> escape_surrogates("a\\ud800b")
    'a\\\\ud800b'
    """
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
