"""Per-occurrence checks that are not invariants: primitive formats, required bindings,
reference targets.

Each check is a small function taking what it needs and yielding :class:`Issue`
values; what they check against (regular expressions, code lists, target types)
comes from the definitions, never from this module.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.fhirpath.regex import Pattern, compile_pattern
from engine.model import Definitions, ElementDefinition, TypeRef
from engine.model.numbers import lexical_form
from engine.validation.report import Issue

# FHIR JSON's representation of primitive values (FHIR R5, JSON format: "Primitive
# types"): these types are JSON numbers or booleans; every other primitive type, integer64
# included, is a JSON string. Types derived from these (positiveInt from integer) follow
# their base. Keyed by FHIR type, with the FHIRPath system types for elements typed so.
_JSON_KIND = {
    "boolean": "boolean",
    "integer": "integer",
    "decimal": "number",
    "Boolean": "boolean",
    "Integer": "integer",
    "Decimal": "number",
}

#: Type codes of FHIRPath system types (``Resource.id`` is a ``System.String``): their
#: values are JSON primitives.
SYSTEM_TYPE_PREFIX = "http://hl7.org/fhirpath/System."

# Not calendar.month_name: that follows the process's locale.
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_TEMPORAL_TYPES = frozenset({"date", "dateTime", "instant"})
_DATE_PARTS = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_TIME_ZONE = re.compile(r"(?:Z|[+-][0-9]{2}:[0-9]{2})\Z")
_CODE_LIST = re.compile(r"^[^\s|]+(?: \| [^\s|]+)+$")
_REFERENCE_TYPE = re.compile(
    r"(?:^|/)([A-Z][A-Za-z0-9]*)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)


@dataclass(frozen=True, slots=True)
class PrimitiveRule:
    """How a primitive type's value must look in JSON, read from its definition."""

    type_code: str
    json_kind: str
    regex: Pattern | None
    #: ``date``, ``dateTime`` or ``instant`` when the type is (or derives from) one:
    #: its values must also be real calendar dates, and times need a time zone.
    temporal: str | None = None
    #: The format in words, from the type's regular expression: what a value that does not
    #: match is told.
    description: str = ""
    #: The range of an integer type's values (``integer``: 32-bit, ``integer64``: 64-bit).
    min_value: int | None = None
    max_value: int | None = None


def primitive_rule(definitions: Definitions, type_code: str) -> PrimitiveRule | None:
    """The JSON kind, format and range of ``type_code``'s values, or None when it is not
    loaded. A type without its own regex or range has its base type's (``positiveInt``
    states both; a type derived from ``integer`` that states neither has the 32-bit range)."""
    if type_code.startswith(SYSTEM_TYPE_PREFIX):
        system = type_code.removeprefix(SYSTEM_TYPE_PREFIX)
        return PrimitiveRule(type_code, _JSON_KIND.get(system, "string"), None)
    lineage = definitions.lineage(type_code)
    if not lineage:
        return None
    kind = next((_JSON_KIND[sd.name] for sd in lineage if sd.name in _JSON_KIND), "string")
    values = [v for sd in lineage if (v := sd.get(f"{sd.name}.value")) is not None]
    value = values[0] if values else None
    regex = compile_pattern(value.regex) if value is not None and value.regex else None
    temporal = next((sd.name for sd in lineage if sd.name in _TEMPORAL_TYPES), None)
    description = describe_pattern(value.regex) if value is not None and value.regex else ""
    low = next((v.min_value for v in values if v.min_value is not None), None)
    high = next((v.max_value for v in values if v.max_value is not None), None)
    return PrimitiveRule(type_code, kind, regex, temporal, description, low, high)


_CLASS_PATTERN = re.compile(r"\[((?:\\.|[^\]\\])+)\](\{(\d+),(\d+)\}|\{(\d+)\}|\+|\*)")


def describe_pattern(pattern: str) -> str:
    r"""A primitive type's pattern told in words where it is one set of characters with a
    length (``id``), else the pattern itself.

    >>> describe_pattern(r"[A-Za-z0-9\-\.]{1,64}")
    '1–64 characters from A–Z a–z 0–9 - .'
    >>> print(describe_pattern(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+"))
    the pattern urn:oid:[0-2](\.(0|[1-9][0-9]*))+
    """
    match = _CLASS_PATTERN.fullmatch(pattern)
    if match is None or match.group(1).startswith("^"):
        return f"the pattern {pattern}"
    members = re.findall(r"\\(.)|(.)-(.)|(.)", match.group(1))
    parts = [
        escaped or (f"{low}–{high}" if low else single) for escaped, low, high, single in members
    ]
    low, high, exact, repeat = match.group(3), match.group(4), match.group(5), match.group(2)
    if exact:
        count = f"{exact} characters"
    elif low:
        count = f"{low}–{high} characters"
    else:
        count = "one or more characters" if repeat == "+" else "characters"
    return f"{count} from {' '.join(parts)}"


def check_primitive(rule: PrimitiveRule, value: Any, location: str) -> Iterator[Issue]:
    """The JSON kind of the value, then its lexical form against the type's regex, then
    an integer's range.

    The lexical form is the text as written: the readers keep it for every number
    (:class:`~engine.model.numbers.JsonNumber`); a ``float`` built by a program has
    none, and only its kind and finiteness are checked.
    """
    if value is None:
        return
    kind = rule.json_kind
    if kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    else:
        ok = isinstance(value, str)
    if not ok:
        yield Issue(
            "error",
            "value",
            location,
            f"The value {_show(value)} is not valid for type '{rule.type_code}': "
            f"FHIR JSON represents it as a JSON {kind}",
        )
        return
    if isinstance(value, str) and value == "":
        yield Issue("error", "value", location, "A primitive value cannot be an empty string")
        return
    lexical = lexical_form(value)
    if rule.regex is not None and lexical is not None and not rule.regex.fullmatch(lexical):
        yield Issue(
            "error",
            "value",
            location,
            f"The value {_show(value)} is not a valid {rule.type_code} "
            f"({rule.type_code}: {rule.description})",
        )
        return
    if rule.temporal is not None and isinstance(value, str):
        problem = temporal_problem(value)
        if problem is not None:
            yield Issue(
                "error",
                "value",
                location,
                f"The value {_show(value)} is not a valid {rule.type_code}: {problem}",
            )
            return
    yield from _check_range(rule, value, location)


def temporal_problem(value: str) -> str | None:
    """What the FHIR regular expressions of ``date``, ``dateTime`` and ``instant`` let
    through but FHIR forbids: a day the month does not have, and a time without a time
    zone ("If hours and minutes are specified, a time zone SHALL be populated").

    >>> temporal_problem("2021-02-30"), temporal_problem("2024-02-29")
    ('February 2021 has 28 days', None)
    >>> temporal_problem("2021-03-01T10:00:00")
    'a time needs a time zone (Z or an offset such as +01:00)'
    """
    match = _DATE_PARTS.match(value)
    if match is None:
        return None
    year, month, day = match.group(1, 2, 3)
    if month is not None and day is not None:
        days = calendar.monthrange(int(year), int(month))[1]
        if int(day) > days:
            return f"{_MONTHS[int(month) - 1]} {year} has {days} days"
    if "T" in value and _TIME_ZONE.search(value) is None:
        return "a time needs a time zone (Z or an offset such as +01:00)"
    return None


def _check_range(rule: PrimitiveRule, value: Any, location: str) -> Iterator[Issue]:
    if rule.min_value is None and rule.max_value is None:
        return
    # integer64 is a JSON string; its regex has already vouched for the digits.
    number = int(value) if isinstance(value, str) else value
    if not isinstance(number, int) or isinstance(number, bool):
        return
    if rule.max_value is not None and number > rule.max_value:
        yield Issue(
            "error",
            "value",
            location,
            f"The value {_show(value)} is greater than {rule.max_value}, the largest value "
            f"of type '{rule.type_code}'",
        )
    elif rule.min_value is not None and number < rule.min_value:
        yield Issue(
            "error",
            "value",
            location,
            f"The value {_show(value)} is less than {rule.min_value}, the smallest value "
            f"of type '{rule.type_code}'",
        )


@dataclass(frozen=True, slots=True)
class BindingCodes:
    """The codes a required binding allows, and where they come from."""

    #: The value set's name, for messages.
    name: str
    codes: frozenset[tuple[str | None, str]]
    #: Codes that are valid but deprecated: their use is a warning.
    deprecated: frozenset[tuple[str | None, str]] = frozenset()
    #: True when the codes are the element's short description (``a | b | c``), used
    #: because the definitions' data cannot expand the value set.
    from_description: bool = False


def binding_codes(
    definitions: Definitions, element: ElementDefinition, type_code: str | None
) -> BindingCodes | None:
    """The codes a required binding allows, when they are known.

    The value set's codes come from the value-set data loaded with the definitions
    (``*.valuesets.yaml``). Only when that data cannot expand it, a required ``code``
    element whose short description lists its codes (``available | entered-in-error |
    inactive | unknown``) is held to that list. Otherwise the binding is not checked.
    """
    binding = element.binding
    if binding is None or binding.strength != "required":
        return None
    value_set = definitions.value_set(binding.value_set)
    if value_set is not None:
        return BindingCodes(value_set.name, value_set.codes, value_set.deprecated)
    listed = element.short.split(" | ")
    # "draft | requested | … | +" is an abbreviated list, not the definition's statement
    if type_code == "code" and _CODE_LIST.match(element.short) and "+" not in listed:
        codes = frozenset((None, c) for c in listed)
        return BindingCodes(binding.value_set_name, codes, from_description=True)
    return None


def check_binding(
    allowed: BindingCodes,
    type_code: str | None,
    value: Any,
    location: str,
) -> Iterator[Issue]:
    """Codes of ``value`` (a code, Coding or CodeableConcept) against a required value set:
    an error for a code outside it, a warning for a deprecated one."""
    name, codes = allowed.name, allowed.codes
    if type_code in ("Coding", "CodeableConcept") and isinstance(value, dict):
        codings = [value] if type_code == "Coding" else value.get("coding", [])
        if not isinstance(codings, list):
            return
        pairs: list[tuple[str | None, str]] = [
            (c["system"] if isinstance(c.get("system"), str) else None, c["code"])
            for c in codings
            if isinstance(c, dict) and isinstance(c.get("code"), str)
        ]
        if not pairs:
            if type_code == "CodeableConcept":
                yield Issue(
                    "error",
                    "code-invalid",
                    location,
                    f"No code provided, and a code is required from the value set '{name}'",
                )
            return
        if not any(_allowed(codes, s, c) for s, c in pairs):
            shown = ", ".join(f"{s}#{c}" if s else c for s, c in pairs)
            yield Issue(
                "error",
                "code-invalid",
                location,
                f"None of the codes provided ({shown}) are in the required value set "
                f"'{name}'{_origin(allowed)}",
            )
            return
        for system, code in pairs:
            if _allowed(codes, system, code) and _allowed(allowed.deprecated, system, code):
                yield _deprecated(code, name, location)
        return
    if not isinstance(value, str):
        return
    if not _allowed(codes, None, value):
        listed = sorted({c for _, c in codes})
        shown = ", ".join(listed) if len(listed) <= 12 else ", ".join(listed[:12]) + ", …"
        yield Issue(
            "error",
            "code-invalid",
            location,
            f"The value '{value}' is not in the required value set '{name}' ({shown})"
            f"{_origin(allowed)}",
        )
    elif _allowed(allowed.deprecated, None, value):
        yield _deprecated(value, name, location)


def _origin(allowed: BindingCodes) -> str:
    if not allowed.from_description:
        return ""
    return (
        "; the value set cannot be expanded from the definitions' data, so the codes "
        "are those the element's description lists"
    )


def _deprecated(code: str, name: str, location: str) -> Issue:
    # The HL7 validator's wording (DEPRECATED_CONCEPT_FOUND), as a warning of the same kind.
    return Issue(
        "warning",
        "business-rule",
        location,
        f"The concept '{code}' is deprecated and its use should be reviewed (value set '{name}')",
    )


def _allowed(codes: frozenset[tuple[str | None, str]], system: str | None, code: str) -> bool:
    if system is None:
        return any(c == code for _, c in codes)
    return (system, code) in codes or (None, code) in codes


@dataclass(frozen=True, slots=True)
class ReferenceTargets:
    """The resource types a Reference or CodeableReference element may point to."""

    #: ``Reference`` or ``CodeableReference``.
    code: str
    allowed: tuple[str, ...]


def reference_targets(type_ref: TypeRef) -> ReferenceTargets | None:
    """What :func:`check_reference` checks for one allowed type of an element; ``None``
    when any resource will do.

        >>> reference_targets(TypeRef("Reference", ("http://hl7.org/fhir/StructureDefinition/Patient",)))
        ReferenceTargets(code='Reference', allowed=('Patient',))
    """
    allowed = type_ref.target_types
    if type_ref.code not in ("Reference", "CodeableReference") or not allowed:
        return None
    if "Resource" in allowed:
        return None
    return ReferenceTargets(type_ref.code, allowed)


def check_reference(
    targets: ReferenceTargets,
    value: Any,
    resource: dict[str, Any],
    location: str,
) -> Iterator[Issue]:
    """The type a Reference points to (from ``reference`` or ``type``) is an allowed target."""
    allowed = targets.allowed
    if not isinstance(value, dict):
        return
    if targets.code == "CodeableReference":
        value = value.get("reference")
        location = f"{location}.reference"
        if not isinstance(value, dict):
            return
    found: list[tuple[str, str]] = []
    ref = value.get("reference")
    if isinstance(ref, str):
        implied = _referenced_type(ref, resource)
        if implied is not None:
            found.append((implied, f"the reference '{ref}'"))
    declared = value.get("type")
    if isinstance(declared, str) and declared:
        found.append((declared.rstrip("/").rsplit("/", 1)[-1], f"the type '{declared}'"))
    for target, why in found:
        if target not in allowed:
            yield Issue(
                "error",
                "structure",
                location,
                f"The type '{target}' implied by {why} is not a valid target for this element "
                f"(must be one of {', '.join(allowed)})",
            )


def _referenced_type(ref: str, resource: dict[str, Any]) -> str | None:
    if ref.startswith("#"):
        contained = resource.get("contained")
        if isinstance(contained, list):
            for item in contained:
                if isinstance(item, dict) and item.get("id") == ref[1:]:
                    rtype = item.get("resourceType")
                    return rtype if isinstance(rtype, str) else None
        return None
    return _type_named(ref)


@lru_cache(maxsize=4096)
def _type_named(ref: str) -> str | None:
    """The resource type a literal reference names (``Patient/1`` → ``Patient``): the
    same references recur across resources."""
    match = _REFERENCE_TYPE.search(ref)
    return match.group(1) if match else None


#: Values longer than this are shown cut short, with their length.
_SHOWN_LENGTH = 300


def _show(value: Any) -> str:
    """A value quoted whole for a message, unless it is very long.

    >>> _show("urn:oid:1.2.840.113747.20080222.83341314456631405224970741290")
    "'urn:oid:1.2.840.113747.20080222.83341314456631405224970741290'"
    >>> _show("x" * 1000)[-26:]
    "xxxxxx…' (1000 characters)"
    """
    text = f"'{value}'" if isinstance(value, str) else lexical_form(value) or repr(value)
    if len(text) <= _SHOWN_LENGTH:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[: _SHOWN_LENGTH - 2]}…' ({length} characters)"
