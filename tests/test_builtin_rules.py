"""The HL7 validator's built-in instance checks, as data (issue 12, item 5):
``definitions/hl7-validator.rules.yaml``, applied by default with the definitions, switchable
off, suppressible per key.

Test data: the HL7 validator's own Attachment cases (FHIR/fhir-test-cases
``validator/base64-ws/r5-*.json``, in ``tests/fixtures/parity``) and official R5 examples of
``tests/fixtures/r5-examples``; each failing case changes one part of such a resource.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.cli import main
from engine.fhirpath.content import element_ids
from tests.conftest import DEFINITIONS

FIXTURES = Path(__file__).parent / "fixtures"
PARITY = FIXTURES / "parity"
R5 = FIXTURES / "r5-examples"
RULES = DEFINITIONS / "hl7-validator.rules.yaml"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _builtin(validator: engine.Validator, resource: Any) -> list[tuple[str, str]]:
    return sorted(
        (i.key, i.location)
        for i in validator.validate(resource).issues
        if i.key is not None and i.key.startswith("hl7v-")
    )


@pytest.fixture(scope="module")
def bundled() -> engine.Validator:
    return engine.Validator()


def test_the_rules_are_on_by_default_with_both_loaders(bundled, validator) -> None:
    keys = {k for k in bundled.definitions.constraint_owners() if k.startswith("hl7v-")}
    assert len(keys) == 12
    assert keys == {k for k in validator.definitions.constraint_owners() if k.startswith("hl7v-")}
    off = engine.Validator(builtin_rules=False)
    assert not any(k.startswith("hl7v-") for k in off.definitions.constraint_owners())
    markdown = engine.load_definitions(DEFINITIONS, builtin_rules=False)
    assert not any(k.startswith("hl7v-") for k in markdown.constraint_owners())
    with pytest.raises(ValueError, match="builtin_rules=False"):
        engine.Validator(markdown, builtin_rules=False)


def test_every_rule_says_where_the_hl7_validator_makes_the_check() -> None:
    text = RULES.read_text(encoding="utf-8")
    blocks = text.split("\n  - key: ")[1:]
    assert len(blocks) == 12
    previous = text.split("\n  - key: ")
    for before, block in zip(previous, blocks, strict=False):
        comment = before.rsplit("\n\n", 1)[-1]
        assert "Validator" in comment, block.split("\n", 1)[0]


# -- Attachment: the HL7 validator's test cases --------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("r5-clean", []),
        # (Their data also breaks lines: the base64Binary format check reports that.)
        ("r5-wrong-size", ["hl7v-att-size"]),
        ("r5-wrong-hash", ["hl7v-att-hash"]),
    ],
)
def test_attachment_size_and_hash(name: str, expected: list[str], bundled) -> None:
    parameters = _load(PARITY / f"{name}.json")
    found = _builtin(bundled, parameters)
    assert found == [(key, "Parameters.parameter[0].value.ofType(Attachment)") for key in expected]


def test_an_attachment_without_size_hash_or_valid_data_is_not_checked(bundled) -> None:
    parameters = _load(PARITY / "r5-wrong-size.json")
    attachment = parameters["parameter"][0]["valueAttachment"]
    del attachment["size"], attachment["hash"]
    assert _builtin(bundled, parameters) == []
    attachment.update(size="999", data="%%%not base64")
    assert _builtin(bundled, parameters) == []  # the base64Binary format check reports it


# -- Bundles ---------------------------------------------------------------------------------


def test_full_url_against_the_entry_resource(bundled) -> None:
    bundle = _load(R5 / "Bundle-bundle-response.json")
    assert _builtin(bundled, bundle) == []
    wrong_id = copy.deepcopy(bundle)
    wrong_id["entry"][0]["fullUrl"] = "http://example.org/fhir/Patient/99999"
    wrong_type = copy.deepcopy(bundle)
    wrong_type["entry"][0]["fullUrl"] = "http://example.org/fhir/Person/12423"
    for changed in (wrong_id, wrong_type):
        assert _builtin(bundled, changed) == [("hl7v-bdl-fullurl", "Bundle.entry[0]")]


def test_conditional_references_only_in_transactions_and_batches(bundled) -> None:
    bundle = _load(R5 / "Bundle-bundle-search-warning.json")
    outcome = bundle["entry"][0]["resource"]
    outcome["issue"][0]["expression"] = ["Patient.name"]
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "subject": {"reference": "Patient?identifier=http://acme.org/mrn|12345"},
            },
            "search": {"mode": "include"},
        }
    )
    assert _builtin(bundled, bundle) == [("hl7v-bdl-conditional-ref", "Bundle.entry[1]")]
    bundle["type"] = "transaction"
    for entry in bundle["entry"]:
        del entry["search"]
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    assert _builtin(bundled, bundle) == []


# -- references, contained resources, ids, security labels, canonicals --------------------


def test_reference_type_against_the_reference(bundled) -> None:
    encounter = _load(R5 / "Encounter-home.json")
    assert _builtin(bundled, encounter) == []
    encounter["subject"]["type"] = "Patient"
    assert _builtin(bundled, encounter) == []
    encounter["subject"]["type"] = "http://hl7.org/fhir/StructureDefinition/Group"
    assert _builtin(bundled, encounter) == [("hl7v-ref-type", "Encounter.subject")]
    # A logical reference (type and identifier, no URL) has nothing to disagree with.
    study = _load(R5 / "ImagingStudy-example-xr.json")
    assert "reference" not in study["basedOn"][0] and study["basedOn"][0]["type"]
    assert _builtin(bundled, study) == []


def test_contained_resources_have_unique_ids(bundled) -> None:
    encounter = _load(R5 / "Encounter-home.json")
    location = encounter["contained"][0]
    encounter["contained"].append({**location})
    assert _builtin(bundled, encounter) == [("hl7v-contained-id-unique", "Encounter")]
    del encounter["contained"][1]["id"]
    assert ("hl7v-contained-id", "Encounter") in _builtin(bundled, encounter)


def test_element_ids_are_unique_within_each_resource(bundled) -> None:
    patient = _load(R5 / "Patient-example.json")
    patient["name"][0]["id"] = "n1"
    patient["address"][0]["id"] = "n2"
    assert _builtin(bundled, patient) == []
    patient["address"][0]["id"] = "n1"
    assert _builtin(bundled, patient) == [("hl7v-element-id-unique", "Patient")]
    patient["address"][0]["id"] = "n2"
    patient["_birthDate"]["id"] = "n1"  # a primitive's id too
    assert _builtin(bundled, patient) == [("hl7v-element-id-unique", "Patient")]
    del patient["_birthDate"]["id"]
    # A contained resource is a resource of its own: its element ids are not the container's.
    patient["address"][0]["id"] = "n2"
    patient["contained"] = [{"resourceType": "Organization", "id": "o", "name": "x",
                             "address": [{"id": "n1", "city": "y"}]}]  # fmt: skip
    patient["managingOrganization"] = {"reference": "#o"}
    assert _builtin(bundled, patient) == []


def test_security_labels_are_unique(bundled) -> None:
    patient = _load(R5 / "Patient-example.json")
    label = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
    patient["meta"] = {"security": [label, {**label, "code": "N"}]}
    assert _builtin(bundled, patient) == []
    patient["meta"]["security"].append({**label, "display": "restricted"})
    assert _builtin(bundled, patient) == [("hl7v-meta-security-unique", "Patient.meta")]


def test_a_canonical_does_not_end_with_a_bare_version_separator(bundled) -> None:
    plan = _load(R5 / "CarePlan-preg.json")
    plan["instantiatesCanonical"] = ["http://example.org/fhir/PlanDefinition/prenatal|2.0"]
    assert _builtin(bundled, plan) == []
    plan["instantiatesCanonical"] = ["http://example.org/fhir/PlanDefinition/prenatal|"]
    assert _builtin(bundled, plan) == [
        ("hl7v-canonical-version", "CarePlan.instantiatesCanonical[0]")
    ]


# -- links in narrative ------------------------------------------------------------------------


def _with_div(body: str) -> dict[str, Any]:
    encounter = _load(R5 / "Encounter-home.json")
    encounter["text"]["div"] = f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'
    return encounter


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<p><a href="http://hl7.org/fhir">spec</a> <a href="encounter.html#x">page</a></p>', []),
        ('<p><a href="#home">the contained Location</a></p>', []),
        ('<p><a name="top"/>x <a href="#top">up</a></p>', []),
        ('<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="x"/>x</p>', []),
        ('<p><a href="#nowhere">x</a></p>', ["hl7v-txt-fragment"]),
        ('<p><a href="http://exa mple.org">x</a></p>', ["hl7v-txt-url"]),
        ('<p><a href="">x</a></p>', ["hl7v-txt-url"]),
        ('<p>x<img src="http://x.org/a%zz.png" alt=""/></p>', ["hl7v-txt-url"]),
    ],
)
def test_narrative_links(body: str, expected: list[str], bundled) -> None:
    found = _builtin(bundled, _with_div(body))
    assert found == [(key, "Encounter.text") for key in expected]


# -- switching off and suppressing ------------------------------------------------------


def test_switched_off_and_suppressed_like_any_constraint(tmp_path: Path, capsys) -> None:
    resource = tmp_path / "wrong-size.json"  # r5-wrong-size's size on r5-clean's data
    clean = (PARITY / "r5-clean.json").read_text(encoding="utf-8")
    resource.write_text(clean.replace('"size": "116"', '"size": "999"'))
    assert main(["validate", "--format", "json", str(resource)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert [i["key"] for i in json.loads(line)["issues"]] == ["hl7v-att-size"]
    assert main(["validate", "--no-builtin-rules", str(resource)]) == 0
    capsys.readouterr()
    rules = tmp_path / "mine.yaml"
    rules.write_text("suppress:\n  - key: hl7v-att-size\n    reason: sizes come from the sender\n")
    assert main(["validate", "--format", "json", "--rules", str(rules), str(resource)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["suppressed"] == [
        {"key": "hl7v-att-size", "reason": "sizes come from the sender"}
    ]


def test_element_ids_ignore_what_is_not_a_nested_resource() -> None:
    # R5 Consent.provision has an element named resourceType (a list of Codings): it is an
    # element, not a nested resource, so its ids count (and it does not break the walk).
    consent = {
        "resourceType": "Consent",
        "id": "c",
        "provision": [{"id": "p", "resourceType": [{"id": "t", "code": "MedicationRequest"}]}],
        "meta": {"id": "p"},
    }
    assert element_ids(consent) == ["p", "t", "p"]
    snapshot = {"snapshot": {"element": [{"id": "A"}]}, "differential": {"element": [{"id": "A"}]}}
    assert element_ids({"resourceType": "StructureDefinition", **snapshot}) == []
    assert element_ids({"resourceType": "Basic", **snapshot}) == ["A", "A"]


def test_element_ids_are_found_at_any_depth_in_document_order() -> None:
    # Far deeper than the recursive scan goes (it hands over to an explicit stack).
    basic: dict[str, Any] = {"resourceType": "Basic", "extension": []}
    level = basic["extension"]
    for depth in range(2_000):
        nested: dict[str, Any] = {"id": f"e{depth}", "extension": [{"url": "u"}]}
        level.append(nested)
        level = nested["extension"]
    assert element_ids(basic) == [f"e{depth}" for depth in range(2_000)]


def test_an_id_that_is_not_a_string_holds_no_element_ids() -> None:
    basic = {
        "resourceType": "Basic",
        "code": {"id": {"id": "hidden"}, "coding": [{"id": "c1"}, [{"id": "c2"}]]},
        "subject": {"id": ["x", {"id": "hidden"}], "extension": [{"id": "s1"}]},
    }
    assert element_ids(basic) == ["c1", "c2", "s1"]
