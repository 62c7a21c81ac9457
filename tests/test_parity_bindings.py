"""Required bindings against the value set's codes, deprecated codes as warnings (issue 12,
item 2).

Test data: official R5 examples read from files (``tests/fixtures/parity`` and
``tests/fixtures/r5-examples``, see their READMEs) and the official ImagingSelection
examples; the failing cases change one code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.validation.checks import BindingCodes, check_binding
from tests.conftest import DEFINITIONS

FIXTURES = Path(__file__).parent / "fixtures"
PARITY = FIXTURES / "parity"
R5_EXAMPLES = FIXTURES / "r5-examples"
DISCRIMINATOR = "StructureDefinition.differential.element[1].slicing.discriminator[0].type"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _issues(validator: engine.Validator, resource: Any, code: str) -> list[tuple[str, str, str]]:
    report = validator.validate(resource)
    return [(i.severity, i.location, i.message) for i in report.issues if i.code == code]


def test_a_deprecated_code_is_a_warning_not_an_error(validator) -> None:
    # R5 deprecates the slicing discriminator type `pattern` (CodeSystem discriminator-type:
    # status deprecated, deprecationDate 2022-08-19); it is still in the value set.
    composition = _load(PARITY / "StructureDefinition-example-composition.json")
    assert _issues(validator, composition, "code-invalid") == []
    assert _issues(validator, composition, "business-rule") == [
        (
            "warning",
            DISCRIMINATOR,
            "The concept 'pattern' is deprecated and its use should be reviewed "
            "(value set 'DiscriminatorType')",
        )
    ]
    composition["differential"]["element"][1]["slicing"]["discriminator"][0]["type"] = "value"
    assert _issues(validator, composition, "business-rule") == []


def test_search_mode_outcome_is_deprecated_too(validator) -> None:
    bundle = _load(R5_EXAMPLES / "Bundle-bundle-search-warning.json")
    found = _issues(validator, bundle, "business-rule")
    assert [(s, m.split(" (")[0]) for s, _, m in found] == [
        ("warning", "The concept 'outcome' is deprecated and its use should be reviewed")
    ]
    assert found[0][1].endswith(".search.mode")


def test_the_value_set_wins_over_the_short_description(validator) -> None:
    # R5's Endpoint.status short description still lists `test`, which the value set
    # endpoint-status no longer has: the value set is what the HL7 validator checks.
    endpoint = _load(PARITY / "Endpoint-example.json")
    assert _issues(validator, endpoint, "code-invalid") == []
    short = validator.definitions["Endpoint"].element("Endpoint.status").short
    assert short.endswith("| test")
    endpoint["status"] = "test"
    ((severity, location, message),) = _issues(validator, endpoint, "code-invalid")
    assert (severity, location) == ("error", "Endpoint.status")
    assert message == (
        "The value 'test' is not in the required value set 'EndpointStatus' "
        "(active, entered-in-error, error, off, suspended)"
    )


def test_imagingselection_codes_come_from_its_own_value_set_data(validator, example) -> None:
    selection = example("waveform")
    assert _issues(validator, selection, "code-invalid") == []
    selection["status"] = "inactive"  # newer than R5's imagingselection-status
    assert _issues(validator, selection, "code-invalid") == []
    selection["status"] = "lost"
    ((_, location, message),) = _issues(validator, selection, "code-invalid")
    assert location == "ImagingSelection.status"
    assert message == (
        "The value 'lost' is not in the required value set 'ImagingSelectionStatus' "
        "(available, entered-in-error, inactive, unknown)"
    )
    region = example("waveform")
    region["instance"][0]["imageRegion2D"] = [{"regionType": "multipoint", "coordinate": [1, 2]}]
    assert _issues(validator, region, "code-invalid") == []  # newer than R5
    region["instance"][0]["imageRegion2D"][0]["regionType"] = "interpolated"  # R5 only
    assert [loc for _, loc, _ in _issues(validator, region, "code-invalid")] == [
        "ImagingSelection.instance[0].imageRegion2D[0].regionType"
    ]


def test_the_short_list_is_used_only_without_value_set_data(tmp_path: Path, example) -> None:
    folder = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS, folder, ignore=shutil.ignore_patterns("rules"))
    (folder / "ImagingSelection.valuesets.yaml").unlink()
    validator = engine.Validator(engine.load_definitions(folder))
    selection = example("waveform")
    selection["status"] = "inactive"
    assert _issues(validator, selection, "code-invalid") == []
    selection["status"] = "lost"
    ((_, _, message),) = _issues(validator, selection, "code-invalid")
    assert message.startswith("The value 'lost' is not in the required value set ")
    assert message.endswith(
        "; the value set cannot be expanded from the definitions' data, so the codes are "
        "those the element's description lists"
    )


def test_the_generated_value_sets_leave_the_hand_maintained_ones_out() -> None:
    generated = (DEFINITIONS / "r5.valuesets.yaml").read_text(encoding="utf-8")
    own = (DEFINITIONS / "ImagingSelection.valuesets.yaml").read_text(encoding="utf-8")
    assert own.startswith("# Hand-maintained")
    assert "http://hl7.org/fhir/ValueSet/imagingselection-status:" in own
    assert "imagingselection-status" not in generated
    definitions = engine.load_definitions(DEFINITIONS)
    status = definitions.value_set("http://hl7.org/fhir/ValueSet/imagingselection-status")
    assert status is not None and status.contains("inactive")
    assert engine.bundled_definitions().value_set(status.url) == status


@pytest.mark.parametrize("codeable", [False, True])
def test_a_deprecated_coding_warns_once_the_value_is_allowed(codeable: bool) -> None:
    # No R5 Coding or CodeableConcept binding has a deprecated code: the check itself.
    system = "http://hl7.org/fhir/discriminator-type"
    allowed = BindingCodes(
        "DiscriminatorType",
        frozenset({(system, "pattern"), (system, "value")}),
        frozenset({(system, "pattern")}),
    )
    coding = {"system": system, "code": "pattern"}
    value = {"coding": [{"system": system, "code": "value"}, coding]} if codeable else coding
    kind = "CodeableConcept" if codeable else "Coding"
    issues = list(check_binding(allowed, kind, value, "X.y"))
    assert [(i.severity, i.code) for i in issues] == [("warning", "business-rule")]
