"""Validating many inputs, in this process or in worker processes, results in input order.

    >>> from engine.io.inputs import read
    >>> results = check_all(read(["examples/imagingselection"]), DefinitionsSource(), jobs=2)
    >>> for result in results:
    ...     print(result.source.split("/")[-1], result.report.valid)
    imagingselection-example-2d-image-region-selection.json False
    ...
    imagingselection-example-waveform-channel-selection.xml True

A worker process loads the definitions and builds its :class:`~engine.Validator` once
(the pool initializer), then parses and validates the resources it is sent: parsing
(XML conversion included) is part of the work shared out, so the main process only
reads bytes. Results come back in input order whatever the number of processes, so
``--jobs 4`` prints exactly what ``--jobs 1`` prints.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from engine.fhirpath.evaluators import DEFAULT_EVALUATOR
from engine.io.inputs import InputError, RawResource, Unreadable, parse_with_issues
from engine.io.positions import resource_type_at, with_positions
from engine.model import Definitions
from engine.rules.sources import DefinitionsSource
from engine.validation.report import Issue, Report
from engine.validation.validator import DEFAULT_TIME_BUDGET, Validator

#: Resources sent to a worker at a time: large enough to amortize the inter-process
#: round trip, small enough to keep every worker busy until the end.
CHUNK_SIZE = 16


@dataclass(frozen=True, slots=True)
class Result:
    """The report on one resource (or unreadable input) and where it came from.

    ``unreadable`` is true when the input could not be read at all (a missing file),
    as opposed to read but malformed: the command line exits with 2 for those.
    ``resource_types`` gives, for each issue of ``report.issues`` in the same order, the
    type of the innermost resource the issue is in (a Bundle entry's type, not Bundle).
    """

    source: str
    file: str
    report: Report
    size: int = 0
    unreadable: bool = False
    resource_types: tuple[str | None, ...] = ()


class Checker:
    """Parses and validates one :class:`RawResource` at a time into a :class:`Result`.

    Never raises for bad input: malformed text becomes a report with one ``fatal``
    issue (code ``structure``), an unreadable input one with code ``processing``, and
    a failure inside the reader or the validator (a bug) one with code ``exception``
    that names it.

    With ``positions`` (the default), each issue of a resource that has issues gets the
    line and column of its element in the text (:mod:`engine.io.positions`), read after
    validation: resources without issues cost nothing more. ``time_budget`` (the seconds
    one resource may take), ``evaluator`` (the FHIRPath evaluator's name) and ``explain``
    (explain each failed constraint) are the :class:`~engine.validation.validator.Validator`'s.
    The issues of an XML document's form (element order, undefined attributes) come
    first in its report, then the validator's.
    """

    def __init__(
        self,
        definitions: Definitions,
        *,
        positions: bool = True,
        time_budget: float | None = DEFAULT_TIME_BUDGET,
        evaluator: str = DEFAULT_EVALUATOR,
        explain: bool = False,
    ) -> None:
        self.definitions = definitions
        self.validator = Validator(
            definitions, time_budget=time_budget, evaluator=evaluator, explain=explain
        )
        self.positions = positions

    def __call__(self, item: RawResource | Unreadable) -> Result:
        if isinstance(item, Unreadable):
            issue = Issue("fatal", "processing", "(input)", item.message)
            return Result(item.source, item.file, Report(issues=(issue,)), unreadable=True)
        try:
            parsed = parse_with_issues(item, self.definitions)
        except InputError as e:
            location = f"({e.position})" if e.position else "(document)"
            issue = Issue("fatal", "structure", location, e.message, None, e.line, e.column)
            return Result(item.source, item.file, Report(issues=(issue,)), len(item.data))
        except Exception as e:  # noqa: BLE001 - one bad input must not end the run
            issue = Issue("fatal", "exception", "(document)", f"reading failed: {e!r}")
            return Result(item.source, item.file, Report(issues=(issue,)), len(item.data))
        resource = parsed.resource
        try:
            report = self.validator.validate(resource)
        except Exception as e:  # noqa: BLE001 - one bad resource must not end the run
            issue = Issue("fatal", "exception", "(resource)", f"validation failed: {e!r}")
            try:
                report = Report.of((issue,), resource)
            except Exception:  # noqa: BLE001 - not even its type and id can be read
                report = Report(issues=(issue,))
        if parsed.issues:
            # What the syntax got wrong (XML element order…) comes first, as read.
            report = Report.of((*parsed.issues, *report.issues), resource, report.suppressed)
        if not report.issues:
            return Result(item.source, item.file, report, len(item.data))
        if self.positions:
            report = self._placed(report, item)
        types = tuple(resource_type_at(resource, i.location) for i in report.issues)
        return Result(item.source, item.file, report, len(item.data), resource_types=types)

    @staticmethod
    def _placed(report: Report, item: RawResource) -> Report:
        try:
            return with_positions(report, item)
        except Exception as e:  # noqa: BLE001 - a bug placing issues must not lose them
            issue = Issue("information", "exception", "(resource)", f"no positions: {e!r}")
            return replace(report, issues=(*report.issues, issue))


def check_all(
    items: Iterable[RawResource | Unreadable],
    definitions: DefinitionsSource,
    jobs: int = 1,
    *,
    loaded: Definitions | None = None,
    positions: bool = True,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
    evaluator: str = DEFAULT_EVALUATOR,
    explain: bool = False,
) -> Iterator[Result]:
    """Check every item, in order, with ``jobs`` processes.

    Each worker loads ``definitions`` itself; ``loaded`` saves loading them again in
    this process when ``jobs`` is 1. The other options are :class:`Checker`'s.
    """
    options: dict[str, Any] = {
        "time_budget": time_budget,
        "evaluator": evaluator,
        "explain": explain,
    }
    if jobs <= 1:
        definitions_ = loaded if loaded is not None else definitions.load()
        checker = Checker(definitions_, positions=positions, **options)
        yield from map(checker, items)
        return
    yield from _parallel(items, definitions, jobs, positions, options)


_worker: Checker | None = None


def _init_worker(definitions: DefinitionsSource, positions: bool, options: dict[str, Any]) -> None:
    global _worker
    # A worker may start with the signals blocked (see _signals_for_this_thread).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _DIRECTED)
    # The parent decides what an interrupt means (a terminal's Ctrl-C reaches the whole
    # process group): workers ignore it and end when told, or when the parent is gone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent()
    _worker = Checker(definitions.load(), positions=positions, **options)


def _end_with_parent() -> None:
    """End this worker as soon as its parent process ends, however it ends (SIGTERM,
    SIGKILL, a crash): the pool's queues would otherwise keep it waiting for ever."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _check_batch(batch: list[RawResource | Unreadable]) -> list[Result]:
    assert _worker is not None, "the pool initializer builds the checker"
    return [_worker(item) for item in batch]


def _batches(
    items: Iterable[RawResource | Unreadable], size: int
) -> Iterator[list[RawResource | Unreadable]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _parallel(
    items: Iterable[RawResource | Unreadable],
    definitions: DefinitionsSource,
    jobs: int,
    positions: bool,
    options: dict[str, Any],
) -> Iterator[Result]:
    # A bounded window of batches in flight: input is read only as fast as it is
    # validated (a multi-gigabyte NDJSON file is never held whole), and results are
    # taken in submission order, which is input order.
    window = jobs * 4
    pending: deque[Future[list[Result]]] = deque()
    # spawn, not fork: the same behaviour on every platform, and no copy of this
    # process's threads or locks in the children. A worker that cannot start makes the
    # executor raise BrokenProcessPool instead of being restarted forever.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(definitions, positions, options),
    )
    # The first task starts the executor's threads, which inherit this thread's mask. (Not
    # before creating the pool: multiprocessing's resource tracker, started then, unblocks
    # SIGINT and SIGTERM in the thread that starts it.)
    with _signals_for_this_thread():
        pool.submit(_ready)
    with pool:
        try:
            for batch in _batches(items, CHUNK_SIZE):
                pending.append(pool.submit(_check_batch, batch))
                if len(pending) >= window:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        except BaseException:
            # Interrupted, terminated, or the reader went away: the work in flight is
            # not wanted, so the workers are stopped now rather than finishing it.
            _stop_workers(pool)
            raise
        finally:
            for future in pending:
                future.cancel()


@contextlib.contextmanager
def _signals_for_this_thread() -> Iterator[None]:
    """Threads started inside leave SIGTERM and SIGINT to this (the main) thread.

    A signal goes to any thread that does not block it, and Python runs its handler in
    the main thread only when that thread next runs: if the executor's helper thread
    took a SIGTERM while the main thread was blocked writing to a full pipe (a reader
    that stopped reading), the run would never end.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DIRECTED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_DIRECTED = {signal.SIGTERM, signal.SIGINT}


def _ready() -> None:
    """A task that does nothing: submitting it starts the pool."""


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    # The executor has no public way to stop running work; its worker processes are
    # multiprocessing.Process objects, which do.
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
