"""Regular expressions of FHIRPath (``matches``, ``replaceMatches``) and of the definitions
(``**Regex:**`` fields): compiled in one place, once per pattern, so that the engine
behind them is chosen here.

    >>> compile_pattern("[A-Za-z0-9\\\\-\\\\.]{1,64}").fullmatch("example-1") is not None
    True
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["compile_pattern"]


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled pattern; raises ``re.error`` when it is malformed."""
    return re.compile(pattern)
