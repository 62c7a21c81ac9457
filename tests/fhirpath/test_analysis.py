"""Static analysis: unknown element names, against the seed definitions and all of R5."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.fhirpath import parse
from engine.fhirpath.analysis import functions_used, unknown_elements

from .r5 import r5_definitions
from .suite import r5_constraints

_SEED = Path(__file__).resolve().parents[2] / "definitions" / "ImagingSelection.md"


@pytest.fixture(scope="module")
def seed():
    return engine.load_definitions(_SEED)


@pytest.fixture(scope="module")
def r5():
    return r5_definitions()


def _r5_entries(r5):
    return [e for e in r5_constraints()["defined"] if e["structure"] in r5]


def test_the_seed_constraints_name_only_real_elements(seed):
    constraints = seed["ImagingSelection"].constraints
    assert [c.key for c in constraints] == [f"isl-{n}" for n in range(1, 12)]
    assert {c.key: unknown_elements(c.expression, c.context, seed) for c in constraints} == {
        c.key: [] for c in constraints
    }


@pytest.mark.parametrize(
    ("expression", "context", "messages"),
    [
        (
            "seriesUID.exists()",
            "ImagingSelection",
            ["'seriesUID' is not an element of ImagingSelection"],
        ),
        (
            "instance.frameNumbr.exists()",
            "ImagingSelection",
            ["'frameNumbr' is not an element of ImagingSelection.instance"],
        ),
        (
            "imageRegion2D.coordinat.count()",
            "ImagingSelection.instance",
            ["'coordinat' is not an element of ImagingSelection.instance.imageRegion2D"],
        ),
        (
            "instance.where(uidd.exists())",
            "ImagingSelection",
            ["'uidd' is not an element of ImagingSelection.instance"],
        ),
        (
            "instance.all($this.uidd.exists())",
            "ImagingSelection",
            ["'uidd' is not an element of ImagingSelection.instance"],
        ),
        ("instance.uid.bar", "ImagingSelection", ["'bar' is not an element of id"]),
        (
            "ImagingSelection.instanse",
            "ImagingSelection",
            ["'instanse' is not an element of ImagingSelection"],
        ),
        (
            "%resource.studyUID",
            "ImagingSelection.instance",
            ["'studyUID' is not an element of ImagingSelection"],
        ),
        (
            "seriesUID.exists() or seriesUID.empty()",
            "ImagingSelection",
            ["'seriesUID' is not an element of ImagingSelection"],
        ),
    ],
)
def test_reports_names_that_are_not_elements(seed, expression, context, messages):
    assert unknown_elements(expression, context, seed) == messages


@pytest.mark.parametrize(
    "expression",
    [
        # Data types and bases that are not loaded: nothing below them is checked.
        "identifier.foo.exists()",
        "subject.whatever",
        "meta.profile.exists() and text.div.exists() and extension.url.exists()",
        "instance.extension('http://x').valueString.exists()",
        # Inherited elements are known even without the base types loaded.
        "id.exists() and implicitRules.exists() and modifierExtension.exists()",
        "instance.id.exists() and instance.modifierExtension.exists()",
        # Primitives always have id, extension and value.
        "studyUid.extension.exists() and studyUid.id.exists() and studyUid.value.exists()",
        # Polymorphic or unknowable types stop the checking.
        "contained.anything",
        "subject.resolve().anything",
        "descendants().anything and children().anything",
        "%rootResource.anything and %vs.anything",
        "ImagingSelection.instance.uid.exists() and Patient.name.exists()",
        "instance.imageRegion2D.coordinate.count() mod 2 = 0",
    ],
)
def test_does_not_report_what_it_cannot_know(seed, expression):
    assert unknown_elements(expression, "ImagingSelection", seed) == []


def test_an_unknown_context_checks_nothing(seed):
    assert unknown_elements("foo", "Nothing", seed) == []
    assert unknown_elements("foo", "ImagingSelection.nothing", seed) == []


def test_no_r5_constraint_names_an_unknown_element(r5):
    entries = _r5_entries(r5)
    problems = {
        f"{e['key']} on {e['path']}": found
        for e in entries
        if (found := unknown_elements(e["expression"], e["path"], r5))
    }
    assert len(entries) == 380
    assert problems == {}


def test_a_misspelt_name_in_an_r5_constraint_is_caught(r5):
    """Misspell each member name of every R5 constraint in turn: analysis must notice
    nearly all (the rest sit below resolve(), descendants(), %rootResource…)."""
    caught = total = 0
    for entry in _r5_entries(r5):
        expression = entry["expression"]
        for member in parse(expression).find_data("member"):
            token = member.children[0].children[0]
            if token[:1].isupper() or token.startswith("`"):
                continue
            misspelt = f"{expression[: token.start_pos]}{token}Zz{expression[token.end_pos :]}"
            total += 1
            caught += bool(unknown_elements(misspelt, entry["path"], r5))
    assert total > 1100
    assert caught / total > 0.93


@pytest.mark.parametrize(
    ("expression", "context", "messages"),
    [
        ("value.exists() and valueQuantity.unit.exists()", "Observation", []),
        ("valueQuantity.unitt", "Observation", ["'unitt' is not an element of Quantity"]),
        ("valueFoo.exists()", "Observation", ["'valueFoo' is not an element of Observation"]),
        ("value.unitt", "Observation", []),
        ("value.ofType(Quantity).unitt", "Observation", ["'unitt' is not an element of Quantity"]),
        ("(value as Quantity).unitt", "Observation", ["'unitt' is not an element of Quantity"]),
        ("(value as FHIR.Period).start", "Observation", []),
        ("component.valueQuantity.value > 0", "Observation", []),
        (
            "component.code.codingg",
            "Observation",
            ["'codingg' is not an element of CodeableConcept"],
        ),
        (
            "item.item.linkIdd",
            "Questionnaire",
            ["'linkIdd' is not an element of Questionnaire.item"],
        ),
        ("contained.id", "Observation", []),
        ("extension.valueString.length() > 0 and extension.url.exists()", "Patient", []),
        ("entry.resource.anything", "Bundle", []),
        ("entry.resource.ofType(Patient).nam", "Bundle", ["'nam' is not an element of Patient"]),
        ("text.`div`.exists()", "DomainResource", []),
        ("contained.contained.empty()", "DomainResource", []),
        ("low.value < high.valu", "Range", ["'valu' is not an element of Quantity"]),
        ("code | category.coding.codee", "Observation", ["'codee' is not an element of Coding"]),
        ("(code | status).text", "Observation", []),
    ],
)
def test_on_r5_types(r5, expression, context, messages):
    assert unknown_elements(expression, context, r5) == messages


def test_functions_used():
    assert functions_used("name.where(given.exists()).select($this.family).resolve()") == {
        "where",
        "exists",
        "select",
        "resolve",
    }
    assert functions_used("a.b = c") == frozenset()
    assert functions_used("a.is(Quantity) and b.contains('x')") == {"is", "contains"}


def test_r5_constraints_need_only_a_few_unsupported_functions():
    from engine.fhirpath import supported_functions

    entries = r5_constraints()
    expressions = [e["expression"] for e in entries["defined"]] + entries["snapshot_only"]
    missing = set().union(*(functions_used(e) - supported_functions() for e in expressions))
    assert missing == {"resolve", "memberOf"}
