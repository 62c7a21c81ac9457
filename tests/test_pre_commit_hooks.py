"""``.pre-commit-hooks.yaml``: the hooks a repository of definitions runs before each commit.

pre-commit is not a dependency: the manifest is checked here against the fields
pre-commit's schema requires and allows, and the drift-check hook's command is run as
pre-commit would run it (``entry`` then ``args``, no file names) on a folder of
definitions, fresh and then stale.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

#: pre-commit's manifest schema (pre_commit/clientlib.py, MANIFEST_HOOK_DICT).
REQUIRED = {"id", "name", "entry", "language"}
ALLOWED = REQUIRED | {
    "alias", "files", "exclude", "types", "types_or", "exclude_types", "additional_dependencies",
    "args", "always_run", "fail_fast", "pass_filenames", "description", "language_version",
    "log_file", "require_serial", "stages", "verbose", "minimum_pre_commit_version",
}  # fmt: skip


def _hooks() -> dict[str, dict[str, object]]:
    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    return {hook["id"]: hook for hook in hooks}


def test_manifest_follows_the_pre_commit_schema() -> None:
    hooks = _hooks()
    assert set(hooks) == {"fhir-invariants-rules-check", "fhir-invariants-rules-lint"}
    for hook in hooks.values():
        assert REQUIRED <= set(hook) <= ALLOWED, hook["id"]
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        assert str(hook["entry"]).startswith("fhir-invariants rules ")
    assert hooks["fhir-invariants-rules-lint"]["entry"] == "fhir-invariants rules lint --strict"


def _run_hook(hook: dict[str, object]) -> int:
    args = hook.get("args", [])
    assert isinstance(args, list)
    command = shlex.split(str(hook["entry"])) + [str(a) for a in args]
    assert command[0] == "fhir-invariants"
    return main(command[1:])


def test_rules_check_hook_passes_on_fresh_rules_and_fails_on_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "definitions"
    folder.mkdir()
    shutil.copy(ROOT / "definitions" / "ImagingSelection.md", folder)
    monkeypatch.chdir(tmp_path)
    assert main(["rules", "regenerate", "--definitions", "definitions"]) == 0
    hook = _hooks()["fhir-invariants-rules-check"]
    assert _run_hook(hook) == 0
    markdown = folder / "ImagingSelection.md"
    text = markdown.read_text(encoding="utf-8")
    edited = "seriesUid.exists() implies studyUid.exists() and status.exists()"
    markdown.write_text(text.replace("seriesUid.exists() implies studyUid.exists()", edited))
    capsys.readouterr()
    assert _run_hook(hook) == 1
    assert "constraint isl-2 changed: expression" in capsys.readouterr().out
