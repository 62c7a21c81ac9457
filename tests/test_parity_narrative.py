"""Narrative checks as the HL7 validator applies them (issue 12, item 3): txt-1 is the
XHTML rules (elements, attributes, well-formedness), txt-2 the content rule, through the
erratum txt-2 -> htmlChecks2() of tools/r5_errata.yaml.

Test data: official R5 examples read from ``tests/fixtures/r5-examples`` (Patient-example,
whose narrative is a table; Observation-decimal, whose narrative has an empty anchor); the
failing cases replace the ``div`` of Patient-example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEFINITIONS

R5_EXAMPLES = Path(__file__).parent / "fixtures" / "r5-examples"
XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def _patient(div: str | None = None) -> dict[str, Any]:
    patient = json.loads((R5_EXAMPLES / "Patient-example.json").read_text(encoding="utf-8"))
    if div is not None:
        patient["text"]["div"] = div
    return patient


def _narrative_keys(validator, resource: dict[str, Any]) -> list[str]:
    return sorted(i.key for i in validator.validate(resource).issues if i.key in ("txt-1", "txt-2"))


@pytest.mark.parametrize("name", ["Patient-example", "Observation-decimal", "Condition-f201"])
def test_official_narratives_pass_both(name: str, validator) -> None:
    resource = json.loads((R5_EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    assert "div" in resource["text"]
    assert _narrative_keys(validator, resource) == []


@pytest.mark.parametrize(
    ("div", "expected"),
    [
        # Whitespace only: no content, nothing illegal.
        (f"<div {XHTML}>\n  <p> </p>\n</div>", ["txt-2"]),
        (f"<div {XHTML}></div>", ["txt-2"]),
        # Content with an element or attribute HTML 4 narrative does not allow.
        (f"<div {XHTML}><p>Hi</p><script>alert(1)</script></div>", ["txt-1"]),
        (f'<div {XHTML}><p onclick="go()">Hi</p></div>', ["txt-1"]),
        (f"<div {XHTML}><p><table><tr><td>x</td></tr></table></p></div>", ["txt-1"]),
        # Both: an element narrative does not allow, and no text.
        (f"<div {XHTML}><object/></div>", ["txt-1", "txt-2"]),
        # Not XHTML at all: both fail, as in the HL7 validator's test list-xhtml-syntax.
        (f"<div {XHTML}><p>Hi</pa></div>", ["txt-1", "txt-2"]),
        # An image is content; a no-break space is content for the HL7 validator too.
        (f'<div {XHTML}><img src="x.png" alt=""/></div>', []),
        (f"<div {XHTML}>&#160;</div>", []),
    ],
)
def test_each_narrative_problem_fails_the_constraint_it_breaks(div, expected, validator) -> None:
    assert _narrative_keys(validator, _patient(div)) == expected


def test_the_definitions_carry_the_erratum() -> None:
    text = (DEFINITIONS / "Narrative.md").read_text(encoding="utf-8")
    assert "The narrative SHALL have some non-whitespace content | htmlChecks2()" in text
    assert " and internally contained style attributes | htmlChecks(); txt-2" in text
