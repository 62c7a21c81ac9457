"""FHIR XML → FHIR JSON (engine.io.fhir_xml), against the project's R5 definitions.

The strongest check is the first: ten official resources that exist both as XML and as
JSON convert to exactly the JSON. The others pin each rule of the conversion on small
documents, and each way an XML document can be refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.io.fhir_xml import XmlInputError, canonical_xhtml, xml_to_json
from engine.model.numbers import JsonNumber

PAIRS = Path(__file__).parent / "fixtures" / "inputs" / "xml-json"
PAIR_NAMES = sorted(p.stem for p in PAIRS.glob("*.xml"))
FHIR = 'xmlns="http://hl7.org/fhir"'


def convert(xml: str, definitions: engine.Definitions) -> dict[str, Any]:
    return xml_to_json(xml.encode("utf-8"), definitions)


def refusal(xml: str | bytes, definitions: engine.Definitions) -> XmlInputError:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    with pytest.raises(XmlInputError) as caught:
        xml_to_json(data, definitions)
    return caught.value


def test_the_pairs_are_all_there() -> None:
    assert len(PAIR_NAMES) == 10
    assert all((PAIRS / f"{name}.json").is_file() for name in PAIR_NAMES)


@pytest.mark.parametrize("name", PAIR_NAMES)
def test_official_xml_converts_to_the_official_json(
    name: str, definitions: engine.Definitions
) -> None:
    converted = xml_to_json((PAIRS / f"{name}.xml").read_bytes(), definitions)
    expected = json.loads((PAIRS / f"{name}.json").read_text(encoding="utf-8"))
    if name == "codesystem-example":
        # The XML attribute holds a line break; XML attribute-value normalization makes
        # it a space (XML 1.0 §3.3.3). The JSON rendering kept the raw newline.
        assert "\n" in expected["description"]
        expected["description"] = expected["description"].replace("\n", " ")
    assert converted == expected


def test_a_repeating_element_is_an_array_even_when_it_occurs_once(definitions) -> None:
    patient = convert(
        f'<Patient {FHIR}><name><family value="Chalmers"/><given value="Peter"/></name></Patient>',
        definitions,
    )
    assert patient == {
        "resourceType": "Patient",
        "name": [{"family": "Chalmers", "given": ["Peter"]}],
    }


def test_siblings_out_of_order_join_one_array_in_document_order(definitions) -> None:
    patient = convert(
        f'<Patient {FHIR}><name><given value="A"/></name><active value="true"/>'
        '<name><given value="B"/></name></Patient>',
        definitions,
    )
    assert patient["name"] == [{"given": ["A"]}, {"given": ["B"]}]
    assert patient["active"] is True


@pytest.mark.parametrize(
    ("element", "text", "expected"),
    [
        ("boolean", "true", True),
        ("boolean", "false", False),
        ("boolean", "yes", "yes"),
        ("integer", "-12", -12),
        ("integer", "007", "007"),
        ("integer", "1.5", JsonNumber("1.5")),
        ("decimal", "1.50", JsonNumber("1.50")),
        ("decimal", "-0.000123", JsonNumber("-0.000123")),
        ("decimal", "1e3", JsonNumber("1e3")),
        ("decimal", "0.123456789012345678901", JsonNumber("0.123456789012345678901")),
        ("decimal", "NaN", "NaN"),
        ("decimal", "12.", "12."),
        ("integer64", "9007199254740993", "9007199254740993"),
        ("positiveInt", "3", 3),
        ("unsignedInt", "0", 0),
        ("string", "12", "12"),
        ("date", "2024-01-02", "2024-01-02"),
    ],
)
def test_primitive_values_take_their_json_type(
    element: str, text: str, expected: Any, definitions
) -> None:
    # Parameters.parameter.value[x] allows every primitive type, so one element covers all.
    choice = "value" + element[0].upper() + element[1:]
    params = convert(
        f'<Parameters {FHIR}><parameter><name value="p"/><{choice} value="{text}"/>'
        "</parameter></Parameters>",
        definitions,
    )
    value = params["parameter"][0][choice]
    assert value == expected
    assert type(value) is type(expected)
    # Exactly what the JSON reader gives for the same text, as written.
    if isinstance(expected, JsonNumber):
        assert value.text == text


def test_a_primitive_id_and_extensions_go_to_the_underscore_property(definitions) -> None:
    patient = convert(
        f'<Patient {FHIR}><birthDate id="b1" value="1970-03-30">'
        '<extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime">'
        '<valueDateTime value="1970-03-30T14:35:45-05:00"/></extension>'
        "</birthDate></Patient>",
        definitions,
    )
    assert patient == {
        "resourceType": "Patient",
        "birthDate": "1970-03-30",
        "_birthDate": {
            "id": "b1",
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "1970-03-30T14:35:45-05:00",
                }
            ],
        },
    }


def test_repeating_primitives_get_aligned_underscore_arrays_with_nulls(definitions) -> None:
    patient = convert(
        f'<Patient {FHIR}><name><given value="Peter"/><given id="g2">'
        '<extension url="http://example.org/x"><valueString value="x"/></extension>'
        '</given><given value="James"/></name></Patient>',
        definitions,
    )
    assert patient["name"] == [
        {
            "given": ["Peter", None, "James"],
            "_given": [
                None,
                {"id": "g2", "extension": [{"url": "http://example.org/x", "valueString": "x"}]},
                None,
            ],
        }
    ]


def test_element_ids_and_extension_urls_are_attributes(definitions) -> None:
    patient = convert(
        f'<Patient {FHIR}><id value="p1"/><name id="n1"><family value="F"/></name>'
        '<extension url="http://example.org/outer"><extension url="inner">'
        '<valueInteger value="2"/></extension></extension></Patient>',
        definitions,
    )
    assert patient["id"] == "p1"
    assert patient["name"] == [{"id": "n1", "family": "F"}]
    assert patient["extension"] == [
        {"url": "http://example.org/outer", "extension": [{"url": "inner", "valueInteger": 2}]}
    ]


def test_a_complex_choice_type_is_read_with_that_types_definitions(definitions) -> None:
    observation = convert(
        f'<Observation {FHIR}><status value="final"/><code><text value="w"/></code>'
        '<valueQuantity><value value="185"/><unit value="lbs"/></valueQuantity>'
        '<component><code><text value="c"/></code><valueCodeableConcept>'
        '<coding><code value="x"/></coding></valueCodeableConcept></component>'
        "</Observation>",
        definitions,
    )
    assert observation["valueQuantity"] == {"value": 185, "unit": "lbs"}
    assert observation["component"][0]["valueCodeableConcept"] == {"coding": [{"code": "x"}]}


def test_content_references_are_followed(definitions) -> None:
    questionnaire = convert(
        f'<Questionnaire {FHIR}><status value="draft"/><item><linkId value="1"/>'
        '<type value="group"/><item><linkId value="1.1"/><type value="boolean"/>'
        '<enableWhen><question value="1"/><operator value="exists"/>'
        '<answerBoolean value="true"/></enableWhen></item></item></Questionnaire>',
        definitions,
    )
    inner = questionnaire["item"][0]["item"]
    assert inner == [
        {
            "linkId": "1.1",
            "type": "boolean",
            "enableWhen": [{"question": "1", "operator": "exists", "answerBoolean": True}],
        }
    ]


def test_contained_resources_bundle_entries_and_parameter_resources(definitions) -> None:
    bundle = convert(
        f'<Bundle {FHIR}><type value="collection"/>'
        '<entry><fullUrl value="urn:uuid:1"/><resource><Patient><id value="a"/>'
        '<contained><Organization><id value="o"/><name value="Acme"/></Organization>'
        '</contained><active value="false"/></Patient></resource></entry>'
        '<entry><resource><Parameters><parameter><name value="r"/><resource>'
        '<Basic><code><text value="b"/></code></Basic></resource></parameter>'
        "</Parameters></resource></entry></Bundle>",
        definitions,
    )
    assert bundle["entry"][0]["resource"] == {
        "resourceType": "Patient",
        "id": "a",
        "contained": [{"resourceType": "Organization", "id": "o", "name": "Acme"}],
        "active": False,
    }
    assert bundle["entry"][1]["resource"]["parameter"][0]["resource"] == {
        "resourceType": "Basic",
        "code": {"text": "b"},
    }


def test_the_narrative_div_becomes_one_xhtml_string(definitions) -> None:
    patient = convert(
        f'<Patient {FHIR}><text><status value="generated"/>'
        '<div xmlns="http://www.w3.org/1999/xhtml">\n  <p class="x">Jim &amp; '
        '<b>"Bob"</b> <i>&lt;3</i></p>\n  <br/><pre>\n a\n</pre>\n</div>'
        "</text></Patient>",
        definitions,
    )
    assert patient["text"] == {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p class="x">Jim &amp; '
        '<b>"Bob"</b> <i>&lt;3</i></p><br/><pre>\n a\n</pre></div>',
    }


def test_canonical_xhtml_ignores_how_the_xhtml_was_written() -> None:
    one = '<div xmlns="http://www.w3.org/1999/xhtml">\n  <p title="a&quot;b">x<td/></p>\n</div>'
    two = "<div xmlns='http://www.w3.org/1999/xhtml'><p title='a\"b'>x<td></td></p></div>"
    assert canonical_xhtml(one) == canonical_xhtml(two)
    assert canonical_xhtml(one).endswith('<p title="a&quot;b">x<td></td></p></div>')


def test_comments_and_processing_instructions_are_ignored(definitions) -> None:
    patient = convert(
        f'<?xml version="1.0"?><!-- a --><Patient {FHIR}><!-- b --><?pi x?>'
        '<active value="true"/></Patient>',
        definitions,
    )
    assert patient == {"resourceType": "Patient", "active": True}


def test_an_encoding_other_than_utf8_in_the_declaration_is_refused(definitions) -> None:
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        f'<Patient {FHIR}><name><family value="Müller"/></name></Patient>'
    )
    with pytest.raises(XmlInputError) as caught:
        xml_to_json(text.encode("latin-1"), definitions)
    assert caught.value.message == (
        "the XML declaration states the encoding 'ISO-8859-1': FHIR XML must be UTF-8"
    )
    patient = xml_to_json(text.replace("ISO-8859-1", "UTF-8").encode("utf-8"), definitions)
    assert patient["name"][0]["family"] == "Müller"


def test_unknown_elements_are_kept_by_their_shape(definitions) -> None:
    selection = convert(
        f'<ImagingSelection {FHIR}><status value="available"/>'
        '<frameOfReference value="1.2.3"/>'
        '<instances><uid value="1.2"/></instances><instances><uid value="1.3"/></instances>'
        '<oddity><deeper value="x"/></oddity></ImagingSelection>',
        definitions,
    )
    assert selection == {
        "resourceType": "ImagingSelection",
        "status": "available",
        "frameOfReference": "1.2.3",
        "instances": [{"uid": "1.2"}, {"uid": "1.3"}],
        "oddity": {"deeper": "x"},
    }


def test_the_xml_shape_wins_when_a_primitive_holds_elements(definitions, validator) -> None:
    # Older ImagingSelection examples have sopClass as a Coding; it is an oid today.
    selection = convert(
        f'<ImagingSelection {FHIR}><status value="available"/><code><text value="c"/></code>'
        '<studyUid value="1.2"/><seriesUid value="1.2.3"/><instance><uid value="1.2.3.4"/>'
        '<sopClass><system value="urn:ietf:rfc:3986"/><code value="urn:oid:1.2"/></sopClass>'
        "</instance></ImagingSelection>",
        definitions,
    )
    assert selection["instance"][0]["sopClass"] == {
        "system": "urn:ietf:rfc:3986",
        "code": "urn:oid:1.2",
    }
    locations = {i.location for i in validator.validate(selection).errors}
    assert "ImagingSelection.instance[0].sopClass" in locations


def test_a_repeated_single_element_becomes_an_array_so_the_validator_sees_it(
    definitions, validator
) -> None:
    selection = convert(
        f'<ImagingSelection {FHIR}><status value="available"/><status value="unknown"/>'
        '<code><text value="c"/></code><studyUid value="1.2"/><seriesUid value="1.2.3"/>'
        "</ImagingSelection>",
        definitions,
    )
    assert selection["status"] == ["available", "unknown"]
    assert any(
        i.location == "ImagingSelection.status" for i in validator.validate(selection).errors
    )


def test_xsi_attributes_on_the_root_are_ignored(definitions) -> None:
    patient = convert(
        f'<Patient {FHIR} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://hl7.org/fhir fhir-single.xsd"><active value="true"/>'
        "</Patient>",
        definitions,
    )
    assert patient == {"resourceType": "Patient", "active": True}


# -- refusals ---------------------------------------------------------------------------


def test_malformed_xml_names_line_and_column(definitions) -> None:
    error = refusal(f'<Patient {FHIR}>\n  <active value="true">\n</Patient>', definitions)
    assert (error.line, error.column) == (3, 3)
    assert "malformed XML: mismatched tag" in str(error)


def test_an_empty_document_is_refused(definitions) -> None:
    assert "malformed XML: no element found" in str(refusal(b"", definitions))


def test_a_root_outside_the_fhir_namespace_is_refused(definitions) -> None:
    error = refusal('<?xml version="1.0"?>\n<Patient><active value="true"/></Patient>', definitions)
    assert error.line == 2
    assert "<Patient> is in no namespace, not the FHIR namespace 'http://hl7.org/fhir'" in str(
        error
    )
    error = refusal('<Patient xmlns="http://hl7.org/fhir/"/>', definitions)
    assert "namespace 'http://hl7.org/fhir/'" in error.message


def test_an_unknown_root_is_refused(definitions) -> None:
    error = refusal(f"<Patinet {FHIR}/>", definitions)
    assert error.message == "<Patinet> is not a resource type the definitions know"
    error = refusal(f"<Coding {FHIR}/>", definitions)
    assert error.message == "<Coding> is not a resource type the definitions know"


def test_a_doctype_is_refused_so_no_entity_can_expand(definitions) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        f'<Patient {FHIR}><name><family value="&lol2;"/></name></Patient>'
    )
    error = refusal(bomb, definitions)
    assert error.message == "a DOCTYPE declaration is not allowed in FHIR XML"
    assert error.line == 2


def test_an_external_entity_is_refused(definitions) -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<Patient {FHIR}><name><family value="&x;"/></name></Patient>'
    )
    assert "DOCTYPE" in refusal(xxe, definitions).message


def test_text_content_in_a_fhir_element_is_refused(definitions) -> None:
    error = refusal(f"<Patient {FHIR}>\n<active>true</active></Patient>", definitions)
    assert error.line == 2
    assert "text content 'true' is not allowed in <active>" in error.message


def test_a_child_outside_the_fhir_namespace_is_refused(definitions) -> None:
    error = refusal(
        f'<Patient {FHIR}><x:active xmlns:x="urn:other" value="true"/></Patient>', definitions
    )
    assert "<active> is in namespace 'urn:other'" in error.message


def test_a_narrative_div_outside_the_xhtml_namespace_is_refused(definitions) -> None:
    error = refusal(
        f'<Patient {FHIR}><text><status value="generated"/><div>x</div></text></Patient>',
        definitions,
    )
    assert "<div> must be an XHTML <div>" in error.message


def test_a_resource_wrapper_must_hold_one_resource(definitions) -> None:
    error = refusal(
        f"<Patient {FHIR}>\n<contained><Basic/><Basic/></contained></Patient>", definitions
    )
    assert error.message == "<contained> must hold exactly one resource element, found 2"
    assert error.line == 2


def test_attributes_on_a_resource_element_are_refused(definitions) -> None:
    error = refusal(f'<Patient {FHIR} id="p1"/>', definitions)
    assert error.message == "attribute 'id' is not allowed on the resource element <Patient>"


# -- property: any string value survives XML escaping -----------------------------------

_XML_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\x00\ufffe\uffff",
        min_codepoint=0x09,
    ).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20),
    min_size=1,
    max_size=40,
)


def _attribute(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return escaped.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")


@settings(max_examples=200, deadline=None)
@given(family=_XML_TEXT, given_names=st.lists(_XML_TEXT, min_size=1, max_size=4))
def test_any_text_value_reads_back_exactly(
    family: str, given_names: list[str], definitions: engine.Definitions
) -> None:
    given_xml = "".join(f'<given value="{_attribute(g)}"/>' for g in given_names)
    xml = (
        f'<Patient {FHIR}><name><family value="{_attribute(family)}"/>{given_xml}</name></Patient>'
    )
    patient = xml_to_json(xml.encode("utf-8"), definitions)
    assert patient["name"] == [{"family": family, "given": given_names}]
