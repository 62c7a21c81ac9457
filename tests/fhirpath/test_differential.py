"""The compiled evaluator against the reference (fhirpathpy), on official R5 examples.

Every constraint of the bundled definitions is evaluated on every occurrence where it
applies, in a corpus of official examples: the R5 examples vendored in
``tests/fixtures/r5-examples``, the official ImagingSelection examples, and the first
three of each resource type of the mixed benchmark corpus
(``tools.fhir_packages.mixed_corpus()``). Both
evaluators must give the same result collections (normalised: the reference gives
fhirpathpy's quantity and date objects) and the same evaluation errors, and validation
with either must report the same issues, issue for issue.

Where the official FHIRPath suite rules fhirpathpy wrong and the two differ on this
corpus, the difference is listed in :data:`KNOWN_DIFFERENCES` with the suite case that
decides it. There are none today.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time

import engine
from engine.fhirpath import FhirPathEvaluationError
from engine.fhirpath.compiled import CompiledEvaluator
from engine.fhirpath.compiled.temporal import Temporal
from engine.fhirpath.compiled.values import Quantity
from engine.fhirpath.evaluation import Session
from engine.fhirpath.explain import explain
from engine.fhirpath.reference.evaluator import ReferenceEvaluator
from engine.io.fhir_xml import xml_to_json
from engine.model import Constraint, Definitions
from engine.validation.walker import Occurrence, occurrences
from tests.imagingselection_examples import FOLDER as IMAGINGSELECTION
from tools.fhir_packages import mixed_corpus

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

_PER_TYPE = 3
#: (resource file, constraint key) → the suite case ruling the reference wrong there.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return engine.bundled_definitions()


@pytest.fixture(scope="module")
def corpus(definitions: Definitions) -> list[tuple[str, dict[str, Any]]]:
    resources = [
        (path.name, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted((FIXTURES / "r5-examples").glob("*.json"))
    ]
    for path in sorted(IMAGINGSELECTION.iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            resources.append((path.name, json.loads(text)))
        elif path.suffix == ".xml":
            resources.append((path.name, xml_to_json(text, definitions)))
    taken: Counter[str] = Counter()
    for name, data in mixed_corpus():
        resource = json.loads(data)
        if taken[resource["resourceType"]] < _PER_TYPE:
            taken[resource["resourceType"]] += 1
            resources.append((name, resource))
    return resources


def test_the_corpus_is_large_and_varied(corpus):
    assert len(corpus) > 350
    assert len({resource["resourceType"] for _, resource in corpus}) > 150


@dataclass(frozen=True)
class _Evaluation:
    resource: str
    occurrence: Occurrence
    constraint: Constraint
    compiled: Any
    reference: Any


@pytest.fixture(scope="module")
def compiled(definitions: Definitions) -> CompiledEvaluator:
    return CompiledEvaluator(definitions)


@pytest.fixture(scope="module")
def evaluations(definitions, corpus, compiled) -> list[_Evaluation]:
    """Every constraint on every occurrence, evaluated with both evaluators (the
    compiled one with one session per resource, as a validator keeps it)."""
    reference = ReferenceEvaluator(definitions)
    plan = engine.Validator(definitions, evaluator="fhirpathpy").plan
    supported = compiled.supported_functions() & reference.supported_functions()
    found = []
    for name, resource in corpus:
        session = Session()
        for occurrence in occurrences(plan, resource):
            for constraint in _constraints(definitions, occurrence):
                if not engine.fhirpath.functions_used(constraint.expression) <= supported:
                    continue
                focus_type = occurrence.fhirpath_type
                mine = _outcome(compiled, constraint, occurrence, focus_type, session)
                theirs = _outcome(reference, constraint, occurrence, focus_type, None)
                found.append(_Evaluation(name, occurrence, constraint, mine, theirs))
    return found


def test_every_constraint_on_every_occurrence_gives_the_same_result(evaluations, compiled):
    differences = [
        (e.resource, e.occurrence.location, e.constraint.key, e.compiled, e.reference)
        for e in evaluations
        if e.compiled != e.reference and (e.resource, e.constraint.key) not in KNOWN_DIFFERENCES
    ]
    assert differences == []
    assert len(evaluations) > 30_000
    assert len({e.constraint.key for e in evaluations}) > 150
    assert sum(e.compiled == [False] for e in evaluations) > 40
    assert compiled.fallbacks == []


def test_validation_reports_the_same_issues(definitions, corpus):
    """Through the validator, on the vendored examples, which come first in the corpus
    (the occurrences of the whole corpus are compared above)."""
    compiled = engine.Validator(definitions, evaluator="compiled")
    reference = engine.Validator(definitions, evaluator="fhirpathpy")
    count = len(list((FIXTURES / "r5-examples").glob("*.json")))
    count += len([p for p in IMAGINGSELECTION.iterdir() if p.suffix in (".json", ".xml")])
    vendored = corpus[:count]
    differing = [
        name
        for name, resource in vendored
        if [str(i) for i in compiled.validate(resource).issues]
        != [str(i) for i in reference.validate(resource).issues]
    ]
    assert len(vendored) > 90
    assert differing == []


def test_every_failure_of_the_corpus_is_explained(evaluations, compiled):
    """Each constraint that fails on an occurrence gets an explanation whose result is
    the evaluation's, and at least one step."""
    failures = [
        e for e in evaluations if e.compiled != "error" and not engine.fhirpath.passes(e.compiled)
    ]
    for failure in failures:
        occurrence = failure.occurrence
        explanation = explain(
            compiled,
            failure.constraint.expression,
            occurrence.fhirpath_type,
            occurrence.value,
            resource=occurrence.resource,
            root_resource=occurrence.root_resource,
            focus_extension=occurrence.extension,
        )
        assert explanation.steps, (failure.constraint.key, occurrence.location)
        assert _normalised(list(explanation.result or ())) == failure.compiled
        assert explanation.text()
    assert len(failures) > 40


def test_a_difference_would_be_seen(definitions):
    """The comparison is not vacuous: a resource that fails a constraint under one
    evaluator and not the other would be reported (here, by comparing with a rule that
    really differs)."""
    compiled = CompiledEvaluator(definitions)
    patient = {"resourceType": "Patient", "active": True}
    one = compiled.compile("active", "Patient")
    other = compiled.compile("active.not()", "Patient")
    assert _normalised(one(patient, resource=patient, root_resource=patient)) != _normalised(
        other(patient, resource=patient, root_resource=patient)
    )


def _constraints(definitions: Definitions, occurrence: Occurrence) -> list[Constraint]:
    """The constraints the validator applies to an occurrence: the element's own (and
    those of the element a content reference names), then its type's and their bases'."""
    found = list(occurrence.element.constraints)
    reference = occurrence.element.content_reference
    if reference is not None:
        target = definitions.content_target(occurrence.sd, reference)
        if target is not None:
            found.extend(target[1].constraints)
    type_name = occurrence.type_code
    if type_name is None:
        element = occurrence.element
        if element.parent_path is None:
            type_name = occurrence.sd.name
        else:
            type_name = element.types[0].code if element.types else "BackboneElement"
    for sd in definitions.lineage(type_name):
        if sd is occurrence.sd and occurrence.element is sd.root:
            continue
        found.extend(sd.root.constraints)
    return list({c.key: c for c in found}.values())


def _outcome(
    evaluator: Any,
    constraint: Constraint,
    occurrence: Occurrence,
    focus_type: str,
    session: Session | None,
) -> Any:
    compiled = evaluator.compile(constraint.expression, focus_type)
    try:
        result = compiled(
            occurrence.value,
            resource=occurrence.resource,
            root_resource=occurrence.root_resource,
            focus_extension=occurrence.extension,
            session=session,
        )
    except FhirPathEvaluationError:
        # The messages differ between the two; that it fails is what counts.
        return "error"
    return _normalised(result)


def _normalised(values: list[Any]) -> list[Any]:
    return [_value(value) for value in values]


def _value(value: Any) -> Any:
    if isinstance(value, FP_Quantity):
        return ("quantity", Decimal(str(value.value)), str(value.unit).strip("'"))
    if isinstance(value, Quantity):
        return ("quantity", value.value, value.unit)
    if isinstance(value, FP_DateTime | FP_Time):
        return ("temporal", value.asStr)
    if isinstance(value, Temporal):
        return ("temporal", value.text)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return ("number", Decimal(str(value)))
    return value
