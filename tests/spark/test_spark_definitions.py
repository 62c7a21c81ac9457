"""Definitions and local rules the user names take effect on the executors.

The definitions folder is the bundled one plus a made-up resource type (SpecimenJar,
from tests/test_custom_resource_type.py); the local-rules file adds a constraint and
switches dom-6 off with a reason. Both are shipped to the executors by engine.spark; the
rows must be those of a local run with ``--definitions`` and ``--rules``.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from engine.model import DefinitionError
from engine.spark import validate_ndjson
from tests.conftest import DEFINITIONS
from tests.spark.conftest import local_run, where
from tests.test_custom_resource_type import SPECIMEN_JAR

NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Jar</div>'}
RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "SpecimenJar", "id": "fine", "text": NARRATIVE, "status": "open",
     "label": [{"text": "Batch 7"}]},
    {"resourceType": "SpecimenJar", "id": "sealed-when", "text": NARRATIVE, "status": "sealed",
     "label": [{"text": "Batch 8"}]},
    {"resourceType": "SpecimenJar", "id": "lost", "text": NARRATIVE, "status": "lost",
     "label": [{"text": "Batch 9"}]},
    {"resourceType": "SpecimenJar", "id": "unlabelled", "status": "open"},
    {"resourceType": "Patient", "id": "no-narrative", "active": True},
]  # fmt: skip

RULES = """\
constraints:
  - key: lab-1
    severity: error
    human: Every jar in our lab SHALL be labelled
    expression: label.exists()
    context: SpecimenJar
suppress:
  - key: dom-6
    reason: {reason}
"""


@pytest.fixture(scope="module")
def user_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("user")
    definitions = folder / "definitions"
    shutil.copytree(DEFINITIONS, definitions, ignore=shutil.ignore_patterns("rules"))
    (definitions / "SpecimenJar.md").write_text(SPECIMEN_JAR, encoding="utf-8")
    rules = folder / "lab-rules.yaml"
    rules.write_text(RULES.format(reason="narratives are added downstream"), encoding="utf-8")
    data = folder / "jars.ndjson"
    data.write_text("".join(json.dumps(r) + "\n" for r in RESOURCES), encoding="utf-8")
    return {"definitions": definitions, "rules": rules, "data": data}


def rows_by_id(rows: list[Any]) -> dict[str, Any]:
    return {row["id"]: row for row in rows}


def keys(row: Any) -> list[str | None]:
    return sorted((issue["key"] or "") for issue in row["issues"])


def test_user_definitions_and_rules_take_effect_on_the_executors(
    spark: SparkSession, user_files: dict[str, Path]
) -> None:
    files = user_files
    resources = validate_ndjson(
        spark, str(files["data"]), definitions=files["definitions"], rules=files["rules"],
        per="resource",
    ).collect()  # fmt: skip
    status, local = local_run(
        "--definitions", files["definitions"], "--rules", files["rules"], files["data"]
    )

    def row(source: str, line: int | None, valid: bool, issues: Any, suppressed: Any) -> Any:
        return (
            where(source)[0], line, valid,
            tuple(sorted((i["severity"], i["code"], i["location"], i["key"], i["message"])
                         for i in issues)),
            tuple((s["key"], s["reason"]) for s in suppressed),
        )  # fmt: skip

    assert sorted(
        row(r["source"], r["line"], r["valid"], r["issues"], r["suppressed"]) for r in resources
    ) == sorted(
        row(r["source"], where(r["source"])[1], r["valid"], r["issues"], r["suppressed"])
        for r in local
    )
    by_id = rows_by_id(resources)
    # The made-up type is known, and its own invariant, binding and the local rule apply.
    assert by_id["fine"]["issues"] == []
    assert keys(by_id["sealed-when"]) == ["jar-1"]
    assert [i["code"] for i in by_id["lost"]["issues"]] == ["code-invalid"]
    assert keys(by_id["unlabelled"]) == ["lab-1"]
    # dom-6 (narrative) is switched off, and every resource says so.
    assert by_id["no-narrative"]["issues"] == []
    assert all(
        [(s["key"], s["reason"]) for s in r["suppressed"]]
        == [("dom-6", "narratives are added downstream")]
        for r in resources
    )


def test_without_them_the_bundled_definitions_apply(
    spark: SparkSession, user_files: dict[str, Path]
) -> None:
    resources = rows_by_id(
        validate_ndjson(spark, str(user_files["data"]), per="resource").collect()
    )
    assert all(not resources[name]["valid"] for name in ("fine", "sealed-when", "unlabelled"))
    assert keys(resources["no-narrative"]) == ["dom-6"]
    assert all(r["suppressed"] == [] for r in resources.values())


def test_edited_rules_are_shipped_anew(spark: SparkSession, user_files: dict[str, Path]) -> None:
    """Shipped files are named after their content: an edit in the same session is seen."""
    rules = user_files["rules"].parent / "edited" / user_files["rules"].name
    rules.parent.mkdir()
    rules.write_text(RULES.format(reason="edited, see ticket LAB-9"), encoding="utf-8")
    resources = validate_ndjson(
        spark, str(user_files["data"]), definitions=user_files["definitions"], rules=rules,
        per="resource",
    ).collect()  # fmt: skip
    reasons = Counter(s["reason"] for r in resources for s in r["suppressed"])
    assert reasons == Counter({"edited, see ticket LAB-9": len(RESOURCES)})


def test_invalid_definitions_fail_before_any_job(
    spark: SparkSession, user_files: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "SpecimenJar.md").write_text(
        SPECIMEN_JAR.replace("**Cardinality:** 1..1", "**Cardinality:** one", 1), encoding="utf-8"
    )
    with pytest.raises(DefinitionError, match=r"SpecimenJar\.md:\d+"):
        validate_ndjson(spark, str(user_files["data"]), definitions=broken)
