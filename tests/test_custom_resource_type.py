"""A resource type nobody here coded for: one definitions file, no code change.

The file below follows the format of definitions/ImagingSelection.md; the validator
applies its cardinalities, types, required codes, reference targets and invariants,
plus the inherited DomainResource and data-type rules from the bundled definitions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from tests.conftest import DEFINITIONS

_JAR_CONSTRAINTS = "; ".join(
    [
        "jar-1 | error | A sealed jar SHALL record when it was sealed"
        " | status = 'sealed' implies sealed.exists()",
        "jar-2 | warning | Volume SHOULD be given in mL"
        " | volume.exists() implies volume.code = 'mL'",
    ]
)

SPECIMEN_JAR = f"""\
---
type: "resource-definitions"
title: "SpecimenJar Definitions"
resource: "SpecimenJar"
---
# SpecimenJar Definitions
## SpecimenJar
A jar holding specimens in a lab
**Definition:** A physical container of specimens, tracked by the lab.
**Cardinality:** 0..*
**Constraints:** {_JAR_CONSTRAINTS}
## SpecimenJar.status
open | sealed | discarded
**Definition:** Where the jar is in its life.
**Cardinality:** 1..1
**Type:** [code](/code)
**Binding:** required:[jar-status](/valueset-jar-status)
## SpecimenJar.sealed
When the jar was sealed
**Definition:** The time the jar was sealed.
**Conditions:** jar-1
**Cardinality:** 0..1
**Type:** [dateTime](/dateTime)
## SpecimenJar.volume
How much it holds
**Definition:** The jar's volume.
**Conditions:** jar-2
**Cardinality:** 0..1
**Type:** [Quantity](/Quantity)
## SpecimenJar.owner
Who keeps the jar
**Definition:** The lab or person responsible.
**Cardinality:** 0..1
**Type:** Reference([Organization](/Organization), [Practitioner](/Practitioner))
## SpecimenJar.label
Labels on the jar
**Definition:** The text printed on each label.
**Cardinality:** 0..*
**Type:** [BackboneElement](/BackboneElement)
## SpecimenJar.label.text
Label text
**Definition:** What the label says.
**Cardinality:** 1..1
**Type:** [string](/string)
"""


@pytest.fixture(scope="module")
def jar_validator(tmp_path_factory) -> engine.Validator:
    folder: Path = tmp_path_factory.mktemp("custom")
    (folder / "SpecimenJar.md").write_text(SPECIMEN_JAR, encoding="utf-8")
    return engine.Validator(engine.load_definitions(DEFINITIONS, folder))


def errors(validator: engine.Validator, resource: dict) -> list[tuple[str, str, str | None]]:
    report = validator.validate(resource)
    return sorted(
        (i.code, i.location, i.key) for i in report.issues if i.severity in ("error", "fatal")
    )


def jar(**content) -> dict:
    text = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Jar</div>'}
    return {"resourceType": "SpecimenJar", "id": "j1", "text": text, **content}


def test_a_valid_jar(jar_validator):
    resource = jar(
        status="sealed",
        sealed="2026-11-27T10:00:00Z",
        volume={"value": 250, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"},
        owner={"reference": "Organization/lab"},
        label=[{"text": "Batch 7"}],
    )
    assert jar_validator.validate(resource).issues == ()


def test_its_invariants_are_enforced(jar_validator):
    assert errors(jar_validator, jar(status="sealed")) == [("invariant", "SpecimenJar", "jar-1")]
    report = jar_validator.validate(
        jar(status="open", volume={"value": 1, "system": "http://unitsofmeasure.org", "code": "L"})
    )
    assert [(i.severity, i.key) for i in report.issues] == [("warning", "jar-2")]


def test_its_structure_codes_and_references_are_checked(jar_validator):
    resource = jar(
        status="lost",
        sealed="yesterday",
        owner={"reference": "Patient/p1"},
        label=[{}],
        colour="green",
    )
    assert errors(jar_validator, resource) == [
        ("code-invalid", "SpecimenJar.status", None),
        ("invariant", "SpecimenJar.label[0]", "ele-1"),
        ("required", "SpecimenJar.label[0]", None),
        ("structure", "SpecimenJar.colour", None),
        ("structure", "SpecimenJar.owner", None),
        ("value", "SpecimenJar.sealed", None),
    ]


def test_inherited_rules_apply_to_the_new_type(jar_validator):
    resource = jar(status="open")
    resource["contained"] = [{"resourceType": "Organization", "id": "o1", "name": "Lab"}]
    # dom-3: a contained resource must be referenced from the container
    assert errors(jar_validator, resource) == [("invariant", "SpecimenJar", "dom-3")]
    resource["owner"] = {"reference": "#o1"}
    assert errors(jar_validator, resource) == []
