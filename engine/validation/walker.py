"""Walk a FHIR JSON resource, executing its validation plan.

The walker knows the JSON shape FHIR prescribes (arrays for repeating elements, ``_name``
companions for primitive extensions, ``valueQuantity``-style names for choice elements,
nested resources) and nothing about rules: what to check on each occurrence comes from
the :class:`~engine.validation.plan.NodePlan` the occurrence belongs to. It reports, in
document order, what is structurally wrong where it stands (unknown property, array where
one value is allowed, too many or too few occurrences, wrong JSON shape), then for each
occurrence the plan's checks: primitive format, required codes, reference targets and
the constraints.

Locations are FHIRPath strings (``ImagingSelection.instance[1].imageRegion2D[0]``), but
the walk only links a few shared pieces per occurrence and writes a location out when an
issue is reported.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from time import monotonic
from typing import Any, Union

from engine.fhirpath.evaluation import (
    EvaluationTimeout,
    FhirPathEvaluationError,
    Session,
)
from engine.model import ElementDefinition, StructureDefinition
from engine.model.numbers import JsonNumber
from engine.validation.checks import check_binding, check_primitive, check_reference
from engine.validation.plan import (
    COMPLEX,
    PRIMITIVE,
    UNBUILT,
    ChildPlan,
    NodePlan,
    Rule,
    ValidationPlan,
)
from engine.validation.report import Issue

__all__ = ["MAX_DEPTH", "Occurrence", "OutOfTime", "Walk", "occurrences"]

#: Beyond this nesting the walker stops descending: FHIR data this deep is an attack
#: or a bug, and Python's recursion limit must never surface as a crash.
MAX_DEPTH = 100

#: A location not yet written out: the root's text, or (parent location, segment).
Location = Union[str, tuple[Any, str]]  # noqa: UP007 (a runtime alias)

_INDEX = tuple(f"[{i}]" for i in range(256))
#: The JSON values a primitive may be (a bool is one too; JsonNumber is a Decimal).
_SCALARS = frozenset({str, int, float, bool, Decimal, JsonNumber})


def location_text(location: Location) -> str:
    """The FHIRPath text of a location.

    >>> location_text((("ImagingSelection", ".instance"), "[1]"))
    'ImagingSelection.instance[1]'
    """
    parts: list[str] = []
    while type(location) is tuple:
        location, segment = location
        parts.append(segment)
    parts.append(location)  # type: ignore[arg-type]
    return "".join(reversed(parts))


def _index(i: int) -> str:
    return _INDEX[i] if i < 256 else f"[{i}]"


#: Explains a failed constraint on an occurrence: (rule, focus type, value, extension,
#: resource, root resource) → the explanation's text, or ``None``.
Explainer = Callable[
    [Rule, str, Any, "dict[str, Any] | None", "dict[str, Any]", "dict[str, Any]"], "str | None"
]


class OutOfTime(Exception):
    """The resource's time budget ran out at ``location``, while constraint ``key`` was
    being evaluated (``None``: between checks)."""

    def __init__(self, location: str, key: str | None) -> None:
        self.location = location
        self.key = key
        super().__init__(location, key)


class Walk:
    """One validation of one resource: walks it and collects its issues in order.

    ``memo`` holds the value-only results shared by every walk of one validator
    (primitive and code checks, verdicts of focus-only constraints on bare values).
    """

    __slots__ = ("_plan", "_memo", "issues", "not_evaluated", "_session", "_explainer")

    def __init__(
        self,
        plan: ValidationPlan,
        memo: dict[Any, Any],
        session: Session,
        explainer: Explainer | None = None,
    ) -> None:
        self._plan = plan
        self._memo = memo
        self._session = session
        self._explainer = explainer
        self.issues: list[Issue] = []
        #: Constraints that could not be evaluated: key → (location, reason), reported
        #: once per resource.
        self.not_evaluated: dict[str, tuple[str, str]] = {}

    # -- resources ------------------------------------------------------------------------

    def resource(self, data: Any, location: Location | None, container: Any, depth: int) -> None:
        """Walk a resource: the top-level one (``location`` None) or a nested one."""
        issues = self.issues
        where = "(resource)" if location is None else location_text(location)
        if not isinstance(data, dict):
            issues.append(
                Issue(
                    "fatal",
                    "structure",
                    where,
                    f"A resource must be a JSON object, found {json_kind(data)}",
                )
            )
            return
        rtype = data.get("resourceType")
        if rtype is None:
            issues.append(Issue("fatal", "required", where, "The resource has no resourceType"))
            return
        if not isinstance(rtype, str):
            issues.append(
                Issue(
                    "fatal",
                    "structure",
                    where,
                    f"resourceType must be a string, found {json_kind(rtype)}",
                )
            )
            return
        node = self._plan.resource(rtype)
        if node is None:
            sd = self._plan.definitions.get(rtype)
            here = rtype if location is None else where
            if sd is not None and sd.kind == "resource" and sd.abstract:
                message = f"'{rtype}' is abstract: it cannot be instantiated"
                issues.append(Issue("fatal", "structure", here, message))
            else:
                message = f"Unknown resource type '{rtype}'"
                issues.append(Issue("fatal", "not-supported", here, message))
            return
        root = container if container is not None else data
        here_loc: Location = rtype if location is None else location
        self._checks(node, data, None, here_loc, data, root)
        self._members(node, data, here_loc, data, root, depth)

    # -- objects --------------------------------------------------------------------------

    def _members(
        self,
        node: NodePlan,
        data: dict[str, Any],
        location: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
        depth: int,
    ) -> None:
        issues = self.issues
        session = self._session
        if session.deadline is not None and monotonic() > session.deadline:
            try:
                session.check_time()  # it may extend the deadline
            except EvaluationTimeout:
                raise OutOfTime(location_text(location), None) from None
        if depth > MAX_DEPTH:
            issues.append(
                Issue(
                    "error",
                    "structure",
                    location_text(location),
                    f"Content nested deeper than {MAX_DEPTH} levels was not checked",
                )
            )
            return
        children = node.children
        if children is UNBUILT:
            children = node.build_children()
        if children is None:
            return  # the type is not loaded: nothing can be said about its content
        choices: dict[str, str] | None = None
        for key, value in data.items():
            child: ChildPlan | None = children.get(key)
            if child is None:
                if key != "resourceType" or not node.is_resource_root:
                    issues.append(
                        Issue(
                            "error",
                            "structure",
                            f"{location_text(location)}.{key}",
                            f"Unrecognized property '{key}'{_suggestion(key, children)}",
                        )
                    )
                continue
            if child.is_companion:
                if child.json_name in data:
                    continue  # checked with its value
                extensions, value = value, _ABSENT
            elif child.companion is not None:
                extensions = data.get(child.companion, _ABSENT)
            else:
                extensions = _ABSENT
            if child.is_choice:
                choices = choices if choices is not None else {}
                first = choices.setdefault(child.element_name, child.json_name)
                if first != child.json_name:
                    issues.append(
                        Issue(
                            "error",
                            "structure",
                            f"{location_text(location)}.{child.name}",
                            "Only one of the choices may be present, found "
                            + ", ".join(sorted((first, child.json_name))),
                        )
                    )
            self._property(child, value, extensions, location, resource, root, depth)
        for name, minimum, json_names in node.required:
            for json_name in json_names:
                if json_name in data:
                    break
            else:
                issues.append(
                    Issue(
                        "error",
                        "required",
                        location_text(location),
                        f"Missing required element '{name}': minimum cardinality is "
                        f"{minimum}, found 0",
                    )
                )

    def _property(
        self,
        child: ChildPlan,
        raw: Any,
        raw_extensions: Any,
        location: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
        depth: int,
    ) -> None:
        if raw_extensions is _ABSENT:
            # The common shapes, with nothing to report about the shape itself: one value
            # where one is allowed, a non-empty array within the cardinality where many.
            if child.repeats:
                maximum = child.maximum
                if type(raw) is list and raw and (maximum is None or len(raw) <= maximum):
                    node = child.node or child.resolve()
                    base: Location = (location, child.segment)
                    primitive = node.kind is PRIMITIVE
                    for index, item in enumerate(raw):
                        where = (base, _index(index))
                        if primitive and type(item) in _SCALARS:
                            self._value_checks(node, item, where, resource, root)
                        else:
                            self._item(node, child, item, None, where, resource, root, depth)
                    return
            elif raw is not None and type(raw) is not list:
                node = child.node or child.resolve()
                where = (location, child.segment)
                if node.kind is PRIMITIVE and type(raw) in _SCALARS:
                    self._value_checks(node, raw, where, resource, root)  # _item's first case
                else:
                    self._item(node, child, raw, None, where, resource, root, depth)
                return
        self._property_checked(child, raw, raw_extensions, location, resource, root, depth)

    def _property_checked(
        self,
        child: ChildPlan,
        raw: Any,
        raw_extensions: Any,
        location: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
        depth: int,
    ) -> None:
        """A property in any shape, its shape and cardinality reported."""
        json_name = child.json_name
        base: Location = (location, child.segment)
        values = self._as_list(child, json_name, raw, base)
        if raw_extensions is _ABSENT:
            extensions: Any = ()
        else:
            extensions = self._as_list(child, "_" + json_name, raw_extensions, base)
            if values and extensions and len(values) != len(extensions):
                self.issues.append(
                    Issue(
                        "error",
                        "structure",
                        location_text(base),
                        f"'{json_name}' and '_{json_name}' must have the same number of "
                        f"items ({len(values)} and {len(extensions)})",
                    )
                )
                return
        count = len(values) if len(values) >= len(extensions) else len(extensions)
        if child.maximum is not None and count > child.maximum:
            self.issues.append(
                Issue(
                    "error",
                    "structure",
                    location_text(base),
                    f"Too many occurrences of '{child.element_name}': maximum cardinality "
                    f"is {child.max_text}, found {count}",
                )
            )
        node = child.node or child.resolve()
        repeats = child.repeats
        for index in range(count):
            item = values[index] if index < len(values) else None
            ext = extensions[index] if index < len(extensions) else None
            where: Location = (base, _index(index)) if repeats else base
            self._item(node, child, item, ext, where, resource, root, depth)

    def _item(
        self,
        node: NodePlan,
        child: ChildPlan,
        item: Any,
        ext: Any,
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
        depth: int,
    ) -> None:
        """One occurrence of a property: a primitive value (and its ``_`` object), an
        object, or a nested resource."""
        kind = node.kind
        if kind is PRIMITIVE:
            if ext is None and type(item) in _SCALARS:
                self._value_checks(node, item, where, resource, root)
            else:
                self._primitive(node, child.json_name, item, ext, where, resource, root, depth)
        elif kind is COMPLEX:
            if type(item) is not dict:
                kind_text = "null" if item is None else json_kind(item)
                self.issues.append(
                    Issue(
                        "error",
                        "structure",
                        location_text(where),
                        f"'{child.json_name}' must be a JSON object "
                        f"({node.type_code or 'BackboneElement'}), found {kind_text}",
                    )
                )
                return
            if node.has_checks:
                self._checks(node, item, None, where, resource, root)
            self._members(node, item, where, resource, root, depth + 1)
        else:
            container = root if child.element_name == "contained" else None
            self.resource(item, where, container, depth + 1)

    def _as_list(self, child: ChildPlan, name: str, raw: Any, base: Location) -> Any:
        """A property's value as a sequence, reporting shape errors."""
        if raw is _ABSENT:
            return ()
        if type(raw) is list:
            if not child.repeats:
                self.issues.append(
                    Issue(
                        "error",
                        "structure",
                        location_text(base),
                        f"'{name}' must be a single value, not an array "
                        f"(maximum cardinality {child.max_text})",
                    )
                )
            if not raw:
                self.issues.append(
                    Issue("error", "structure", location_text(base), f"'{name}' is an empty array")
                )
            return raw
        if raw is None:
            self.issues.append(
                Issue(
                    "error",
                    "structure",
                    location_text(base),
                    f"'{name}' is null: omit the property instead",
                )
            )
            return ()
        if child.repeats:
            self.issues.append(
                Issue(
                    "error",
                    "structure",
                    location_text(base),
                    f"'{name}' must be an array (maximum cardinality {child.max_text})",
                )
            )
        return (raw,)

    def _primitive(
        self,
        node: NodePlan,
        json_name: str,
        item: Any,
        ext: Any,
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
        depth: int,
    ) -> None:
        if item is None and ext is None:
            self.issues.append(
                Issue("error", "structure", location_text(where), f"'{json_name}' is null")
            )
            return
        if type(item) is dict or type(item) is list:
            self.issues.append(
                Issue(
                    "error",
                    "structure",
                    location_text(where),
                    f"'{json_name}' must be a primitive {node.type_code} value, "
                    f"found {json_kind(item)}",
                )
            )
            return
        if ext is not None and type(ext) is not dict:
            self.issues.append(
                Issue(
                    "error",
                    "structure",
                    location_text(where),
                    f"'_{json_name}' must be a JSON object, found {json_kind(ext)}",
                )
            )
            ext = None
        if ext is None and item is not None:
            self._value_checks(node, item, where, resource, root)
        else:
            self._checks(node, item, ext, where, resource, root)
            if ext is not None:
                self._members(node, ext, where, resource, root, depth + 1)

    # -- the checks of one occurrence -----------------------------------------------------

    def _value_checks(
        self,
        node: NodePlan,
        item: Any,
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> None:
        """The checks of a primitive value without extensions: everything but the
        context-dependent constraints depends on the value alone, and is remembered."""
        # A number's text counts too (1e9 and 1e09 are equal numbers, not equal texts); a
        # string's key is one item shorter, so that no other value shares it.
        kind = type(item)
        key = (node, item) if kind is str else (node, kind, getattr(item, "text", item))
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._value_issues(node, item, where)
        if found:
            self._add(found, where)
        if node.context_rules:
            self._evaluate(node, node.context_rules, item, None, where, resource, root)
        if node.not_evaluated:
            self._not_evaluated(node, where)

    def _checks(
        self,
        node: NodePlan,
        value: Any,
        ext: dict[str, Any] | None,
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> None:
        if value is not None and (node.primitive is not None or node.binding is not None):
            found = _value_problems(node, value)
            if found:
                self._add(found, where)
        for targets in node.references:
            references = list(check_reference(targets, value, resource, ""))
            if references:
                self._add(references, where)
        if node.focus_rules:
            if type(value) is dict:
                self._object_rules(node, value, where, resource, root)
            else:
                self._evaluate(node, node.focus_rules, value, ext, where, resource, root)
        if node.context_rules:
            self._evaluate(node, node.context_rules, value, ext, where, resource, root)
        if node.not_evaluated:
            self._not_evaluated(node, where)

    def _object_rules(
        self,
        node: NodePlan,
        value: dict[str, Any],
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> None:
        """The focus-only rules of an object; a rule that reads the object only through
        properties it does not have gives its verdict on an empty object, known. Their
        issues on an object of strings only (a Coding, a Reference…) depend on those
        strings alone, and are remembered as a primitive value's are."""
        for item in value.values():
            if type(item) is not str:
                failures = self._object_failures(node, value, where, resource, root)
                if failures:
                    self._add(failures, where)
                return
        key = (node, tuple(value.items()))
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = tuple(self._object_failures(node, value, where, {}, {}))
        if found:
            self._add(found, where)

    def _object_failures(
        self,
        node: NodePlan,
        value: dict[str, Any],
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> list[Issue]:
        """The failures of an object's focus-only rules, located relative to it."""
        failures: list[Issue] = []
        reads = node.reads
        if reads is UNBUILT:
            reads = node.build_reads()
        rules = node.focus_rules
        session = self._session
        for index, keys in enumerate(reads):
            rule = rules[index]
            if keys is None or not keys.isdisjoint(value):
                try:
                    verdict = rule.verdict(value, None, resource, root, session)  # type: ignore[misc]
                except Exception as error:  # noqa: BLE001 - _error_verdict says which
                    verdict = self._error_verdict(error, rule, where)
            else:
                verdict = node.absent_verdicts.get(index, UNBUILT)
                if verdict is UNBUILT:
                    verdict = self._verdict(rule, {}, None, {}, {}, where)
                    node.absent_verdicts[index] = verdict
            if verdict is not True:
                failures.append(self._failure(node, rule, verdict, "", value, None, resource, root))
        return failures

    def _value_issues(self, node: NodePlan, value: Any, where: Location) -> tuple[Issue, ...]:
        """The issues of a primitive value that depend on the value alone (its format, its
        code, the constraints on the focus only), located relative to the occurrence."""
        found = _value_problems(node, value)
        for rule in node.focus_rules:
            verdict = self._verdict(rule, value, None, {}, {}, where)
            if verdict is not True:
                found.append(self._failure(node, rule, verdict, "", value, None, {}, {}))
        return tuple(found)

    def _add(self, found: Sequence[Issue], where: Location) -> None:
        """Issues reported with a location relative to the occurrence, made absolute."""
        text = location_text(where)
        self.issues.extend(replace(issue, location=text + issue.location) for issue in found)

    def _evaluate(
        self,
        node: NodePlan,
        rules: tuple[Rule, ...],
        value: Any,
        ext: dict[str, Any] | None,
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> None:
        """Evaluate each rule on one occurrence and report its failure or error."""
        session = self._session
        for rule in rules:
            try:
                verdict = rule.verdict(value, ext, resource, root, session)  # type: ignore[misc]
            except Exception as error:  # noqa: BLE001 - _error_verdict says which
                verdict = self._error_verdict(error, rule, where)
            if verdict is not True:
                failure = self._failure(
                    node, rule, verdict, location_text(where), value, ext, resource, root
                )
                self.issues.append(failure)

    def _failure(
        self,
        node: NodePlan,
        rule: Rule,
        verdict: bool | str,
        location: str,
        value: Any,
        ext: dict[str, Any] | None,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> Issue:
        """The issue of a constraint that did not pass (failed, or could not be evaluated),
        with its explanation when they are asked for."""
        constraint = rule.constraint
        if verdict is not False:
            message = f"Constraint {constraint.key} could not be evaluated: {verdict}"
            return Issue(constraint.severity, "exception", location, message, constraint.key)
        explanation = None
        if self._explainer is not None:
            explanation = self._explainer(rule, node.focus_type, value, ext, resource, root)
        return Issue(
            constraint.severity,
            "invariant",
            location,
            constraint.message,
            constraint.key,
            explanation=explanation,
        )

    def _not_evaluated(self, node: NodePlan, where: Location) -> None:
        for rule in node.not_evaluated:
            key = rule.constraint.key
            if key not in self.not_evaluated:
                root_type = location_text(where).split(".", 1)[0]
                self.not_evaluated[key] = (root_type, rule.not_evaluated or "")

    def _verdict(
        self,
        rule: Rule,
        value: Any,
        ext: dict[str, Any] | None,
        resource: dict[str, Any],
        root: dict[str, Any],
        where: Location,
    ) -> bool | str:
        """True or False, or the text of the evaluation error."""
        try:
            return rule.verdict(value, ext, resource, root, self._session)  # type: ignore[misc]
        except Exception as error:  # noqa: BLE001 - _error_verdict says which
            return self._error_verdict(error, rule, where)

    def _error_verdict(self, error: Exception, rule: Rule, where: Location) -> str:
        """The verdict of a rule whose evaluation raised ``error``: the text of an
        evaluation error; a time-out stops the walk; anything else is not ours to catch."""
        if isinstance(error, EvaluationTimeout):
            raise OutOfTime(location_text(where), rule.constraint.key) from None
        if isinstance(error, FhirPathEvaluationError):
            return str(error)
        if isinstance(error, RecursionError):
            return "expression too deeply nested"
        raise error


def _suggestion(key: str, children: Mapping[str, ChildPlan]) -> str:
    """``: did you mean 'birthDate'?`` for a property that is likely a misspelling of a
    known one (differing in case, or close in spelling); empty otherwise."""
    names = [name for name, child in children.items() if not child.is_companion]
    if key.startswith("_"):
        names = ["_" + name for name, child in children.items() if child.companion]
    folded = {name.lower(): name for name in names}
    found = folded.get(key.lower())
    if found is None:
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
        found = close[0] if close else None
    return f": did you mean '{found}'?" if found else ""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of an element in a resource, as the walker places it: for tools and
    tests that evaluate constraints themselves (see :func:`occurrences`)."""

    node: NodePlan
    #: The occurrence's JSON: an object, or a primitive's value (``None`` when it has only
    #: its ``_`` companion, which is ``extension``).
    value: Any
    extension: dict[str, Any] | None
    location: str
    resource: dict[str, Any]
    root_resource: dict[str, Any]

    @property
    def sd(self) -> StructureDefinition:
        return self.node.sd

    @property
    def element(self) -> ElementDefinition:
        return self.node.element

    @property
    def type_code(self) -> str | None:
        return self.node.type_code

    @property
    def fhirpath_type(self) -> str:
        """The type path FHIRPath navigates from (the ``focus_type`` of an evaluator)."""
        return self.node.focus_type


def occurrences(plan: ValidationPlan, resource: Any) -> list[Occurrence]:
    """Every element occurrence of ``resource`` the plan places (structural problems
    aside), in document order, each with its node plan.

        >>> import engine
        >>> plan = engine.Validator().plan
        >>> selection = {"resourceType": "ImagingSelection", "status": "available",
        ...              "code": {"text": "x"}, "instance": [{"uid": "1.2"}]}
        >>> [o.location for o in occurrences(plan, selection)]  # doctest: +NORMALIZE_WHITESPACE
        ['ImagingSelection', 'ImagingSelection.status', 'ImagingSelection.code',
         'ImagingSelection.code.text', 'ImagingSelection.instance[0]',
         'ImagingSelection.instance[0].uid']
    """
    walk = _Collect(plan, {}, Session())
    walk.resource(resource, None, None, 0)
    return walk.found


class _Collect(Walk):
    """A walk that collects the occurrences instead of checking them."""

    __slots__ = ("found",)

    def __init__(self, plan: ValidationPlan, memo: dict[Any, Any], session: Session) -> None:
        super().__init__(plan, memo, session)
        self.found: list[Occurrence] = []

    def _checks(
        self,
        node: NodePlan,
        value: Any,
        ext: dict[str, Any] | None,
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> None:
        self.found.append(Occurrence(node, value, ext, location_text(where), resource, root))

    def _value_checks(
        self,
        node: NodePlan,
        item: Any,
        where: Location,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> None:
        self._checks(node, item, None, where, resource, root)


def _value_problems(node: NodePlan, value: Any) -> list[Issue]:
    """A primitive's format and a code's membership: what depends on the value alone,
    located relative to the occurrence."""
    found: list[Issue] = []
    if node.primitive is not None:
        found.extend(check_primitive(node.primitive, value, ""))
    if node.binding is not None:
        found.extend(check_binding(node.binding, node.type_code, value, ""))
    return found


class _Absent:
    """Marks a property that is not in the JSON object (``None`` is JSON null)."""

    __slots__ = ()


_ABSENT: Any = _Absent()


def json_kind(value: Any) -> str:
    """How a JSON value is described in messages: ``a string``, ``an object``…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
