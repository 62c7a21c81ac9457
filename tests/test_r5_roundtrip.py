"""R5 JSON → model → markdown → model → JSON, the generator, and the generated folder.

Runs on the vendored R5 sample (tests/fixtures/r5) and on the project's ``definitions/``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from engine.definitions.fhir_import import structure_definition_from_fhir
from engine.definitions.markdown import load_markdown, parse_definitions_text
from engine.definitions.terminology import load_value_sets
from engine.definitions.writer import to_markdown
from engine.model import DefinitionError, ElementDefinition, StructureDefinition

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import r5_definitions  # noqa: E402
import r5_roundtrip  # noqa: E402

R5 = Path(__file__).parent / "fixtures" / "r5"
STRUCTURE_DEFINITIONS = R5 / "structuredefinitions"
DEFINITIONS = ROOT / "definitions"
SEED = DEFINITIONS / "ImagingSelection.md"
#: sha256 of definitions/ImagingSelection.md as committed with the project skeleton.
SEED_SHA256 = "2f5ed170261d1a7a0fa6e8767cc0cb78b360f3ad23ac3edb186d5554ffea1be5"

FIXTURES = sorted(STRUCTURE_DEFINITIONS.glob("StructureDefinition-*.json"))


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def _without_sources(element: ElementDefinition) -> dict[str, Any]:
    """Every field of the element, constraints included, except where it was read from."""
    fields = {f.name: getattr(element, f.name) for f in dataclasses.fields(element)}
    del fields["source"]
    fields["constraints"] = [
        (c.key, c.severity, c.human, c.expression, c.context) for c in element.constraints
    ]
    return fields


def _same_model(left: StructureDefinition, right: StructureDefinition) -> None:
    assert (left.name, left.kind, left.base, left.abstract, left.title) == (
        right.name,
        right.kind,
        right.base,
        right.abstract,
        right.title,
    )
    assert dict(left.front_matter) == dict(right.front_matter)
    assert len(left.elements) == len(right.elements)
    for before, after in zip(left.elements, right.elements, strict=True):
        assert _without_sources(before) == _without_sources(after), before.path


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_markdown_gives_back_the_same_model(path: Path) -> None:
    model = structure_definition_from_fhir(_json(path), path.name)
    text = to_markdown(model)
    _same_model(model, parse_definitions_text(text, f"{model.name}.md"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fhir_export_matches_the_official_differential(path: Path) -> None:
    original = _json(path)
    outcome = r5_roundtrip.Outcome()
    r5_roundtrip.compare(original, r5_roundtrip.round_trip(original, path.name), outcome)
    assert outcome.mismatches == []


def test_the_comparison_reports_differences() -> None:
    original = _json(STRUCTURE_DEFINITIONS / "StructureDefinition-Period.json")
    result = r5_roundtrip.round_trip(original, "Period.json")
    tampered = copy.deepcopy(result)
    tampered["differential"]["element"][0]["constraint"][0]["expression"] = "true"
    tampered["differential"]["element"][1]["max"] = "*"
    tampered["abstract"] = True
    outcome = r5_roundtrip.Outcome()
    r5_roundtrip.compare(original, tampered, outcome)
    assert len(outcome.mismatches) == 3
    assert any(m.startswith("Period: constraints:") for m in outcome.mismatches)
    assert any(m.startswith("Period.start: max: expected '1', got '*'") for m in outcome.mismatches)


def test_roundtrip_tool_on_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert r5_roundtrip.main(["--folder", str(STRUCTURE_DEFINITIONS)]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line == f"{len(FIXTURES)} StructureDefinitions checked, 0 mismatches"


def _package(tmp_path: Path) -> Path:
    """A package tarball in npm layout holding the vendored sample."""
    tarball = tmp_path / "sample-package.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted([*FIXTURES, *sorted((R5 / "terminology").glob("*.json"))]):
            data = path.read_bytes()
            member = tarfile.TarInfo(f"package/{path.name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return tarball


def test_generator_writes_every_type_and_keeps_hand_maintained_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _package(tmp_path)
    out = tmp_path / "definitions"
    out.mkdir()
    (out / "ImagingSelection.md").write_bytes(SEED.read_bytes())
    hand_written = to_markdown(
        structure_definition_from_fhir(
            _json(STRUCTURE_DEFINITIONS / "StructureDefinition-Period.json"), "Period.json"
        )
    ).replace("**Definition:** A time period", "**Definition:** Our own time period", 1)
    (out / "Period.md").write_text(hand_written, "utf-8")

    assert r5_definitions.main(["--package", str(package), "--out", str(out)]) == 0
    report = capsys.readouterr().out

    command = f"python tools/r5_definitions.py --package sample-package.tgz --out {out}"
    generated = {p.stem for p in out.glob("*.md")} - {"ImagingSelection", "Period"}
    assert generated == {p.stem.removeprefix("StructureDefinition-") for p in FIXTURES} - {"Period"}
    for name in generated:
        model = parse_definitions_text((out / f"{name}.md").read_text("utf-8"), name)
        assert model.front_matter["generated-by"] == command
    assert (out / "ImagingSelection.md").read_bytes() == SEED.read_bytes()
    assert (out / "Period.md").read_text("utf-8") == hand_written
    assert f"kept hand-maintained {out / 'Period.md'}" in report

    value_sets = load_value_sets(out / "r5.valuesets.yaml")
    # Observation.status is the sample's one required binding whose value set and code
    # system are both in the sample; the seed's ImagingSelection ones are not.
    status = value_sets["http://hl7.org/fhir/ValueSet/observation-status"]
    assert len(status.codes) == 8
    assert (out / "r5.valuesets.yaml").read_text("utf-8").startswith(f"# Generated by: {command}\n")
    assert "http://hl7.org/fhir/ValueSet/imagingselection-status: value set is not available" in (
        report
    )
    assert "http://hl7.org/fhir/ValueSet/all-languages: value set is not available" in report


def test_generator_output_is_deterministic(tmp_path: Path) -> None:
    package = _package(tmp_path)
    out = tmp_path / "definitions"
    assert r5_definitions.main(["--package", str(package), "--out", str(out)]) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "Quantity.md").write_text("---\ngenerated-by: stale\n---\n", "utf-8")
    assert r5_definitions.main(["--package", str(package), "--out", str(out)]) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_generator_reports_an_unreadable_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not a tarball")
    assert r5_definitions.main(["--package", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_every_generated_file_names_its_command() -> None:
    markdown = sorted(DEFINITIONS.glob("*.md"))
    assert len(markdown) > 200
    for path in markdown:
        front = r5_definitions._front_matter(path.read_text("utf-8"))
        if path == SEED:
            assert "generated-by" not in front
        else:
            assert front.get("generated-by", "").startswith("python tools/r5_definitions.py")
    values = (DEFINITIONS / "r5.valuesets.yaml").read_text("utf-8")
    assert values.startswith("# Generated by: python tools/r5_definitions.py")


def test_seed_is_unchanged() -> None:
    assert hashlib.sha256(SEED.read_bytes()).hexdigest() == SEED_SHA256


def test_the_generated_folder_loads_with_its_value_sets() -> None:
    definitions = load_markdown(DEFINITIONS)
    assert {"Base", "Element", "Resource", "DomainResource", "Patient", "id"} <= set(definitions)
    assert definitions["ImagingSelection"].front_matter.get("generated-by") is None
    assert [sd.name for sd in definitions.lineage("ImagingSelection")] == [
        "ImagingSelection",
        "DomainResource",
        "Resource",
        "Base",
    ]
    gender = definitions.value_set("http://hl7.org/fhir/ValueSet/administrative-gender|5.0.0")
    assert gender is not None
    assert gender.contains("female", "http://hl7.org/fhir/administrative-gender")


def _load_fixture(name: str) -> StructureDefinition:
    path = STRUCTURE_DEFINITIONS / f"StructureDefinition-{name}.json"
    return structure_definition_from_fhir(json.loads(path.read_text("utf-8")), path.name)


def test_errata_correct_dom_6_and_the_decimal_regex_as_the_hl7_validator_does() -> None:
    errata = r5_definitions.load_errata()
    domain = r5_definitions.apply_errata(_load_fixture("DomainResource"), errata)
    (dom6,) = [c for c in domain.constraints if c.key == "dom-6"]
    assert dom6.expression == "(%rootResource != $this) or text.`div`.exists()"
    assert dom6.severity == "warning"
    decimal = r5_definitions.apply_errata(_load_fixture("decimal"), errata)
    regex = decimal.element("decimal.value").regex
    assert regex is not None and re.fullmatch(regex, "1.5e-7") and re.fullmatch(regex, "-0.25")
    assert not re.fullmatch(regex, "1e")
    # What the HL7 validator rejects with the corrected regex, on the number as written.
    for text in ("1e09", "0." + "1" * 26, "1" * 25, "1." + "0" * 18):
        assert not re.fullmatch(regex, text), text
    for text in ("1E-17", "1.00000000000000000E-24", "123456789012345678", "1e9"):
        assert re.fullmatch(regex, text), text


def test_the_txt_2_erratum_splits_the_narrative_checks_as_the_hl7_validator_does() -> None:
    errata = r5_definitions.load_errata()
    published = _load_fixture("Narrative")
    txt = {c.key: c.expression for c in published.element("Narrative.div").constraints}
    assert txt == {"txt-1": "htmlChecks()", "txt-2": "htmlChecks()"}
    corrected = r5_definitions.apply_errata(published, errata)
    txt = {c.key: c.expression for c in corrected.element("Narrative.div").constraints}
    assert txt == {"txt-1": "htmlChecks()", "txt-2": "htmlChecks2()"}
    sources = {(e["type"], e.get("key")): e["source"] for e in errata["constraints"]}
    assert "FHIRPathExpressionFixer" in sources[("Narrative", "txt-2")]


def test_integer_ranges_are_imported_from_the_package() -> None:
    integer = _load_fixture("integer").element("integer.value")
    assert (integer.min_value, integer.max_value) == (-(2**31), 2**31 - 1)
    positive = _load_fixture("positiveInt").element("positiveInt.value")
    assert (positive.min_value, positive.max_value) == (1, 2**31 - 1)
    long = _load_fixture("integer64").element("integer64.value")
    assert (long.min_value, long.max_value) == (-(2**63), 2**63 - 1)
    exported = _load_fixture("integer64").to_fhir()["differential"]["element"]
    value = next(e for e in exported if e["path"] == "integer64.value")
    assert value["maxValueInteger64"] == "9223372036854775807"


def test_an_erratum_whose_published_text_changed_fails_loudly() -> None:
    errata = {"constraints": [{"type": "DomainResource", "key": "dom-6", "was": "x", "now": "y"}]}
    with pytest.raises(DefinitionError, match="erratum for dom-6"):
        r5_definitions.apply_errata(_load_fixture("DomainResource"), errata)


def test_the_generated_definitions_carry_the_errata() -> None:
    text = (DEFINITIONS / "DomainResource.md").read_text("utf-8")
    assert "| (%rootResource != $this) or text.`div`.exists();" in text
