"""The on-disk cache of fhirpathpy parse trees: a speed-up that can never change a result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fhirpathpy.parser import parse

from engine.fhirpath.reference.ast_cache import AstCache


def test_entries_survive_the_process_and_merge_with_other_writers(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "ast.json"
    first, second = AstCache(path), AstCache(path)
    first.put("a.exists()", {"type": "A"})
    second.put("b.exists()", {"type": "B"})
    first.save()
    second.save()
    assert json.loads(path.read_text()) == {
        "a.exists()": {"type": "A"},
        "b.exists()": {"type": "B"},
    }
    assert AstCache(path).get("a.exists()") == {"type": "A"}


def test_a_damaged_or_missing_file_is_an_empty_cache(tmp_path: Path) -> None:
    path = tmp_path / "ast.json"
    assert AstCache(path).get("x") is None
    path.write_text("{not json", encoding="utf-8")
    cache = AstCache(path)
    assert cache.get("x") is None
    cache.put("x", {"type": "X"})
    cache.save()
    assert json.loads(path.read_text()) == {"x": {"type": "X"}}


def test_an_unwritable_location_is_ignored(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    cache = AstCache(blocker / "ast.json")  # a folder under a file cannot be made
    cache.put("x", {"type": "X"})
    cache.save()
    assert cache.get("x") == {"type": "X"}


def test_the_engine_fills_and_reuses_the_cache(tmp_path: Path) -> None:
    program = (
        "from engine.fhirpath.reference.evaluator import evaluate\n"
        "print(evaluate(\"name.given.first() = 'Jim'\","
        " {'resourceType': 'Patient', 'name': [{'given': ['Jim']}]}))\n"
    )
    env = {"FHIR_INVARIANTS_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
        )
        assert run.stdout.strip() == "[True]"
    (cache_file,) = tmp_path.glob("fhirpathpy-ast-*.json")
    entries = json.loads(cache_file.read_text())
    assert (
        entries["name.given.first() = 'Jim'"] == parse("name.given.first() = 'Jim'")["children"][0]
    )
