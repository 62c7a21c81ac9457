"""FHIR XML as FHIR defines it (issue 12, item 4): element order against the definitions,
UTF-8 only, attributes only where FHIR has them, XML 1.0.

Test data: the official FHIR XML resources of ``tests/fixtures/inputs/xml-json`` (from
FHIR/fhir-test-cases) and the official ImagingSelection examples; the failing cases move,
re-encode or change one part of that text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.io.batch import Checker
from engine.io.fhir_xml import XmlInputError, read_xml
from engine.io.inputs import RawResource, read

FIXTURES = Path(__file__).parent / "fixtures"
PAIRS = FIXTURES / "inputs" / "xml-json"
PATIENT = PAIRS / "patient-example.xml"
MG = FIXTURES / "imagingselection" / "imagingselection-example-mg-image-selection.xml"


@pytest.fixture(scope="module")
def definitions() -> engine.Definitions:
    return engine.bundled_definitions()


def _patient() -> str:
    return PATIENT.read_text(encoding="utf-8")


def _order_issues(text: str, definitions) -> list[tuple[str, str]]:
    document = read_xml(text.encode("utf-8"), definitions)
    return [(i.location, i.message) for i in document.issues]


@pytest.mark.parametrize("name", sorted(p.name for p in PAIRS.glob("*.xml")))
def test_the_official_xml_resources_are_in_order(name: str, definitions) -> None:
    document = read_xml((PAIRS / name).read_bytes(), definitions)
    assert document.issues == ()


def test_an_element_before_one_it_must_follow(definitions) -> None:
    text = _patient().replace('\t<active value="true"/>\n', "", 1)
    text = text.replace(
        '\t<gender value="male"/>\n', '\t<gender value="male"/>\n\t<active value="true"/>\n'
    )
    assert _order_issues(text, definitions) == [
        ("Patient.active", "Element 'active' is out of order: found after 'gender'")
    ]


def test_a_repeating_element_split_by_another(definitions) -> None:
    text = _patient().replace(
        '<given value="Peter"/>\n\t\t<given value="James"/>',
        '<given value="Peter"/>\n\t\t<prefix value="Mr"/>\n\t\t<given value="James"/>',
        1,
    )
    assert _order_issues(text, definitions) == [
        ("Patient.name[0].given[1]", "Element 'given' is out of order: found after 'prefix'")
    ]


def test_inherited_elements_come_first_in_base_type_order(definitions) -> None:
    # Resource.id, DomainResource.text, then Patient's own; Element.id/extension before
    # BackboneElement.modifierExtension before a backbone's own elements.
    text = _patient().replace('\t<id value="example"/>\n', "", 1)
    text = text.replace("\t<active value=", '\t<id value="example"/>\n\t<active value=', 1)
    text = text.replace(
        "\t<contact>\n",
        '\t<contact>\n\t\t<modifierExtension url="http://example.org/m">'
        '<valueBoolean value="true"/></modifierExtension>\n'
        '\t\t<extension url="http://example.org/e"><valueBoolean value="true"/></extension>\n',
        1,
    )
    assert _order_issues(text, definitions) == [
        ("Patient.id", "Element 'id' is out of order: found after 'identifier'"),
        (
            "Patient.contact[0].extension[0]",
            "Element 'extension' is out of order: found after 'modifierExtension'",
        ),
    ]


def test_choice_elements_take_their_place_by_their_definition(definitions) -> None:
    text = _patient().replace('\t<deceasedBoolean value="false"/>\n', "", 1)
    text = text.replace(
        '\t<gender value="male"/>\n',
        '\t<deceasedBoolean value="false"/>\n\t<gender value="male"/>\n',
    )
    assert _order_issues(text, definitions) == [
        ("Patient.gender", "Element 'gender' is out of order: found after 'deceasedBoolean'"),
        ("Patient.birthDate", "Element 'birthDate' is out of order: found after 'deceasedBoolean'"),
    ]


def test_contained_and_bundled_resources_are_checked_where_they_sit(definitions) -> None:
    inner = '<Organization><name value="x"/><active value="true"/></Organization>'
    text = _patient().replace(
        "\t<identifier>", f"\t<contained>{inner}</contained>\n\t<identifier>", 1
    )
    assert _order_issues(text, definitions) == [
        ("Patient.contained[0].active", "Element 'active' is out of order: found after 'name'")
    ]
    bundle = (
        '<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>'
        f"<entry><resource>{inner}</resource></entry></Bundle>"
    )
    assert _order_issues(bundle, definitions) == [
        ("Bundle.entry[0].resource.active", "Element 'active' is out of order: found after 'name'")
    ]


def test_the_official_mg_example_is_out_of_order(definitions) -> None:
    document = read_xml(MG.read_bytes(), definitions)
    assert [(i.severity, i.code) for i in document.issues] == [("error", "structure")] * 9
    assert ("ImagingSelection.category[0].coding[0].system") in [
        i.location for i in document.issues
    ]


def test_the_checker_reports_the_xml_issues_first(definitions) -> None:
    text = _patient().replace('<family value="Chalmers"/>', "", 1)
    text = text.replace('<given value="James"/>', '<given value="James"/><family value="C"/>', 1)
    raw = RawResource("p.xml", "p.xml", text.encode("utf-8"), "xml")
    report = Checker(definitions)(raw).report
    first = report.issues[0]
    assert (first.location, first.message) == (
        "Patient.name[0].family",
        "Element 'family' is out of order: found after 'given'",
    )
    assert not report.valid


# -- encodings and XML versions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            lambda text: text.encode("utf-16"),
            "the document is UTF-16 (byte order mark): FHIR XML must be UTF-8",
        ),
        (
            lambda text: text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le"),
            "the document is UTF-16 or UTF-32 (no byte order mark): FHIR XML must be UTF-8",
        ),
        (
            lambda text: text.replace("UTF-8", "x-bogus").encode("utf-8"),
            "the XML declaration states the encoding 'x-bogus': FHIR XML must be UTF-8",
        ),
        (
            lambda text: text.replace("UTF-8", "UTF-7").encode("utf-8"),
            "the XML declaration states the encoding 'UTF-7': FHIR XML must be UTF-8",
        ),
        (
            lambda text: text.replace("UTF-8", "ISO-8859-1").encode("latin-1"),
            "the XML declaration states the encoding 'ISO-8859-1': FHIR XML must be UTF-8",
        ),
        (
            lambda text: text.replace('version="1.0"', 'version="1.1"').encode("utf-8"),
            "the document is XML 1.1: FHIR XML is read as XML 1.0 only (XML 1.1 changes "
            "which characters and line ends are allowed)",
        ),
        (
            lambda text: (
                text.replace('encoding="UTF-8"', "")
                .replace("Chalmers", "Chalmérs")
                .encode("latin-1")
            ),
            "not UTF-8 text (byte 0xe9 cannot be decoded): FHIR XML must be UTF-8",
        ),
    ],
)
def test_documents_that_are_not_utf8_xml_10_are_refused(data, message: str, definitions) -> None:
    with pytest.raises(XmlInputError) as caught:
        read_xml(data(_patient()), definitions)
    assert caught.value.message == message


def test_utf8_with_or_without_a_declaration_or_bom_is_read(definitions) -> None:
    text = _patient()
    expected = read_xml(text.encode("utf-8"), definitions).resource
    assert read_xml(b"\xef\xbb\xbf" + text.encode("utf-8"), definitions).resource == expected
    bare = text.replace('<?xml version="1.0" encoding="UTF-8"?>', "")
    assert read_xml(bare.encode("utf-8"), definitions).resource == expected
    lower = text.replace("UTF-8", "utf-8")
    assert read_xml(lower.encode("utf-8"), definitions).resource == expected


def test_an_encoding_problem_is_a_fatal_issue_of_its_file_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(_patient().encode("utf-16"))
    (tmp_path / "b.xml").write_bytes(_patient().replace("UTF-8", "x-bogus").encode("utf-8"))
    (tmp_path / "c.xml").write_bytes(_patient().encode("utf-8"))
    checker = Checker(engine.bundled_definitions())
    results = [checker(raw) for raw in read([str(tmp_path)])]
    assert [(r.source.rsplit("/", 1)[-1], r.report.valid) for r in results] == [
        ("a.xml", False),
        ("b.xml", False),
        ("c.xml", True),
    ]
    assert [i.severity for i in results[0].report.issues] == ["fatal"]
    assert results[1].report.issues[0].message.endswith("FHIR XML must be UTF-8")


# -- attributes ---------------------------------------------------------------------------


def test_a_value_attribute_on_a_complex_element_is_an_undefined_attribute(definitions) -> None:
    text = _patient().replace("\t<active", '\t<identifier value="x"/>\n\t<active', 1)
    document = read_xml(text.encode("utf-8"), definitions)
    assert document.resource["identifier"][1] == {}
    assert [(i.location, i.message) for i in document.issues] == [
        (
            "Patient.identifier[1]",
            "Undefined attribute '@value' on <identifier>: FHIR XML has no such attribute here "
            "(only element ids, extension urls and primitive values are attributes)",
        )
    ]
    validator = engine.Validator(definitions)
    assert "Patient.identifier[1]" in {
        i.location for i in validator.validate(document.resource).errors
    }


@pytest.mark.parametrize(
    ("before", "after", "location"),
    [
        ('<gender value="male"/>', '<gender value="male" foo="x"/>', "Patient.gender"),
        (
            "<managingOrganization>",
            '<managingOrganization url="x">',
            "Patient.managingOrganization",
        ),
        ("\t<address>", '\t<address use="home">', "Patient.address[0]"),
    ],
)
def test_other_undefined_attributes(before: str, after: str, location: str, definitions) -> None:
    document = read_xml(_patient().replace(before, after, 1).encode("utf-8"), definitions)
    assert [i.location for i in document.issues] == [location]
    assert "Undefined attribute" in document.issues[0].message


def test_ids_and_extension_urls_are_attributes(definitions) -> None:
    text = _patient().replace("\t<address>", '\t<address id="a1">', 1)
    document = read_xml(text.encode("utf-8"), definitions)
    assert document.issues == ()
    assert document.resource["address"][0]["id"] == "a1"
    assert document.resource["_birthDate"]["extension"][0]["url"].endswith("patient-birthTime")
