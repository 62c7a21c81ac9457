"""Settings of the fuzzing suite: fixed seeds and a bounded run by default (what ``make
test`` and CI run), a longer random run with ``FHIR_INVARIANTS_FUZZ=long``.

    FHIR_INVARIANTS_FUZZ=long .venv/bin/pytest tests/fuzz            # 20x the cases
    FHIR_INVARIANTS_FUZZ=long FHIR_INVARIANTS_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/fuzz

The long run draws from the official R5 examples of up to 500 KB (``tools/fhir_packages.py``),
the default one from the 74 vendored in ``tests/fixtures/r5-examples``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, settings

LONG = os.environ.get("FHIR_INVARIANTS_FUZZ") == "long"

settings.register_profile(
    "fuzz-ci",
    derandomize=True,  # a fixed seed per test: CI sees the same cases every run
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz-long",
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def examples(default: int) -> int:
    """The number of cases of a test: ``default`` in CI, 20 times it (or
    ``$FHIR_INVARIANTS_FUZZ_EXAMPLES``) in a long run."""
    if not LONG:
        return default
    return int(os.environ.get("FHIR_INVARIANTS_FUZZ_EXAMPLES", default * 20))


PROFILE = "fuzz-long" if LONG else "fuzz-ci"


#: A hang guard for one case (a backtracking regex never ends), not a timing.
HANG_GUARD = 60


@contextmanager
def must_finish() -> Iterator[None]:
    def hang(signum: int, frame: object) -> None:
        raise AssertionError(f"still running after {HANG_GUARD} s: it hangs")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(HANG_GUARD)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
