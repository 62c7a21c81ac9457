"""``rules regenerate --impact``: the verdicts a definition change moves, on a corpus built
from the official ImagingSelection examples where the answer is known.

Each test copies what ImagingSelection needs from ``definitions/`` with its rule files
generated (the rules *before* the change), edits the markdown (the change), and measures
the impact on resources derived from the current-model single-frame example.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.cli.impact import impact
from engine.cli.rules import main
from engine.rules.regenerate import regenerate
from tests.imagingselection_examples import load
from tests.test_regenerate import ISL_7, _copy_for_imaging_selection, edit, snapshot

ISL_7_PER_REGION = "instance.imageRegion2D.all(coordinate.count() mod 2 = 0)"
BASE = "imagingselection-example-single-frame-image-selection.xml"


@pytest.fixture(scope="module")
def _compiled_once(
    tmp_path_factory: pytest.TempPathFactory, definitions: engine.Definitions
) -> Path:
    folder = tmp_path_factory.mktemp("impact") / "definitions"
    regenerate(_copy_for_imaging_selection(definitions, folder))
    return folder


@pytest.fixture()
def generated(tmp_path: Path, _compiled_once: Path) -> Path:
    """What ImagingSelection needs from ``definitions/``, with its rule files compiled."""
    return Path(shutil.copytree(_compiled_once, tmp_path / "definitions"))


@pytest.fixture()
def definitions_copy(tmp_path: Path, definitions: engine.Definitions) -> Path:
    """The same markdown, never compiled."""
    return _copy_for_imaging_selection(definitions, tmp_path / "definitions")


def region(coordinates: int) -> dict[str, Any]:
    return {"regionType": "polyline", "coordinate": [float(i) for i in range(coordinates)]}


@pytest.fixture()
def corpus(tmp_path: Path, definitions: engine.Definitions) -> Path:
    """Variants of the single-frame example, one file each, plus two in one NDJSON file.

    isl-7 as published counts the 2D coordinates of all regions of all instances
    together; per region, a region needs an even count of its own.
    """
    base = load(BASE, definitions)
    uid = base["instance"][0]["uid"]
    folder = tmp_path / "corpus"
    folder.mkdir()

    def variant(name: str, instances: list[dict[str, Any]]) -> dict[str, Any]:
        resource = copy.deepcopy(base)
        resource["id"] = name
        resource["instance"] = instances
        return resource

    files = {
        # 3 + 5 = 8: the pooled count passes, each region fails.
        "regions-3-5": variant(
            "regions-3-5", [{"uid": uid, "imageRegion2D": [region(3), region(5)]}]
        ),
        # Two instances of one odd region each: 6 pooled.
        "regions-3-3": variant(
            "regions-3-3",
            [
                {"uid": f"{uid}.1", "imageRegion2D": [region(3)]},
                {"uid": f"{uid}.2", "imageRegion2D": [region(3)]},
            ],
        ),
        "regions-4-2": variant(
            "regions-4-2", [{"uid": uid, "imageRegion2D": [region(4), region(2)]}]
        ),
        "region-3": variant("region-3", [{"uid": uid, "imageRegion2D": [region(3)]}]),
        "no-region": variant("no-region", base["instance"]),
    }
    for name, resource in files.items():
        (folder / f"{name}.json").write_text(json.dumps(resource), encoding="utf-8")
    lines = [
        variant("ndjson-1-1", [{"uid": uid, "imageRegion2D": [region(1), region(1)]}]),
        variant("ndjson-2", [{"uid": uid, "imageRegion2D": [region(2)]}]),
    ]
    (folder / "more.ndjson").write_text(
        "".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8"
    )
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    return folder


def test_isl_7_per_region_fails_the_pooled_odd_regions(generated: Path, corpus: Path) -> None:
    edit(generated, ISL_7, ISL_7_PER_REGION)
    report = impact(generated, [str(corpus)], regenerate(generated, check=True))
    assert (report.resources, report.unreadable) == (7, 1)
    isl_7 = report.constraint("isl-7")
    assert isl_7.change == "changed: expression"
    assert (isl_7.newly_failing, isl_7.newly_passing, isl_7.severity_changed) == (3, 0, 0)
    # Folders are read in sorted order: more.ndjson, then the JSON files.
    assert [(e.source, e.resource, e.locations) for e in isl_7.failing_examples] == [
        (f"{corpus}/more.ndjson:1", "ImagingSelection/ndjson-1-1", ("ImagingSelection",)),
        (f"{corpus}/regions-3-3.json", "ImagingSelection/regions-3-3", ("ImagingSelection",)),
        (f"{corpus}/regions-3-5.json", "ImagingSelection/regions-3-5", ("ImagingSelection",)),
    ]
    assert [c.key for c in report.constraints] == ["isl-7"]
    assert (report.newly_invalid, report.newly_valid) == (3, 0)


def test_isl_10_per_instance_passes_what_the_pooled_form_failed(
    generated: Path, tmp_path: Path, definitions: engine.Definitions
) -> None:
    isl_10 = next(
        c.expression for c in definitions["ImagingSelection"].constraints if c.key == "isl-10"
    )
    edit(generated, isl_10, f"instance.all({isl_10.replace('instance.', '')})")
    base = load(BASE, definitions)
    uid = base["instance"][0]["uid"]
    resources = {
        # One frame number in one instance, one segment number in the other: each
        # instance has one kind, the pooled form saw two.
        "split": [
            {"uid": f"{uid}.1", "frameNumber": [1]},
            {"uid": f"{uid}.2", "segmentNumber": [1]},
        ],
        # Both kinds in one instance: wrong either way.
        "mixed": [{"uid": uid, "frameNumber": [1], "segmentNumber": [1]}],
    }
    lines = []
    for name, instances in resources.items():
        resource = copy.deepcopy(base)
        resource["id"] = name
        resource["instance"] = instances
        lines.append(json.dumps(resource))
    data = tmp_path / "selections.ndjson"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = impact(generated, [str(data)], regenerate(generated, check=True))
    isl_10_impact = report.constraint("isl-10")
    assert (isl_10_impact.newly_failing, isl_10_impact.newly_passing) == (0, 1)
    assert [(e.source, e.locations) for e in isl_10_impact.passing_examples] == [
        (f"{data}:1", ("ImagingSelection",))
    ]
    assert (report.newly_invalid, report.newly_valid) == (0, 1)


def test_added_removed_and_severity_changes_are_each_counted(generated: Path, corpus: Path) -> None:
    edit(
        generated,
        "; isl-11 | error |",
        "; isl-12 | error | each region SHALL have at most 4 coordinates"
        " | instance.imageRegion2D.all(coordinate.count() <= 4); isl-11 | error |",
    )
    edit(generated, "isl-7 | error |", "isl-7 | warning |")
    report = impact(generated, [str(corpus)], regenerate(generated, check=True))
    added = report.constraint("isl-12")
    assert (added.change, added.newly_failing, added.newly_passing) == ("added", 1, 0)
    assert [e.resource for e in added.failing_examples] == ["ImagingSelection/regions-3-5"]
    severity = report.constraint("isl-7")
    assert severity.change == "changed: severity"
    assert (severity.newly_failing, severity.newly_passing, severity.severity_changed) == (0, 0, 1)
    assert severity.severity_examples[0].locations == ("ImagingSelection (error → warning)",)
    # region-3 was invalid only because of isl-7; regions-3-5 is newly invalid by isl-12.
    assert (report.newly_invalid, report.newly_valid) == (1, 1)


def test_the_command_prints_the_impact_with_or_without_check(
    generated: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(generated, ISL_7, ISL_7_PER_REGION)
    before = snapshot(generated)
    status = main(
        ["regenerate", "--definitions", str(generated), "--check", "--impact", str(corpus)]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert snapshot(generated) == before
    expected = [
        "Impact on 7 resources (before: the compiled rules; after: the markdown):",
        "  (1 inputs could not be read and were skipped)",
        "ImagingSelection isl-7 (changed: expression)",
        "  3 resources newly failing:",
        f"    {corpus}/more.ndjson:1 ImagingSelection/ndjson-1-1 at ImagingSelection",
        f"    {corpus}/regions-3-3.json ImagingSelection/regions-3-3 at ImagingSelection",
        f"    {corpus}/regions-3-5.json ImagingSelection/regions-3-5 at ImagingSelection",
        "  0 resources newly passing",
        "Validity: 3 resources newly invalid, 0 newly valid, 4 unchanged.",
    ]
    assert out.splitlines()[-len(expected) :] == expected

    status = main(["regenerate", "--definitions", str(generated), "--impact", str(corpus)])
    out = capsys.readouterr().out
    assert status == 0
    assert "1 rule file updated" in out and "  3 resources newly failing:" in out
    assert snapshot(generated) != before
    # Now the compiled rules are the markdown: nothing moves any more.
    main(["regenerate", "--definitions", str(generated), "--check", "--impact", str(corpus)])
    out = capsys.readouterr().out
    assert "No constraint changed." in out
    assert "Validity: 0 resources newly invalid, 0 newly valid, 7 unchanged." in out


def test_without_compiled_rules_there_is_nothing_to_compare(
    definitions_copy: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["regenerate", "--definitions", str(definitions_copy), "--impact", str(corpus)])
    assert status == 2
    assert "cannot read the rules before the change: no compiled rules" in capsys.readouterr().err
    assert not (definitions_copy / "rules").exists()
