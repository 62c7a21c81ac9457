"""The functions an expression may name, with how many arguments each takes: those of
FHIRPath (2.0 and the 3.0 additions), those FHIR adds (R5, section "FHIRPath"), and the
engine's own. Whether the engine can *evaluate* a function is another question
(``supported_functions()`` of an evaluator): ``resolve()`` is known but not evaluated.

    >>> FUNCTION_ARITIES["exists"], FUNCTION_ARITIES["iif"]
    ((0, 1), (2, 3))
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["FUNCTION_ARITIES"]

#: name → (fewest, most arguments; None: any number). FHIRPath 2.0 (with the STU
#: additions FHIR constraints use) and the functions FHIR adds.
FUNCTION_ARITIES: Mapping[str, tuple[int, int | None]] = {
    **dict.fromkeys(
        ["empty", "allTrue", "anyTrue", "allFalse", "anyFalse", "count", "distinct"]
        + ["isDistinct", "single", "first", "last", "tail", "not", "children", "descendants"]
        + ["toBoolean", "convertsToBoolean", "toInteger", "convertsToInteger", "toLong"]
        + ["convertsToLong", "toDate", "convertsToDate", "toDateTime", "convertsToDateTime"]
        + ["toDecimal", "convertsToDecimal", "toString", "convertsToString", "toTime"]
        + ["convertsToTime", "upper", "lower", "length", "toChars", "trim", "abs", "ceiling"]
        + ["exp", "floor", "ln", "sqrt", "truncate", "now", "timeOfDay", "today", "precision"]
        + ["sum", "min", "max", "avg", "type", "hasValue", "getValue", "resolve", "htmlChecks"]
        + ["elementDefinition", "yearOf", "monthOf", "dayOf", "hourOf", "minuteOf"]
        + ["secondOf", "millisecondOf", "timezoneOffsetOf", "dateOf", "timeOf"]
        + ["getResourceKey"],
        (0, 0),
    ),
    **dict.fromkeys(
        ["all", "subsetOf", "supersetOf", "where", "select", "repeat", "repeatAll", "ofType"]
        + ["skip", "take", "intersect", "exclude", "union", "combine", "indexOf"]
        + ["lastIndexOf", "startsWith", "endsWith", "contains", "encode", "decode", "escape"]
        + ["unescape", "split", "log", "power", "is", "as", "extension", "comparable"]
        + ["conformsTo", "memberOf", "subsumes", "subsumedBy", "checkModifiers"]
        + ["hasTemplateIdOf"],
        (1, 1),
    ),
    "exists": (0, 1),
    "iif": (2, 3),
    "toQuantity": (0, 1),
    "convertsToQuantity": (0, 1),
    "substring": (1, 2),
    "replace": (2, 2),
    "matches": (1, 2),
    "matchesFull": (1, 2),
    "replaceMatches": (2, 3),
    "join": (0, 1),
    "round": (0, 1),
    "trace": (1, 2),
    "defineVariable": (1, 2),
    "lowBoundary": (0, 1),
    "highBoundary": (0, 1),
    "aggregate": (1, 2),
    "sort": (0, None),
    "coalesce": (1, None),
    "slice": (2, 2),
    "getReferenceKey": (0, 1),
    "duration": (2, 2),
    "difference": (2, 2),
    "weight": (0, 0),
    # The engine's own, for checks the HL7 validator makes in code (the built-in rules
    # and the narrative correction of txt-2).
    "htmlChecks2": (0, 0),
    "htmlAttribute": (1, 1),
    "base64Size": (0, 0),
    "base64Sha1": (0, 0),
    "elementIds": (0, 0),
}
