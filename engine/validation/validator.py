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

from collections.abc import Iterator, Mapping
from typing import Any

from engine.fhirpath.evaluation import Session
from engine.fhirpath.evaluators import DEFAULT_EVALUATOR, make_evaluator
from engine.model import Definitions
from engine.rules.sources import bundled_definitions
from engine.validation.plan import ValidationPlan
from engine.validation.report import Issue, Report
from engine.validation.walker import Walk

__all__ = ["Validator", "validate"]

#: Value-only results are remembered per value (codes, system URLs and ids repeat across
#: elements and resources), up to this many before starting afresh.
_MEMO_SIZE = 200_000


class Validator:
    """Validates FHIR resources (parsed JSON) against loaded definitions (by default the
    bundled ones, :func:`engine.bundled_definitions`).

    ``evaluator`` names the FHIRPath evaluator (:data:`engine.fhirpath.EVALUATORS`).
    Builds each type's plan once, on first use, and is safe to reuse for any number of
    resources, from several threads.
    """

    def __init__(
        self, definitions: Definitions | None = None, *, evaluator: str = DEFAULT_EVALUATOR
    ) -> None:
        if definitions is None:
            definitions = bundled_definitions()
        self.definitions = definitions
        self.evaluator = evaluator
        suppressed: Mapping[str, str] = getattr(definitions, "suppressed", {}) or {}
        self.suppressed: Mapping[str, str] = dict(suppressed)
        self.plan = ValidationPlan(
            definitions, make_evaluator(evaluator, definitions), self.suppressed
        )
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
        walk = Walk(self.plan, self._memo, Session())
        walk.resource(resource, None, None, 0)
        issues = walk.issues
        for key, (location, reason) in walk.not_evaluated.items():
            issues.append(Issue("information", "informational", location, reason, key))
        return issues


def validate(resource: Any, definitions: Definitions) -> Report:
    """Validate one resource against ``definitions`` (builds a throwaway :class:`Validator`)."""
    return Validator(definitions).validate(resource)
