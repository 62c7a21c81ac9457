"""The validator: definitions in, issues out.

    >>> import engine
    >>> validator = engine.Validator()
    >>> report = validator.validate({"resourceType": "ImagingSelection", "status": "available",
    ...                              "code": {"text": "x"}})
    >>> [i.key for i in report.issues if i.code == "invariant"]   # no series, no narrative
    ['isl-1', 'dom-6']

Every constraint comes from the definitions. A validator turns them, once per type and on
first use, into a validation plan (:mod:`engine.validation.plan`) whose expressions are
compiled by the FHIRPath evaluator chosen by name; each validation walks one resource
through its plan (:mod:`engine.validation.walker`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from engine.fhirpath.compiled import CompiledEvaluator
from engine.fhirpath.evaluation import Session
from engine.fhirpath.evaluators import DEFAULT_EVALUATOR, make_evaluator
from engine.fhirpath.explain import explain
from engine.model import Definitions
from engine.rules.sources import bundled_definitions
from engine.validation.plan import Rule, ValidationPlan
from engine.validation.report import Issue, Report
from engine.validation.walker import OutOfTime, Walk

__all__ = ["Validator", "validate"]

#: Value-only results are remembered per value (codes, system URLs and ids repeat across
#: elements and resources), up to this many before starting afresh.
_MEMO_SIZE = 200_000

#: The default ``time_budget``: seconds per megabyte of a resource's JSON, and at least
#: that many for any resource. The slowest official R5 examples (Bundles of 1.6 to 42 MB)
#: needed up to 17 s per megabyte with the fhirpathpy evaluator on a loaded 2-core
#: machine: a margin of 3.5 times.
DEFAULT_TIME_BUDGET = 60.0


class Validator:
    """Validates FHIR resources (parsed JSON) against loaded definitions (by default the
    bundled ones, :func:`engine.bundled_definitions`, with the HL7 validator's built-in
    checks of ``definitions/hl7-validator.rules.yaml``; ``builtin_rules=False`` leaves
    those out).

    ``evaluator`` names the FHIRPath evaluator (:data:`engine.fhirpath.EVALUATORS`).
    Builds each type's plan once, on first use, and is safe to reuse for any number of
    resources, from several threads.

    ``time_budget`` bounds the time spent on one resource (``None``: no bound): that many
    seconds for a resource of up to one megabyte of JSON, and as many for each megabyte
    of a larger one, so that a large Bundle gets the time its size needs while a small
    resource crafted to be slow is stopped early. When it runs out, validation of that
    resource ends with a ``fatal`` issue of code ``too-costly`` that names the constraint
    and the element it had reached: what came after was not evaluated, so the resource
    is not reported valid.
    """

    def __init__(
        self,
        definitions: Definitions | None = None,
        *,
        evaluator: str = DEFAULT_EVALUATOR,
        time_budget: float | None = DEFAULT_TIME_BUDGET,
        builtin_rules: bool = True,
        explain: bool = False,
    ) -> None:
        if definitions is None:
            definitions = bundled_definitions(builtin_rules)
        elif not builtin_rules:
            raise ValueError(
                "builtin_rules=False chooses the bundled definitions without their rules "
                "files; load your own with load_definitions(..., builtin_rules=False)"
            )
        if time_budget is not None and not time_budget > 0:
            raise ValueError(f"time_budget must be a positive number of seconds, not {time_budget}")
        self.definitions = definitions
        self.time_budget = time_budget
        #: Explain each failed constraint (:attr:`Issue.explanation`): only failures pay.
        self.explain = explain
        self.evaluator = evaluator
        suppressed: Mapping[str, str] = getattr(definitions, "suppressed", {}) or {}
        self.suppressed: Mapping[str, str] = dict(suppressed)
        self.plan = ValidationPlan(
            definitions, make_evaluator(evaluator, definitions), self.suppressed
        )
        self._compiled_for_explanations: CompiledEvaluator | None = None
        # Results that depend on a value alone (a primitive's format, a code's membership,
        # a focus-only constraint on a bare value), shared by every resource.
        self._memo: dict[Any, Any] = {}

    def validate(self, resource: Any) -> Report:
        """Validate one resource and collect every issue into a :class:`Report`."""
        return Report.of(self._issues(resource), resource, sorted(self.suppressed.items()))

    def is_valid(self, resource: Any) -> bool:
        """True when the resource has no error or fatal issue."""
        return self.validate(resource).valid

    def iter_issues(self, resource: Any) -> Iterator[Issue]:
        """Yield the issues of one resource, in document order.

        Constraints that cannot be evaluated here (they need ``resolve()``, a terminology
        server…) are reported once per resource, at the end, as information.
        """
        yield from self._issues(resource)

    def _issues(self, resource: Any) -> list[Issue]:
        if len(self._memo) > _MEMO_SIZE:
            self._memo.clear()
        budget = _Budget(self.time_budget, resource)
        session = Session(deadline=budget.deadline, extend=budget.extend)
        walk = Walk(self.plan, self._memo, session, self._explain if self.explain else None)
        try:
            walk.resource(resource, None, None, 0)
        except OutOfTime as stop:
            walk.issues.append(_too_costly(budget.seconds, stop.location, stop.key))
            return walk.issues
        issues = walk.issues
        for key, (location, reason) in walk.not_evaluated.items():
            issues.append(Issue("information", "informational", location, reason, key))
        return issues

    def _explain(
        self,
        rule: Rule,
        focus_type: str,
        value: Any,
        extension: dict[str, Any] | None,
        resource: dict[str, Any],
        root: dict[str, Any],
    ) -> str | None:
        """The explanation of a failed constraint, from the compiled evaluator (whichever
        evaluator judged it: the verdicts are the same)."""
        evaluator = self.plan.evaluator
        if not isinstance(evaluator, CompiledEvaluator):
            evaluator = self._explaining_evaluator()
        try:
            explanation = explain(
                evaluator,
                rule.constraint.expression,
                focus_type,
                value,
                resource=resource,
                root_resource=root,
                focus_extension=extension,
            )
        except Exception as error:  # noqa: BLE001 - an explanation must never cost the issue
            return f"  (no explanation: {error})"
        return explanation.text()

    def _explaining_evaluator(self) -> CompiledEvaluator:
        if self._compiled_for_explanations is None:
            self._compiled_for_explanations = CompiledEvaluator(self.definitions)
        return self._compiled_for_explanations


class _Budget:
    """The time one resource may take: ``seconds_per_mb`` to begin with; when that runs
    out, as many per megabyte of the resource's JSON (measured only then, so that the
    common case pays nothing for it)."""

    def __init__(self, seconds_per_mb: float | None, resource: Any) -> None:
        self._start = time.monotonic()
        self._resource = resource
        self._measured = False
        self.seconds = seconds_per_mb
        self.deadline = None if seconds_per_mb is None else self._start + seconds_per_mb

    def extend(self) -> float | None:
        """The deadline for the resource's size, once; then ``None``: time is up."""
        if self._measured or self.seconds is None:
            return None
        self._measured = True
        megabytes = _megabytes(self._resource)
        if megabytes <= 1.0:
            return None
        self.seconds *= megabytes
        return self._start + self.seconds


def _megabytes(value: Any) -> float:
    """About how many megabytes ``value`` takes as JSON (iterative: any depth)."""
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            size += 2 + 4 * len(item) + sum(len(key) for key in item if isinstance(key, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            size += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, str):
            size += len(item) + 2
        else:
            size += 8
    return size / 1_000_000


def _too_costly(budget: float | None, location: str, key: str | None) -> Issue:
    running = f"constraint {key} on {location}" if key else f"the checks of {location}"
    return Issue(
        "fatal",
        "too-costly",
        location,
        f"Validation stopped: the time budget of {budget:.3g} s for this resource ran out "
        f"while evaluating {running}; it and every element after it were not checked",
        key,
    )


def validate(resource: Any, definitions: Definitions) -> Report:
    """Validate one resource against ``definitions`` (builds a throwaway :class:`Validator`)."""
    return Validator(definitions).validate(resource)
