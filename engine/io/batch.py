"""Validating many inputs, in this process or in worker processes, results in input order.

    >>> from engine.io.inputs import read
    >>> for result in check_all(read(["examples"]), DefinitionsSource(), jobs=4):
    ...     print(result.source, result.report.valid)

A worker process loads the definitions and builds its :class:`~engine.Validator` once
(the pool initializer), then parses and validates the resources it is sent: parsing
(XML conversion included) is part of the work shared out, so the main process only
reads bytes. Results come back in input order whatever the number of processes, so
``--jobs 4`` prints exactly what ``--jobs 1`` prints.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice

from engine.io.inputs import InputError, RawResource, Unreadable, parse_with_issues
from engine.model import Definitions
from engine.rules.sources import DefinitionsSource
from engine.validation.report import Issue, Report
from engine.validation.validator import Validator

#: Resources sent to a worker at a time: large enough to amortize the inter-process
#: round trip, small enough to keep every worker busy until the end.
CHUNK_SIZE = 16


@dataclass(frozen=True, slots=True)
class Result:
    """The report on one resource (or unreadable input) and where it came from.

    ``unreadable`` is true when the input could not be read at all (a missing file),
    as opposed to read but malformed: the command line exits with 2 for those.
    """

    source: str
    file: str
    report: Report
    size: int = 0
    unreadable: bool = False


class Checker:
    """Parses and validates one :class:`RawResource` at a time into a :class:`Result`.

    Never raises for bad input: malformed text becomes a report with one ``fatal``
    issue (code ``structure``), an unreadable input one with code ``processing``, and
    a failure inside the validator (a bug) one with code ``exception`` that names it.
    The issues of an XML document's form (element order, undefined attributes) come
    first in its report, then the validator's.
    """

    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self.validator = Validator(definitions)

    def __call__(self, item: RawResource | Unreadable) -> Result:
        if isinstance(item, Unreadable):
            issue = Issue("fatal", "processing", "(input)", item.message)
            return Result(item.source, item.file, Report(issues=(issue,)), unreadable=True)
        try:
            parsed = parse_with_issues(item, self.definitions)
        except InputError as e:
            location = f"({e.position})" if e.position else "(document)"
            report = Report(issues=(Issue("fatal", "structure", location, e.message),))
            return Result(item.source, item.file, report, len(item.data))
        resource = parsed.resource
        try:
            report = self.validator.validate(resource)
        except Exception as e:  # noqa: BLE001 - one bad resource must not end the run
            issue = Issue("fatal", "exception", "(resource)", f"validation failed: {e!r}")
            report = Report.of((issue,), resource)
        if parsed.issues:
            # What the syntax got wrong (XML element order…) comes first, as read.
            report = Report.of((*parsed.issues, *report.issues), resource, report.suppressed)
        return Result(item.source, item.file, report, len(item.data))


def check_all(
    items: Iterable[RawResource | Unreadable],
    definitions: DefinitionsSource,
    jobs: int = 1,
    *,
    loaded: Definitions | None = None,
) -> Iterator[Result]:
    """Check every item, in order, with ``jobs`` processes.

    Each worker loads ``definitions`` itself; ``loaded`` saves loading them again in
    this process when ``jobs`` is 1.
    """
    if jobs <= 1:
        checker = Checker(loaded if loaded is not None else definitions.load())
        yield from map(checker, items)
        return
    yield from _parallel(items, definitions, jobs)


_worker: Checker | None = None


def _init_worker(definitions: DefinitionsSource) -> None:
    global _worker
    _worker = Checker(definitions.load())


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
    items: Iterable[RawResource | Unreadable], definitions: DefinitionsSource, jobs: int
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
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_init_worker, initargs=(definitions,)
    ) as pool:
        try:
            for batch in _batches(items, CHUNK_SIZE):
                pending.append(pool.submit(_check_batch, batch))
                if len(pending) >= window:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
