"""The validator: definitions in, issues out.

    >>> import engine
    >>> validator = engine.Validator(engine.load_definitions("definitions"))
    >>> report = validator.validate({"resourceType": "ImagingSelection", "status": "available",
    ...                              "code": {"text": "x"}})
    >>> [i.key for i in report.issues if i.code == "invariant"]
    ['isl-1']

Every constraint comes from the definitions and is evaluated with fhirpathpy, compiled
once per validator. The walker (:mod:`engine.validation.walker`) places each element occurrence
in the model; the checks in :mod:`engine.validation.checks` and the invariants here examine it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.fhirpath.analysis import functions_used
from engine.fhirpath.evaluation import CompiledExpression, FhirPathEvaluationError, passes
from engine.fhirpath.evaluators import DEFAULT_EVALUATOR, make_evaluator
from engine.model import Constraint, Definitions, ElementDefinition, StructureDefinition
from engine.rules.sources import bundled_definitions
from engine.validation.checks import (
    PrimitiveRule,
    binding_codes,
    check_binding,
    check_primitive,
    check_reference,
    primitive_rule,
)
from engine.validation.report import Issue, Report
from engine.validation.walker import Occurrence, Walker


@dataclass(frozen=True, slots=True)
class _Rule:
    """A constraint ready to run: compiled, or the reason it cannot be."""

    constraint: Constraint
    compiled: CompiledExpression | None
    not_evaluated: str | None = None
    #: The result depends on the focus alone: no environment variable (``%resource``…)
    #: and no function that looks elsewhere (``now()``, ``resolve()``…).
    focus_only: bool = False


class Validator:
    """Validates FHIR resources (parsed JSON) against loaded definitions (by default the
    bundled ones, :func:`engine.bundled_definitions`, with the HL7 validator's built-in
    checks of ``definitions/hl7-validator.rules.yaml``; ``builtin_rules=False`` leaves
    those out).

    Compiles each constraint expression once, on first use of the type that needs it,
    and is safe to reuse for any number of resources.
    """

    def __init__(
        self,
        definitions: Definitions | None = None,
        *,
        evaluator: str = DEFAULT_EVALUATOR,
        builtin_rules: bool = True,
    ) -> None:
        if definitions is None:
            definitions = bundled_definitions(builtin_rules)
        elif not builtin_rules:
            raise ValueError(
                "builtin_rules=False chooses the bundled definitions without their rules "
                "files; load your own with load_definitions(..., builtin_rules=False)"
            )
        self.definitions = definitions
        self._walker = Walker(definitions)
        self._evaluator = make_evaluator(evaluator, definitions)
        self._supported = self._evaluator.supported_functions()
        self._compiled: dict[tuple[str, str], CompiledExpression] = {}
        self._rules: dict[tuple[str, str, str | None], tuple[_Rule, ...]] = {}
        self._primitive_rules: dict[str, PrimitiveRule | None] = {}
        # Verdicts of focus-only rules on bare primitive values (ele-1 on every code,
        # id and string): FHIRPath is deterministic, so the same expression on the same
        # value of the same type gives the same verdict.
        self._verdicts: dict[tuple[str, str, type, Any], bool | str] = {}
        suppressed: Mapping[str, str] = getattr(definitions, "suppressed", {}) or {}
        self.suppressed: Mapping[str, str] = dict(suppressed)

    def validate(self, resource: Any) -> Report:
        """Validate one resource and collect every issue into a :class:`Report`."""
        return Report.of(self.iter_issues(resource), resource, sorted(self.suppressed.items()))

    def is_valid(self, resource: Any) -> bool:
        """True when the resource has no error or fatal issue."""
        return self.validate(resource).valid

    def iter_issues(self, resource: Any) -> Iterator[Issue]:
        """Yield the issues of one resource lazily, in document order.

        Constraints that cannot be evaluated here (they need ``resolve()``, a terminology
        server…) are reported once per resource, at the end, as information.
        """
        not_evaluated: dict[str, tuple[str, str]] = {}
        for item in self._walker.walk(resource):
            if isinstance(item, Issue):
                yield item
            else:
                yield from self._check(item, not_evaluated)
        for key, (location, reason) in not_evaluated.items():
            yield Issue("information", "informational", location, reason, key)

    # -- per occurrence -------------------------------------------------------------------

    def _check(self, occ: Occurrence, not_evaluated: dict[str, tuple[str, str]]) -> Iterator[Issue]:
        code = occ.type_code
        if code is not None and self._walker.is_primitive(code):
            primitive = self._primitive_rule(code)
            if primitive is not None:
                yield from check_primitive(primitive, occ.value, occ.location)
        allowed = binding_codes(self.definitions, occ.element, code)
        if allowed is not None:
            yield from check_binding(allowed, code, occ.value, occ.location)
        if code in ("Reference", "CodeableReference"):
            for type_ref in occ.element.types:
                if type_ref.code == code:
                    yield from check_reference(type_ref, occ.value, occ.resource, occ.location)
        for rule in self._rules_for(occ):
            key = rule.constraint.key
            if key in self.suppressed:
                continue
            if rule.compiled is None:
                if key not in not_evaluated:
                    root = occ.location.split(".", 1)[0]
                    not_evaluated[key] = (root, rule.not_evaluated or "")
                continue
            yield from self._evaluate(rule, occ)

    def _evaluate(self, rule: _Rule, occ: Occurrence) -> Iterator[Issue]:
        c = rule.constraint
        cacheable = rule.focus_only and occ.extension is None and _is_scalar(occ.value)
        key = (c.expression, occ.fhirpath_type, type(occ.value), occ.value)
        verdict = self._verdicts.get(key) if cacheable else None
        if verdict is None:
            verdict = self._verdict(rule, occ)
            if cacheable:
                if len(self._verdicts) >= _VERDICT_CACHE_SIZE:
                    self._verdicts.clear()
                self._verdicts[key] = verdict
        if isinstance(verdict, str):
            yield Issue(
                c.severity,
                "exception",
                occ.location,
                f"Constraint {c.key} could not be evaluated: {verdict}",
                c.key,
            )
        elif not verdict:
            yield Issue(c.severity, "invariant", occ.location, c.message, c.key)

    def _verdict(self, rule: _Rule, occ: Occurrence) -> bool | str:
        """True or False, or the text of the evaluation error."""
        assert rule.compiled is not None
        try:
            result = rule.compiled(
                occ.value,
                resource=occ.resource,
                root_resource=occ.root_resource,
                focus_extension=occ.extension,
            )
        except FhirPathEvaluationError as err:
            return str(err)
        return passes(result)

    # -- compiled rules, cached per (type, element, concrete type) ------------------------

    def _rules_for(self, occ: Occurrence) -> tuple[_Rule, ...]:
        cache_key = (occ.sd.name, occ.element.path, occ.type_code)
        rules = self._rules.get(cache_key)
        if rules is None:
            rules = tuple(self._rule(c, occ.fhirpath_type) for c in self._constraints_for(occ))
            self._rules[cache_key] = rules
        return rules

    def _constraints_for(self, occ: Occurrence) -> list[Constraint]:
        """The element's own constraints (those of the element a content reference names:
        it "brings across all the rules", invariants included), then those of its type and
        the type's bases."""
        found: list[Constraint] = list(occ.element.constraints)
        if occ.element.content_reference is not None:
            target = self.definitions.content_target(occ.sd, occ.element.content_reference)
            if target is not None:
                found.extend(target[1].constraints)
        type_name = occ.type_code or _type_of_inline(occ.sd, occ.element)
        if type_name is not None:
            for sd in self.definitions.lineage(type_name):
                if sd is occ.sd and occ.element is sd.root:
                    continue
                found.extend(sd.root.constraints)
        seen: set[str] = set()
        unique = []
        for c in found:
            if c.key not in seen:
                seen.add(c.key)
                unique.append(c)
        return unique

    def _rule(self, constraint: Constraint, focus_type: str) -> _Rule:
        functions = functions_used(constraint.expression)
        missing = sorted(functions - self._supported)
        if missing:
            names = ", ".join(f"{m}()" for m in missing)
            return _Rule(
                constraint,
                None,
                f"Constraint {constraint.key} not evaluated: it uses {names}, which this "
                f"engine does not support ('{constraint.human}')",
            )
        compiled = self._compiled.get((constraint.expression, focus_type))
        if compiled is None:
            compiled = self._evaluator.compile(constraint.expression, focus_type)
            self._compiled[(constraint.expression, focus_type)] = compiled
        focus_only = "%" not in constraint.expression and not functions & _LOOKS_ELSEWHERE
        return _Rule(constraint, compiled, focus_only=focus_only)

    def _primitive_rule(self, code: str) -> PrimitiveRule | None:
        if code not in self._primitive_rules:
            self._primitive_rules[code] = primitive_rule(self.definitions, code)
        return self._primitive_rules[code]


def _type_of_inline(sd: StructureDefinition, element: ElementDefinition) -> str | None:
    """The type whose constraints an inline element or a resource root inherits."""
    if element.parent_path is None:
        return sd.name
    return element.types[0].code if element.types else "BackboneElement"


#: Functions whose result depends on more than their input collection.
_LOOKS_ELSEWHERE = frozenset(
    {"now", "today", "timeOfDay", "resolve", "memberOf", "conformsTo", "defineVariable"}
)
_VERDICT_CACHE_SIZE = 100_000


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | Decimal)


def validate(resource: Any, definitions: Definitions) -> Report:
    """Validate one resource against ``definitions`` (builds a throwaway :class:`Validator`)."""
    return Validator(definitions).validate(resource)
