"""The FHIRPath evaluators users can select, by name: ``compiled`` (the default,
:class:`engine.fhirpath.compiled.CompiledEvaluator`) and ``fhirpathpy`` (the reference,
:class:`engine.fhirpath.reference.evaluator.ReferenceEvaluator`). They give the same
verdicts on the official R5 examples (``tools/compare_evaluators.py``).

>>> import engine
>>> evaluator = make_evaluator("fhirpathpy", engine.bundled_definitions())
>>> evaluator.name
'fhirpathpy'
>>> EVALUATORS, DEFAULT_EVALUATOR
(('compiled', 'fhirpathpy'), 'compiled')
"""

from __future__ import annotations

from collections.abc import Callable

from engine.fhirpath.compiled import CompiledEvaluator
from engine.fhirpath.evaluation import Evaluator
from engine.fhirpath.reference.evaluator import ReferenceEvaluator
from engine.model import Definitions

__all__ = ["DEFAULT_EVALUATOR", "EVALUATORS", "make_evaluator"]

_FACTORIES: dict[str, Callable[[Definitions], Evaluator]] = {
    "compiled": CompiledEvaluator,
    "fhirpathpy": ReferenceEvaluator,
}
#: The names of the evaluators, for command-line choices.
EVALUATORS: tuple[str, ...] = tuple(_FACTORIES)
DEFAULT_EVALUATOR = "compiled"


def make_evaluator(name: str, definitions: Definitions) -> Evaluator:
    """The evaluator called ``name`` (one of :data:`EVALUATORS`), typed by ``definitions``.

    Raises ``ValueError`` for an unknown name.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(
            f"unknown FHIRPath evaluator {name!r} (choose from {', '.join(EVALUATORS)})"
        )
    return factory(definitions)
