"""The package as a new user gets it: the built wheel, in a fresh virtual environment, in a
folder outside the repository.

The wheel is built from this checkout (``pip wheel``, hatchling in an isolated build
environment), installed with its dependencies into a new venv in a temporary folder (pip's
cache makes that quick), and then, from that folder, the README's library examples run
verbatim (read from ``README.md``, so README and test cannot drift) and print exactly what
the README says they print, and the command line validates a file. The README's statement
of the wheel's size is checked against the wheel built.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLE = (
    ROOT / "examples/imagingselection/imagingselection-example-single-frame-image-selection.xml"
)


def _library_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## Library\n", 1)[1].split("\n## ", 1)[0]


def _fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced code block, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run(sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-q", "-w", out, cwd=out)
    assert built.returncode == 0, built.stderr
    (wheel,) = out.glob("fhir_invariants-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns the folder the examples run in."""
    home = tmp_path_factory.mktemp("user")
    assert ROOT not in home.parents
    env = home / "venv"
    # No pip of its own: the test environment's pip installs into it (--python).
    venv.EnvBuilder(with_pip=False).create(env)
    install = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        env / "bin/python",
        "install",
        "-q",
        wheel,
        cwd=home,
    )
    assert install.returncode == 0, install.stderr
    return home


def test_the_installed_package_is_the_wheel_with_its_bundled_definitions(installed: Path) -> None:
    found = _run(
        installed / "venv/bin/python",
        "-c",
        "import engine, engine.rules.sources as s; print(engine.__file__);"
        " print(s.bundled_definitions_dir())",
        cwd=installed,
    )
    assert found.returncode == 0, found.stderr
    module, definitions = found.stdout.splitlines()
    assert Path(module).is_relative_to(installed / "venv")
    assert Path(definitions).name == "_bundled_definitions"
    assert (Path(definitions) / "rules" / "ImagingSelection.yaml").is_file()


def test_readme_library_example_runs_verbatim_from_the_wheel(installed: Path) -> None:
    blocks = _fenced_blocks(_library_section())
    (language, example), (output_language, expected) = blocks[0], blocks[1]
    assert (language, output_language) == ("python", "text")
    ran = _run(installed / "venv/bin/python", "-c", example, cwd=installed)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == expected


def test_readme_input_example_runs_verbatim_from_the_wheel(installed: Path) -> None:
    """The XML and file-reading example, given the files it names."""
    (language, example) = _fenced_blocks(_library_section())[2]
    assert language == "python"
    work = installed / "inputs"
    (work / "data").mkdir(parents=True)
    (work / "more").mkdir()
    shutil.copy(EXAMPLE, work / "selection.xml")
    shutil.copy(EXAMPLE, work / "data" / "selection.xml")
    (work / "more" / "export.ndjson").write_text(
        '{"resourceType": "Patient", "id": "a"}\n{"resourceType": "Patient", "id": "b"}\n'
    )
    ran = _run(installed / "venv/bin/python", "-c", example + "\nprint(resource)", cwd=work)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "{'resourceType': 'Patient', 'id': 'b'}\n"


def test_command_line_from_the_wheel(installed: Path) -> None:
    shutil.copy(EXAMPLE, installed / "selection.xml")
    ran = _run(installed / "venv/bin/fhir-invariants", "validate", "selection.xml", cwd=installed)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "-- selection.xml ImagingSelection/example-single-frame-image-selection",
        "Warning @ ImagingSelection (line 1, col 1): Constraint failed: dom-6: "
        "'A resource should have narrative for robust management'",
        "== selection.xml: 1 resource, 1 valid, 0 invalid; 0 errors, 1 warning, 0 notes",
        "== Total: 1 file, 1 resource, 1 valid, 0 invalid; 0 errors, 1 warning, 0 notes",
    ]


def test_readme_states_the_wheel_size(wheel: Path) -> None:
    stated = re.search(r"The wheel is about ([\d.]+) MB", README.read_text(encoding="utf-8"))
    assert stated, "README.md should state the wheel's size ('The wheel is about N MB')"
    size = wheel.stat().st_size / 1e6
    assert abs(size - float(stated.group(1))) <= 0.15 * size, f"the wheel is {size:.2f} MB"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    bundled = [n for n in names if n.startswith("engine/_bundled_definitions/rules/")]
    assert "engine/_bundled_definitions/ImagingSelection.md" in names
    assert len(bundled) > 200
