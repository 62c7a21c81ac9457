"""Exact decimals and integer ranges, as the HL7 validator checks them (issue 12, item 1).

Numbers are read keeping their text (:class:`engine.model.numbers.JsonNumber`), from JSON
files, NDJSON lines, Bundle entries and FHIR XML alike; a decimal is checked against the
decimal type's regular expression (R5's, as ``FHIRPathExpressionFixer.fixRegex`` corrects
it) on the number as written; integers must be JSON integers within their type's range.

Test data: the official R5 example ``Observation-decimal`` (FHIR's own decimal test
resource: 1.00, 1E-17, 1.00000000000000000E-24, -1.00000000000000000E+245) and the official
``Parameters-example``, read from ``tests/fixtures/r5-examples``, and the FHIR XML
Observation of ``tests/fixtures/inputs/xml-json``; the failing cases change one number in
that text.
"""

from __future__ import annotations

import json
import pickle
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.fhirpath.reference.evaluator import ReferenceEvaluator
from engine.io.inputs import RawResource, parse, read
from engine.model.numbers import JsonNumber, parse_json_number

FIXTURES = Path(__file__).parent / "fixtures"
DECIMAL = FIXTURES / "r5-examples" / "Observation-decimal.json"
PARAMETERS = FIXTURES / "r5-examples" / "Parameters-example.json"
OBSERVATION_XML = FIXTURES / "inputs" / "xml-json" / "observation-example.xml"

#: The first component's value in Observation-decimal, as the file writes it.
FIRST = '"value":1.0,'
FIRST_VALUE = "Observation.component[0].value.ofType(Quantity).value"
#: How the decimal rule a value breaks is told (its pattern, from the definitions).
NOT_DECIMAL = "is not a valid decimal (decimal: the pattern {})".format(
    engine.bundled_definitions()["decimal"].element("decimal.value").regex
)


@pytest.fixture(scope="module")
def validator() -> engine.Validator:
    return engine.Validator()


def _read(text: str, syntax: str = "json") -> Any:
    raw = RawResource("test", "test", text.encode("utf-8"), syntax)  # type: ignore[arg-type]
    return parse(raw, engine.bundled_definitions())


def _value_issues(validator: engine.Validator, resource: Any) -> list[tuple[str, str]]:
    return [
        (i.location, i.message) for i in validator.validate(resource).issues if i.code == "value"
    ]


def test_the_official_decimal_example_reads_exactly_and_is_valid(validator) -> None:
    observation = _read(DECIMAL.read_text(encoding="utf-8"))
    values = [c["valueQuantity"]["value"] for c in observation["component"]]
    assert [v.text for v in values if isinstance(v, JsonNumber)] == [
        "1.0",
        "1.00",
        "1.0",
        "1E-17",
        "1.00000000000000000E-24",
        "-1.00000000000000000E+245",
    ]
    assert values[4] == 10000000000000000 and type(values[4]) is int
    assert values[5] == Decimal("1E-24")  # a float would be 1.0000000000000001e-24
    assert _value_issues(validator, observation) == []
    assert validator.validate(observation).valid


@pytest.mark.parametrize(
    "written",
    [
        "1e09",  # a leading zero in the exponent
        "0.12345678901234567890123456",  # 26 fractional digits
        "1234567890123456789012345",  # 25 integer digits
        "1.000000000000000000",  # 18 fractional digits
    ],
)
def test_decimals_the_hl7_validator_rejects(written: str, validator) -> None:
    text = DECIMAL.read_text(encoding="utf-8").replace(FIRST, f'"value":{written},', 1)
    observation = _read(text)
    assert _value_issues(validator, observation) == [
        (FIRST_VALUE, f"The value {written} {NOT_DECIMAL}")
    ]


@pytest.mark.parametrize("written", ["1e9", "-0.5", "123456789012345678", "0.12345678901234567"])
def test_decimals_at_the_limits_are_valid(written: str, validator) -> None:
    text = DECIMAL.read_text(encoding="utf-8").replace(FIRST, f'"value":{written},', 1)
    assert _value_issues(validator, _read(text)) == []


def test_ndjson_lines_and_bundle_entries_keep_the_text_too(tmp_path: Path, validator) -> None:
    bad = DECIMAL.read_text(encoding="utf-8").replace(FIRST, '"value":1e09,', 1)
    observation = json.dumps(json.loads(DECIMAL.read_text(encoding="utf-8")))
    (tmp_path / "two.ndjson").write_text(observation + "\n" + bad.replace("\n", "") + "\n")
    raws = [raw for raw in read([str(tmp_path)]) if isinstance(raw, RawResource)]
    resources = [parse(raw, validator.definitions) for raw in raws]
    assert [_value_issues(validator, r) for r in resources] == [
        [],
        [(FIRST_VALUE, f"The value 1e09 {NOT_DECIMAL}")],
    ]
    bundle = _read(
        '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": ' + bad + "}]}"
    )
    assert _value_issues(validator, bundle) == [
        (
            "Bundle.entry[0].resource.component[0].value.ofType(Quantity).value",
            f"The value 1e09 {NOT_DECIMAL}",
        )
    ]


def test_xml_numbers_are_read_as_the_json_reader_reads_them(validator) -> None:
    xml = OBSERVATION_XML.read_text(encoding="utf-8")
    assert '<value value="185"/>' in xml
    for written, problem in (("185", None), ("1.850e2", None), ("1e09", NOT_DECIMAL)):
        observation = _read(
            xml.replace('<value value="185"/>', f'<value value="{written}"/>'), "xml"
        )
        value = observation["valueQuantity"]["value"]
        assert value == parse_json_number(written)
        assert getattr(value, "text", str(value)) == written
        issues = _value_issues(validator, observation)
        if problem is None:
            assert issues == []
        else:
            assert [(loc, msg.endswith(problem)) for loc, msg in issues] == [
                ("Observation.value.ofType(Quantity).value", True)
            ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"name": "n", "valueInteger": 2147483647}', None),
        ('{"name": "n", "valueInteger": -2147483648}', None),
        (
            '{"name": "n", "valueInteger": 2147483648}',
            "The value 2147483648 is greater than 2147483647, the largest value of type 'integer'",
        ),
        (
            '{"name": "n", "valueInteger": -2147483649}',
            "The value -2147483649 is less than -2147483648, the smallest value of type 'integer'",
        ),
        (
            '{"name": "n", "valueInteger": 1.0}',
            "The value 1.0 is not valid for type 'integer': "
            "FHIR JSON represents it as a JSON integer",
        ),
        (
            '{"name": "n", "valuePositiveInt": 2147483648}',
            "The value 2147483648 is greater than 2147483647, "
            "the largest value of type 'positiveInt'",
        ),
        (
            '{"name": "n", "valuePositiveInt": 0}',
            "The value 0 is not a valid positiveInt (positiveInt: the pattern [1-9][0-9]*)",
        ),
        (
            '{"name": "n", "valueUnsignedInt": 4294967295}',
            "The value 4294967295 is greater than 2147483647, "
            "the largest value of type 'unsignedInt'",
        ),
        ('{"name": "n", "valueInteger64": "9223372036854775807"}', None),
        (
            '{"name": "n", "valueInteger64": "9223372036854775808"}',
            "The value '9223372036854775808' is greater than 9223372036854775807, the largest "
            "value of type 'integer64'",
        ),
    ],
)
def test_integer_types_have_their_ranges(value: str, message: str | None, validator) -> None:
    text = PARAMETERS.read_text(encoding="utf-8")
    start = text.index('"parameter"')
    resource = _read(
        text[: text.index("[", start) + 1] + value + "," + text[text.index("[", start) + 1 :]
    )
    issues = [
        msg
        for loc, msg in _value_issues(validator, resource)
        if loc.startswith("Parameters.parameter[0]")
    ]
    assert issues == ([] if message is None else [message])


def test_fhirpath_sees_the_exact_decimals() -> None:
    observation = _read(DECIMAL.read_text(encoding="utf-8"))
    evaluator = ReferenceEvaluator(engine.bundled_definitions())

    def run(expression: str) -> list[Any]:
        rule = evaluator.compile(expression, "Observation")
        return rule(observation, resource=observation, root_resource=observation)

    (second,) = run("component[1].value.ofType(Quantity).value")
    assert isinstance(second, Decimal) and second.text == "1.00"
    assert run("component[1].value.ofType(Quantity).value.toString()") == ["1.00"]
    assert run("component[5].value.ofType(Quantity).value = 0.000000000000000000000001") == [True]
    assert run("component[5].value.ofType(Quantity).value > 0") == [True]
    assert run("component.value.ofType(Quantity).value.all($this is decimal)") == [True]


def test_exact_numbers_survive_worker_processes() -> None:
    number = parse_json_number("1.00000000000000000E-24")
    copy = pickle.loads(pickle.dumps(number))
    assert (copy, copy.text, type(copy)) == (number, "1.00000000000000000E-24", JsonNumber)
