"""Local rules files: added constraints, suppressions, and a clear error for each mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.model import Constraint, DefinitionError, Source
from engine.rules.loader import load_rules
from engine.rules.local import apply_local_rules

GOOD = """\
# ACME imaging rules
constraints:
  - key: acme-1
    severity: warning
    human: Each selected instance SHALL carry its SOP class
    expression: sopClass.exists()
    context: ImagingSelection.instance
  - key: acme-2
    severity: error
    human: "A selection SHALL name its study: we archive by study"
    expression: studyUid.exists()
    context: ImagingSelection
suppress:
  - key: isl-7
    reason: our PACS exports odd 2D coordinate counts (ticket IMG-42)
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my-rules.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_local_constraints_join_their_elements_and_suppressions_are_recorded(
    tmp_path: Path, definitions: engine.Definitions
) -> None:
    path = write(tmp_path, GOOD)
    local = apply_local_rules(definitions, path)
    sd = local["ImagingSelection"]
    assert sd.element("ImagingSelection.instance").constraints == (
        Constraint(
            key="acme-1",
            severity="warning",
            human="Each selected instance SHALL carry its SOP class",
            expression="sopClass.exists()",
            context="ImagingSelection.instance",
            source=Source(str(path), 3),
        ),
    )
    root = sd.element("ImagingSelection")
    assert [c.key for c in root.constraints] == [f"isl-{n}" for n in range(1, 12)] + ["acme-2"]
    assert root.constraints[-1].human == "A selection SHALL name its study: we archive by study"
    assert root.constraints[-1].source == Source(str(path), 8)
    assert local.suppressed == {
        "isl-7": "our PACS exports odd 2D coordinate counts (ticket IMG-42)"
    }
    assert local.constraint_owners()["acme-2"] == ("ImagingSelection",)
    assert sorted(local) == sorted(definitions)
    assert local.value_sets == definitions.value_sets
    # The definitions given are left as they were.
    assert "acme-2" not in definitions.constraint_owners()
    assert definitions.suppressed == {}
    assert definitions["ImagingSelection"].element("ImagingSelection.instance").constraints == ()


def test_an_empty_file_changes_nothing(tmp_path: Path, definitions: engine.Definitions) -> None:
    local = apply_local_rules(definitions, write(tmp_path, "# nothing yet\n"))
    assert local["ImagingSelection"] == definitions["ImagingSelection"]
    assert local.suppressed == {}


def _constraint(**fields: str) -> str:
    base = {
        "key": "acme-1",
        "severity": "error",
        "human": "A selection SHALL name its study",
        "expression": "studyUid.exists()",
        "context": "ImagingSelection",
    }
    base.update(fields)
    body = "".join(f"    {k}: {v}\n" for k, v in base.items() if v != "<absent>")
    return "constraints:\n  - " + body.lstrip()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(
            _constraint(context="ImagingSelection.instanse"),
            6,
            "constraint acme-1: unknown context path 'ImagingSelection.instanse' "
            "(not an element of ImagingSelection)",
            id="unknown-context-element",
        ),
        pytest.param(
            _constraint(context="ImagingSelect"),
            6,
            "constraint acme-1: unknown context path 'ImagingSelect' (no type 'ImagingSelect')",
            id="unknown-context-type",
        ),
        pytest.param(
            _constraint(expression="studyUid.exists("),
            5,
            "constraint acme-1: expression is not valid FHIRPath:",
            id="expression-syntax",
        ),
        pytest.param(
            _constraint(expression="studyUID.exists()"),
            5,
            "constraint acme-1: 'studyUID' is not an element of ImagingSelection",
            id="unknown-element-in-expression",
        ),
        pytest.param(
            _constraint(key="isl-1"),
            2,
            "constraint key 'isl-1' is already defined in ImagingSelection",
            id="key-clash-with-definitions",
        ),
        pytest.param(
            _constraint() + _constraint().removeprefix("constraints:\n"),
            7,
            "constraint key 'acme-1' is already defined earlier in",
            id="key-clash-within-file",
        ),
        pytest.param(
            _constraint(severity="critical"),
            3,
            "constraint acme-1: severity 'critical' is not one of fatal, error, warning, "
            "information",
            id="bad-severity",
        ),
        pytest.param(
            _constraint(human="<absent>"),
            2,
            "a local constraint needs 'human'",
            id="missing-field",
        ),
        pytest.param(
            _constraint() + "    expresion: x.exists()\n",
            7,
            "unknown field 'expresion' (expected key, severity, human, expression, context)",
            id="unknown-constraint-field",
        ),
        pytest.param(
            "suppres:\n  - key: isl-7\n",
            1,
            "unknown field 'suppres' (expected constraints, suppress, lint)",
            id="unknown-top-level-field",
        ),
        pytest.param(
            "suppress:\n  - key: isl-7\n",
            2,
            "suppressing 'isl-7' needs a written 'reason'",
            id="suppression-without-reason",
        ),
        pytest.param(
            "suppress:\n  - key: isl-7\n    reason: '  '\n",
            2,
            "suppressing 'isl-7' needs a written 'reason'",
            id="suppression-with-blank-reason",
        ),
        pytest.param(
            "suppress:\n  - key: isl-77\n    reason: typo\n",
            2,
            "cannot suppress 'isl-77': no such constraint",
            id="unknown-suppressed-key",
        ),
        pytest.param(
            "suppress:\n  - {key: isl-7, reason: a}\n  - {key: isl-7, reason: b}\n",
            3,
            "'isl-7' is suppressed twice",
            id="suppressed-twice",
        ),
        pytest.param(
            "constraints:\n  key: acme-1\n",
            1,
            "'constraints' must be a list",
            id="constraints-not-a-list",
        ),
        pytest.param(
            "- just a list\n",
            1,
            "a local rules file is a mapping with 'constraints' and/or 'suppress'",
            id="not-a-mapping",
        ),
        pytest.param(
            "constraints:\n  - key: [acme\n",
            3,
            "malformed YAML",
            id="malformed-yaml",
        ),
    ],
)
def test_bad_local_rules_name_file_and_line(
    tmp_path: Path, definitions: engine.Definitions, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DefinitionError) as caught:
        apply_local_rules(definitions, path)
    assert caught.value.source == Source(str(path), line)
    assert caught.value.message.startswith(message), caught.value.message


def test_an_unreadable_file_is_a_clear_error(
    tmp_path: Path, definitions: engine.Definitions
) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(DefinitionError) as caught:
        apply_local_rules(definitions, missing)
    assert caught.value.source == Source(str(missing), 1)
    assert caught.value.message.startswith("cannot read local rules:")


def _odd_region_selection() -> dict[str, Any]:
    """Fails isl-7 (3 coordinates) and acme-1 (no sopClass), passes every other isl rule."""
    return {
        "resourceType": "ImagingSelection",
        "status": "available",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">A region of one image</div>',
        },
        "code": {"text": "a region"},
        "studyUid": "1.2.840.113619.2.55.3.604688119.969.1268071029.320",
        "seriesUid": "1.2.840.113619.2.55.3.604688119.969.1268071029.321",
        "instance": [
            {
                "uid": "1.2.840.113619.2.55.3.604688119.969.1268071029.322",
                "imageRegion2D": [{"regionType": "polyline", "coordinate": [0.5, 1.5, 2.5]}],
            }
        ],
    }


def test_suppressed_keys_raise_no_issue_and_the_report_names_them(
    tmp_path: Path, definitions: engine.Definitions
) -> None:
    resource = _odd_region_selection()
    plain = engine.Validator(definitions).validate(resource)
    assert [i.key for i in plain.issues] == ["isl-7"]
    assert plain.suppressed == ()

    local = apply_local_rules(definitions, write(tmp_path, GOOD))
    report = engine.Validator(local).validate(resource)
    assert [(i.key, i.severity, i.location, i.message) for i in report.issues] == [
        (
            "acme-1",
            "warning",
            "ImagingSelection.instance[0]",
            "Constraint failed: acme-1: 'Each selected instance SHALL carry its SOP class'",
        )
    ]
    assert report.suppressed == (
        ("isl-7", "our PACS exports odd 2D coordinate counts (ticket IMG-42)"),
    )


def test_local_constraints_are_enforced_from_compiled_rules_too(
    tmp_path: Path, definitions: engine.Definitions
) -> None:
    compiled = load_rules(Path(__file__).resolve().parent.parent / "definitions")
    resource = _odd_region_selection()
    del resource["studyUid"], resource["seriesUid"]
    resource["instance"][0]["sopClass"] = "urn:oid:1.2.840.10008.5.1.4.1.1.2"
    local = apply_local_rules(compiled, write(tmp_path, GOOD))
    keys = sorted(i.key or "" for i in engine.Validator(local).validate(resource).issues)
    assert keys == ["acme-2", "isl-1", "isl-4"]


def test_load_definitions_applies_extra_rules(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    seed = Path(__file__).resolve().parent.parent / "definitions" / "ImagingSelection.md"
    local = engine.load_definitions(seed, extra_rules=path)
    assert local.suppressed == {
        "isl-7": "our PACS exports odd 2D coordinate counts (ticket IMG-42)"
    }
    resource = {"resourceType": "ImagingSelection", "status": "available", "code": {"text": "x"}}
    keys = {i.key for i in engine.Validator(local).validate(resource).issues}
    assert {"isl-1", "acme-2"} <= keys
