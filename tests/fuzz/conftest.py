"""Settings of the fuzzing suite: fixed seeds and a bounded run by default (what ``make
test`` and CI run), a longer random run with ``FHIR_INVARIANTS_FUZZ=long``.

    FHIR_INVARIANTS_FUZZ=long .venv/bin/pytest tests/fuzz            # 20x the cases
    FHIR_INVARIANTS_FUZZ=long FHIR_INVARIANTS_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/fuzz

The long run draws from the official R5 examples of up to 500 KB (``tools/fhir_packages.py``),
the default one from the 74 vendored in ``tests/fixtures/r5-examples``.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager

from hypothesis import HealthCheck, settings

from tests import hang_guard

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


def must_finish() -> AbstractContextManager[None]:
    """The hang guard, shorter here: a fuzz case is small."""
    return hang_guard.must_finish(HANG_GUARD)
