"""The built wheel, installed in a fresh virtual environment, away from the checkout:
``fhir-invariants --version`` and ``rules regenerate`` (``--check`` and plain) on the
definitions bundled in the installed package.

Building uses pip (``pip wheel``, the build backend from pip's cache); the fresh
environment is created without pip of its own and filled by this interpreter's pip
(``pip --python``), which is what keeps the test to a few seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _pip("wheel", "--no-deps", "--wheel-dir", str(out), str(ROOT))
    (built,) = out.glob("fhir_invariants-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh environment holding the wheel and its dependencies."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    _pip("--python", str(python), "install", str(wheel))
    return env / "bin"


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(bin_dir / "fhir-invariants"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean,
    )


def test_the_wheel_holds_what_the_rules_commands_need(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = "engine/_bundled_definitions/"
    assert "engine/py.typed" in names
    assert f"{bundled}ImagingSelection.md" in names
    assert f"{bundled}rules/ImagingSelection.yaml" in names
    assert f"{bundled}rules/_index.yaml" in names
    assert f"{bundled}r5.valuesets.yaml" in names
    markdown = {n for n in names if n.startswith(bundled) and n.endswith(".md")}
    rules = {n for n in names if n.startswith(f"{bundled}rules/") and n.endswith(".yaml")}
    assert len(rules) == len(markdown) + 1 > 200  # one rule file per type, and the index


def test_version_from_the_installed_package(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"fhir-invariants {metadata.version('fhir-invariants')}\n"
    python = installed / "python"
    where = subprocess.run(
        [str(python), "-c", "import engine; print(engine.__version__, engine.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    version, path = where.stdout.split()
    assert version == metadata.version("fhir-invariants")
    assert "site-packages" in path and not path.startswith(str(ROOT))


def test_rules_regenerate_on_the_installed_bundled_definitions(
    installed: Path, tmp_path: Path
) -> None:
    check = _run(installed, tmp_path, "rules", "regenerate", "--check")
    assert (check.returncode, check.stderr) == (0, "")
    assert check.stdout.startswith("Rule files are up to date (")
    # Plain regenerate writes nothing into the installation: up to date, it says so.
    plain = _run(installed, tmp_path, "rules", "regenerate")
    assert (plain.returncode, plain.stdout) == (0, check.stdout)


def test_plain_regenerate_asks_for_a_folder_it_may_write_to(installed: Path, tmp_path) -> None:
    (markdown,) = installed.parent.glob("lib/python*/site-packages/engine/_bundled_definitions")
    rule_file = markdown / "rules" / "Account.yaml"
    before = rule_file.read_bytes()
    definition = markdown / "Account.md"
    original = definition.read_text(encoding="utf-8")
    edited = original.replace("**Cardinality:** 0..1", "**Cardinality:** 0..*", 1)
    assert edited != original
    definition.write_text(edited, encoding="utf-8")
    try:
        plain = _run(installed, tmp_path, "rules", "regenerate")
        check = _run(installed, tmp_path, "rules", "regenerate", "--check")
    finally:
        definition.write_text(original, encoding="utf-8")
    assert plain.returncode == 2 and check.returncode == 1
    assert "Account: rules/Account.yaml changed" in plain.stdout
    assert "a definitions folder you may write to" in plain.stderr
    assert "--definitions DIR" in plain.stderr
    assert rule_file.read_bytes() == before
