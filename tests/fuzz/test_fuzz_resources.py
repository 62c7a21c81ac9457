"""Fuzzing the validator with real R5 resources (issue 13).

- No exception escapes, whatever the resource: the validator, the batch checker (bytes
  in, including malformed JSON) and the three output formats (valid UTF-8 out).
- No resource takes more than its time budget (plus the slack of one uninterruptible
  step: a property of the budget's enforcement, with a wide margin, not a speed test).
- A change known to make a resource invalid never yields ``valid=True``.
"""

from __future__ import annotations

import io
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.io.batch import Checker, Result
from engine.io.formats import FORMATS, make_output
from engine.io.inputs import RawResource
from tests.fuzz import strategies
from tests.fuzz.conftest import PROFILE, examples

settings.load_profile(PROFILE)

#: The budget under test, and the most it may be overrun by: evaluation checks the
#: deadline between occurrences and at every FHIRPath step, so the overrun is one step.
BUDGET = 5.0
SLACK = 10.0


@pytest.fixture(scope="module")
def validator(definitions: engine.Definitions) -> engine.Validator:
    return engine.Validator(definitions, time_budget=BUDGET)


def _render(name: str, report: engine.Report) -> None:
    for name_ in FORMATS:
        stream = io.StringIO()
        output = make_output(name_, stream)
        output.write(Result(name, name, report))
        output.close()
        stream.getvalue().encode("utf-8")  # strict: lone surrogates must be escaped


@settings(max_examples=examples(60))
@given(data=st.data())
def test_no_exception_escapes_and_no_resource_outruns_its_budget(
    validator: engine.Validator, data: st.DataObject
) -> None:
    name, resource = data.draw(strategies.examples())
    mutated = data.draw(strategies.hostile_mutation(resource))
    start = time.monotonic()
    report = validator.validate(mutated)
    elapsed = time.monotonic() - start
    assert elapsed <= BUDGET + SLACK, f"{name}: {elapsed:.1f} s"
    assert all(
        issue.severity in ("fatal", "error", "warning", "information") for issue in report.issues
    )
    _render(name, report)


@settings(max_examples=examples(40))
@given(data=st.data())
def test_malformed_text_becomes_an_issue(
    definitions: engine.Definitions, data: st.DataObject
) -> None:
    checker = Checker(definitions, time_budget=BUDGET)
    name, raw = data.draw(st.sampled_from(strategies.corpus()))
    text = data.draw(strategies.byte_mutation(raw))
    result = checker(RawResource(name, name, text, "json"))
    _render(name, result.report)


@settings(max_examples=examples(60))
@given(data=st.data())
def test_an_invalidating_change_is_never_valid(
    validator: engine.Validator, definitions: engine.Definitions, data: st.DataObject
) -> None:
    name, resource = data.draw(strategies.examples())
    candidates = strategies.invalidations(definitions, resource)
    kinds = sorted({change.kind for change in candidates})
    if not kinds:
        return  # nothing in this example can be changed so (a bare resource)
    kind = data.draw(st.sampled_from(kinds))
    change = data.draw(st.sampled_from([c for c in candidates if c.kind == kind]))
    strategies.apply(resource, change)
    report = validator.validate(resource)
    assert not report.valid, f"{name}: {change} left the resource valid"
