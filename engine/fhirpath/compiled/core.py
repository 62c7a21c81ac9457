"""The compiled forms: what a compiled expression is (:class:`Compiled`), what an
invocation applied to a collection is (:class:`Invocation`), the state of one evaluation
(:class:`Env`), and the compiler's exceptions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.fhirpath.compiled.temporal import Temporal, now
from engine.fhirpath.evaluation import Session

__all__ = [
    "Compiled",
    "Env",
    "Fn",
    "Invocation",
    "InvocationFn",
    "Items",
    "NO_ENVIRONMENT",
    "SemanticError",
    "Step",
    "Unsupported",
]

Items = list[Any]
Fn = Callable[[Items, "Env"], Items]
InvocationFn = Callable[[Items, Items, "Env"], Items]
Step = Callable[[Items], Items]
#: After this many items visited in loops, the session's clock is consulted.
_TICKS_PER_CHECK = 2048


class SemanticError(Exception):
    """In strict mode: an expression that cannot be right for its focus type (an element
    the type does not have, a choice element read by a typed name…)."""


class Unsupported(Exception):
    """A construct this compiler does not handle: the expression is evaluated by the
    reference evaluator instead."""


class Env:
    """The state of one evaluation: the occurrence's environment, the session, and the
    variables that iterating functions bind (``$index``, ``$total``).

    Only the environment is set per evaluation; the rest starts from these class-level
    defaults (one evaluation per occurrence makes every assignment count).
    """

    memo: dict[Any, Items] | None = None
    index: int | None = None
    total: Items | None = None
    slots: dict[int | str, Items] | None = None
    clock: tuple[Temporal, Temporal, Temporal] | None = None
    ticks = 0

    def __init__(
        self,
        context: Items,
        resource: Any,
        root: Any,
        variables: Mapping[str, Any] | None = None,
        session: Session | None = None,
    ) -> None:
        self.context = context
        self.resource = resource
        self.root = root
        self.variables = variables
        self.session = session
        if session is not None:
            self.memo = session.memo

    def tick(self, count: int) -> None:
        """Count ``count`` items visited; now and then, check the session's time budget."""
        self.ticks += count
        if self.ticks >= _TICKS_PER_CHECK:
            self.ticks = 0
            if self.session is not None:
                self.session.check_time()

    def now(self) -> tuple[Temporal, Temporal, Temporal]:
        """``now()``, ``today()``, ``timeOfDay()``: fixed for one evaluation."""
        if self.clock is None:
            self.clock = now()
        return self.clock


class Compiled:
    """A compiled expression: ``fn(this, env)``, the static type of its items, and what
    it depends on.

    ``uses_this``: it reads the ``$this`` it is evaluated with (a term-level member or
    function, ``$this``, ``$index``, ``$total``); ``uses_context``: it reads what an
    enclosing evaluation binds (``%context``, variables); ``costly``: it loops over
    collections, so that a result independent of both is worth keeping per resource.
    """

    __slots__ = (
        "fn",
        "type",
        "uses_this",
        "uses_context",
        "costly",
        "steps",
        "constant",
        "count_up_to",
    )

    def __init__(
        self,
        fn: Fn,
        type_: str | None,
        *,
        uses_this: bool = False,
        uses_context: bool = False,
        costly: bool = False,
        steps: tuple[Step, ...] | None = None,
        constant: Items | None = None,
        count_up_to: Callable[[Items, Env, int], int] | None = None,
    ) -> None:
        self.fn = fn
        self.type = type_
        self.uses_this = uses_this
        self.uses_context = uses_context
        self.costly = costly
        #: When the expression is a chain of steps from ``$this`` (``a.b.count()``):
        #: those steps, so that a longer chain compiles to one closure.
        self.steps = steps
        #: When the result is known at compile time (a literal, ``'a' | 'b'``): the
        #: result, which ``fn`` returns on every call and nobody changes.
        self.constant = constant
        #: For a count that can stop early (``children().count()``): ``(this, env,
        #: limit)`` → the count, or any number from ``limit`` up to it once it is reached;
        #: a comparison with ``n`` needs no more than ``n + 1``.
        self.count_up_to = count_up_to


#: What is evaluated without reading its environment (an expression with no variable and
#: no iteration, operators on constants) is given: shared, never changed.
NO_ENVIRONMENT = Env([], None, None)


class Invocation:
    """A compiled invocation (member or function) applied to an input collection:
    ``fn(items, this, env)``; the flags as for :class:`Compiled`, for its arguments.
    ``step``, for an invocation that depends on its input alone (member access,
    ``count()``, ``exists()``…): the same as ``items -> items``."""

    __slots__ = ("fn", "type", "uses_this", "uses_context", "costly", "step")

    def __init__(
        self,
        fn: InvocationFn,
        type_: str | None,
        *,
        uses_this: bool = False,
        uses_context: bool = False,
        costly: bool = False,
        step: Step | None = None,
    ) -> None:
        self.fn = fn
        self.type = type_
        self.uses_this = uses_this
        self.uses_context = uses_context
        self.costly = costly
        self.step = step
