"""The package's layers: each imports only from the layers below it.

The flow of the data is the order of the layers: the model, FHIRPath, definitions
(markdown → model), rules (compiled and local rules), validation, input/output, Spark,
and the command line on top (``validate --spark`` runs on Spark). An import that goes
upwards is a hidden dependency that makes a lower layer unusable without a higher one;
this test finds every such import, at module level or inside a function.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "engine"

#: Lowest first. A module belongs to the first layer whose prefix it starts with.
LAYERS = (
    "engine.model",
    "engine.fhirpath",
    "engine.definitions",
    "engine.rules",
    "engine.validation",
    "engine.io",
    "engine.spark",
    "engine.cli",
)
#: The public API and ``python -m engine``: above every layer.
FACADES = ("engine", "engine.__main__")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    if module in FACADES:
        return len(LAYERS)
    for rank, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name == "engine" or name.startswith("engine.")]


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        _layer(_module_name(path))


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        for line, imported in _imports(path):
            if imported == "engine" and module not in FACADES:
                upward.append(f"{path.relative_to(ROOT)}:{line}: imports the facade 'engine'")
            elif imported != "engine" and _layer(imported) > _layer(module):
                upward.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {imported}")
    assert not upward, "imports going up a layer:\n" + "\n".join(upward)


def test_the_layer_check_finds_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "walker.py"
    module.write_text("def f():\n    from engine.io.inputs import read\n", encoding="utf-8")
    ((line, imported),) = _imports(module)
    assert (line, imported) == (2, "engine.io.inputs")
    assert _layer(imported) > _layer("engine.validation.walker")


def test_importing_the_library_loads_no_cli_xml_or_output_module() -> None:
    script = (
        "import sys, engine; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('engine.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = out.stdout.split()
    assert "engine.validation.validator" in loaded
    assert not [m for m in loaded if m.startswith(("engine.cli", "engine.io", "engine.spark"))]


def test_no_module_is_shadowed_by_a_name_of_its_package() -> None:
    """``engine.fhirpath.evaluate`` was a module and, in the package, a function: after
    ``from engine.fhirpath import evaluate`` one could not tell which was meant."""
    import importlib

    shadowed = []
    for path in PACKAGE.rglob("__init__.py"):
        package_name = _module_name(path)
        package = importlib.import_module(package_name)
        for child in path.parent.iterdir():
            name = child.stem if child.suffix == ".py" else child.name
            if child.name == "__init__.py" or name.startswith("_"):
                continue
            if not (child.suffix == ".py" or (child / "__init__.py").is_file()):
                continue
            value = getattr(package, name, None)
            if (
                value is not None
                and not hasattr(value, "__path__")
                and not hasattr(value, "__file__")
            ):
                shadowed.append(f"{package_name}.{name}")
    assert not shadowed, f"names that hide a module: {shadowed}"
