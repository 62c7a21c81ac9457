"""The functions, compiled: FHIRPath's (existence, filtering, subsetting, combining,
conversion, strings, math, tree navigation, aggregates, utilities) and FHIR's
(``extension``, ``hasValue``, ``getValue``, ``htmlChecks``, ``lowBoundary``,
``highBoundary``, ``comparable``).

Each entry of :data:`FUNCTIONS` compiles one call, given its argument trees and the
static types of its input and of ``$this``, into an
:class:`~engine.fhirpath.compiled.compiler.Invocation`. Arguments are compiled in one of
two ways: *per item* (``where``, ``select``, ``all``, ``exists``, ``repeat``,
``aggregate``, ``sort``: evaluated with each input item as ``$this``) or *as values*
(everything else: evaluated once, against the ``$this`` of the call).

Functions that need what this engine does not have (``resolve()``, ``memberOf()``,
``conformsTo()``…) are in :data:`UNSUPPORTED`; calling one raises an evaluation error.
"""

from __future__ import annotations

from engine.fhirpath.compiled.functions import (  # noqa: F401 (each registers its functions)
    conversion,
    existence,
    fhir,
    filtering,
    maths,
    strings,
    utility,
)
from engine.fhirpath.compiled.functions.base import FUNCTIONS, UNSUPPORTED, Call
from engine.fhirpath.compiled.functions.conversion import to_string
from engine.fhirpath.compiled.functions.filtering import type_test

__all__ = ["FUNCTIONS", "UNSUPPORTED", "Call", "supported", "to_string", "type_test"]


def supported() -> frozenset[str]:
    """The names of the functions an expression may call (every function of the table
    but those in :data:`UNSUPPORTED`)."""
    return frozenset(name for name in FUNCTIONS if name not in UNSUPPORTED)
